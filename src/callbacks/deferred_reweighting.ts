import { Callback } from '@tensorflow/tfjs-layers';

import { resolveArgs } from '../core/args';
import { checkKnownKeys } from '../core/known_keys';
import { describeValue } from '../core/labels';
import type { ClassWeightedLoss } from '../core/class_weighted_loss';
import { checkInteger, checkNumberArray } from '../core/validate';
import { bindCallbackMethods } from './mixed_callbacks';

const OWNER = 'DeferredReweighting';
const ARGUMENT_NAMES = ['loss', 'switchEpoch', 'classWeights', 'initialClassWeights'] as const;
/** Argument name as errors show it: `DeferredReweighting: switchEpoch must be ...`. */
const argument = (name: string): string => `${OWNER}: ${name}`;

/** Arguments of {@link DeferredReweighting} / {@link deferredReweighting}. */
export interface DeferredReweightingArgs {
  /** The loss whose class weights are switched, e.g. an `LDAMLoss`. */
  readonly loss: ClassWeightedLoss;
  /**
   * First epoch (0-based, as `fit` counts them, `initialEpoch` included) trained with
   * `classWeights`; integer >= 0. The paper switches at epoch 160 of 200 on CIFAR.
   */
  readonly switchEpoch: number;
  /**
   * Weights from `switchEpoch` on, one per class (>= 0). The paper uses effective-number
   * weights with beta = 0.9999: `effectiveNumberWeights(classCounts)`.
   */
  readonly classWeights: readonly number[];
  /** Weights before `switchEpoch` (default null: unweighted, as in the paper). */
  readonly initialClassWeights?: readonly number[] | null;
}

/**
 * Deferred re-weighting (DRW): trains unweighted first, then switches to class weights at a
 * chosen epoch, within one `fit` call.
 *
 * Cao et al., "Learning Imbalanced Datasets with Label-Distribution-Aware Margin Loss",
 * NeurIPS 2019 (https://arxiv.org/abs/1906.07413), the LDAM-DRW schedule. Learning features with uniform
 * weights first and re-weighting only for the last phase gave better results than
 * re-weighting from the start.
 *
 * Why a callback on the loss rather than tfjs's `classWeight`: `fit` reads `classWeight` once,
 * when it starts, so it cannot change mid-call. This callback instead sets the loss's own
 * per-class weights (a non-trainable variable) at the start of every epoch, from
 * {@link DeferredReweighting.weightsForEpoch}. Because it uses the epoch number `fit` passes,
 * a resumed run (`initialEpoch`) gets the right phase.
 *
 * ```js
 * const loss = ldamLoss({ classCounts, scale: 1 });
 * model.compile({ optimizer: 'sgd', loss });
 * await model.fit(xs, ys, {
 *   epochs: 200,
 *   callbacks: [deferredReweighting({ loss, switchEpoch: 160, classWeights: effectiveNumberWeights(classCounts) })],
 * });
 * ```
 *
 * For a loss without class weights of its own (plain cross-entropy), use two `fit` calls
 * instead: `fit(..., {epochs: 160})`, then
 * `fit(..., {initialEpoch: 160, epochs: 200, classWeight: toClassWeightMap(weights)})`.
 *
 * After training the loss keeps the weights of the last epoch. The callback can sit in any order
 * beside tfjs callbacks and plain objects (see {@link installCallbackMixing}); it needs no model,
 * so it also works when tfjs wraps it in a `tf.CustomCallback`.
 *
 * @throws Error on invalid or unknown arguments (naming the argument, the value and what is
 *   allowed; an unknown one with a did-you-mean).
 */
export class DeferredReweighting extends Callback {
  /** The loss whose class weights this callback sets at the start of every epoch. */
  readonly loss: ClassWeightedLoss;
  /** First epoch (0-based) trained with {@link DeferredReweighting.classWeights}. */
  readonly switchEpoch: number;
  /** Weights from `switchEpoch` on (a copy; one per class, >= 0). */
  readonly classWeights: readonly number[];
  /** Weights before `switchEpoch` (a copy), or null for unweighted (default). */
  readonly initialClassWeights: readonly number[] | null;

  constructor(args: DeferredReweightingArgs) {
    super();
    bindCallbackMethods(this);
    const merged = resolveArgs(OWNER, args, { initialClassWeights: null }, '{loss, switchEpoch: 160, classWeights}');
    checkKnownKeys(OWNER, args ?? {}, ARGUMENT_NAMES);
    const loss = merged.loss as unknown;
    if (
      loss == null ||
      typeof (loss as ClassWeightedLoss).setClassWeights !== 'function' ||
      typeof (loss as ClassWeightedLoss).numClasses !== 'number'
    ) {
      throw new Error(
        `${OWNER}: loss must be a loss with per-class weights (numClasses and setClassWeights, e.g. an LDAMLoss); received ${describeValue(loss)}.`,
      );
    }
    this.loss = loss as ClassWeightedLoss;
    const c = this.loss.numClasses;
    this.switchEpoch = checkInteger(argument('switchEpoch'), merged.switchEpoch, 0);
    this.classWeights = checkWeights('classWeights', merged.classWeights, c);
    this.initialClassWeights = merged.initialClassWeights == null ? null : checkWeights('initialClassWeights', merged.initialClassWeights, c);
  }

  /** The weights in force during `epoch` (0-based): null (or `initialClassWeights`) before `switchEpoch`, `classWeights` from it on. */
  weightsForEpoch(epoch: number): number[] | null {
    const weights = epoch >= this.switchEpoch ? this.classWeights : this.initialClassWeights;
    return weights === null ? null : weights.slice();
  }

  /**
   * Called by `fit` at the start of each epoch: sets the loss's weights to
   * {@link DeferredReweighting.weightsForEpoch}(`epoch`).
   * @param epoch 0-based epoch index as `fit` counts it (`initialEpoch` included).
   */
  override async onEpochBegin(epoch: number): Promise<void> {
    this.loss.setClassWeights(this.weightsForEpoch(epoch));
  }
}

/** One weight per class (>= 0) as a plain array; a tensor or string is named as such. */
function checkWeights(name: string, value: unknown, numClasses: number): number[] {
  if (!Array.isArray(value)) {
    throw new Error(
      `${argument(name)} must be an array of ${numClasses} finite numbers >= 0 (a tensor: pass tensor.arraySync()); received ${describeValue(value)}.`,
    );
  }
  return checkNumberArray(argument(name), value, numClasses, 0);
}

/**
 * Creates a {@link DeferredReweighting} callback (function form).
 * @throws Error on invalid arguments; see {@link DeferredReweightingArgs}.
 */
export function deferredReweighting(args: DeferredReweightingArgs): DeferredReweighting {
  return new DeferredReweighting(args);
}
