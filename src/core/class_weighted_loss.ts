/**
 * Anything whose per-class loss weights can be switched during training, such as `LDAMLoss`.
 * Losses implement it; the `DeferredReweighting` callback drives it (Cao et al., NeurIPS 2019,
 * the LDAM-DRW schedule).
 */
export interface ClassWeightedLoss {
  /** Number of classes, the length the weights must have. */
  readonly numClasses: number;
  /** Sets the per-class weights (one per class, >= 0), or removes them with null. */
  setClassWeights(weights: readonly number[] | null): void;
  /** The weights in use, or null when none. */
  getClassWeights(): number[] | null;
}
