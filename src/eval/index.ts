/**
 * Evaluation the field's way: class counts, many/medium/few-shot groups, balanced and
 * shot-group accuracy, and tau tuning on held-out predictions.
 * @module Evaluation
 */
export { classCounts } from './class_counts';
export {
  shotGroups,
  shotGroupOf,
  SHOT_GROUPS,
  SHOT_THRESHOLDS,
  MANY_SHOT_ABOVE,
  FEW_SHOT_BELOW,
  type ShotGroup,
  type ShotThresholds,
} from './shot_groups';
export { longTailAccuracy, perClassAccuracy, type LongTailAccuracy, type GroupAccuracy } from './long_tail_accuracy';
export { balancedAccuracy, tallyByClass, accuracyFromTally, type PerClassTally, type ClassBalancedAccuracy } from './balanced_accuracy';
export {
  tuneRebalanceTau,
  tuneLogitAdjustmentTau,
  calibratedRebalance,
  DEFAULT_TAU_GRID,
  type TauSearchRow,
  type TauSearchResult,
  type RebalanceTauResult,
  type TuneRebalanceTauOptions,
  type TuneLogitAdjustmentTauOptions,
} from './tuning';
