/**
 * tfjs-gala: long-tailed classification for TensorFlow.js (tfjs-layers).
 *
 * Importing this module registers its classes with `tf.serialization`.
 * @packageDocumentation
 */
export { CallableLoss, type LossFn } from './losses/callable_loss';
export { GalaLoss, galaLoss, type GalaLossArgs, type GalaState, type GalaVariant } from './losses/gala_loss';
export { toOneHot } from './core/labels';
export { fileSystem, FILE_SCHEME } from './io/file_system';
export { TRAINING_CONFIG_KEY, lossMarker, type SerializedLoss } from './io/save_load';
export { FocalLoss, focalLoss, type FocalLossArgs } from './losses/focal_loss';
export { LogitAdjustedLoss, logitAdjustedLoss, type LogitAdjustedLossArgs } from './losses/logit_adjusted_loss';
export { adjustLogitsPostHoc, type PostHocAdjustmentArgs } from './losses/post_hoc_logit_adjustment';
export { BalancedSoftmaxLoss, balancedSoftmaxLoss, type BalancedSoftmaxLossArgs } from './losses/balanced_softmax_loss';
export { LDAMLoss, ldamLoss, type LDAMLossArgs, type ClassWeightedLoss } from './losses/ldam_loss';
export { DeferredReweighting, deferredReweighting, type DeferredReweightingArgs } from './losses/deferred_reweighting';
export { effectiveNumberWeights, inverseFrequencyWeights, toClassWeightMap } from './losses/class_weights';
export {
  PredictionRebalance,
  predictionRebalance,
  type PredictionRebalanceArgs,
  type RebalanceMode,
  type TensorDatasetLike,
} from './layers/prediction_rebalance';
export { rebalancePredictions, rebalancedArgMax, type RebalanceOptions } from './layers/rebalance_math';
export { longTailCounts, sampleClassIndices, type LongTailOptions } from './data/long_tail';
export { longTailSubset, type LongTailSubset, type LongTailSubsetOptions } from './data/long_tail_subset';
export { mulberry32, deriveSeed, shuffleInPlace, checkSeed } from './data/random';
export { classCounts } from './eval/class_counts';
export {
  shotGroups,
  shotGroupOf,
  SHOT_GROUPS,
  SHOT_THRESHOLDS,
  MANY_SHOT_ABOVE,
  FEW_SHOT_BELOW,
  type ShotGroup,
  type ShotThresholds,
} from './eval/shot_groups';
export { longTailAccuracy, perClassAccuracy, type LongTailAccuracy, type GroupAccuracy } from './eval/long_tail_accuracy';
export {
  GradientMonitor,
  gradientMonitor,
  type GradientMonitorArgs,
  type GradientMonitorEpoch,
  type GradientMonitorJSON,
  type GradientSource,
  type ProbeSet,
} from './callbacks/gradient_monitor';
export { rowCoefficientOfVariation, type GradientStatistics } from './callbacks/gradient_statistics';
export { summarizeGradientImbalance, type GradientImbalanceSummary, type ShotGroupGradients } from './callbacks/gradient_summary';
export type { ModelOutput } from './callbacks/model_head';
export type { TfvisLike, TfvisContainer, SurfaceInfo } from './callbacks/live_display';
