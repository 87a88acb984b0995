/**
 * tfjs-gala: long-tailed classification for TensorFlow.js (tfjs-layers).
 *
 * Importing this module registers its classes with `tf.serialization`.
 * @packageDocumentation
 */
export { CallableLoss, type LossFn } from './losses/callable_loss';
export { StatefulLoss } from './losses/stateful_loss';
export { registerLoss } from './losses/register_loss';
export { CrossEntropyLoss, crossEntropyLoss, type CrossEntropyLossArgs } from './losses/cross_entropy_loss';
export { GalaLoss, galaLoss, type GalaLossArgs, type GalaState, type GalaVariant } from './losses/gala_loss';
export { toOneHot } from './core/labels';
export { fileSystem, FILE_SCHEME } from './io/file_system';
export { TRAINING_CONFIG_KEY, lossMarker, type SerializedLoss } from './io/save_load';
export { FocalLoss, focalLoss, type FocalLossArgs } from './losses/focal_loss';
export { LogitAdjustedLoss, logitAdjustedLoss, type LogitAdjustedLossArgs } from './losses/logit_adjusted_loss';
export { adjustLogitsPostHoc, type PostHocAdjustmentArgs } from './losses/post_hoc_logit_adjustment';
export { BalancedSoftmaxLoss, balancedSoftmaxLoss, type BalancedSoftmaxLossArgs } from './losses/balanced_softmax_loss';
export { LDAMLoss, ldamLoss, type LDAMLossArgs } from './losses/ldam_loss';
export type { ClassWeightedLoss } from './core/class_weighted_loss';
export { DeferredReweighting, deferredReweighting, type DeferredReweightingArgs } from './callbacks/deferred_reweighting';
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
export { GradientMonitor, gradientMonitor } from './callbacks/gradient_monitor/gradient_monitor';
export type { GradientMonitorArgs, GradientSource } from './callbacks/gradient_monitor/options';
export type { GradientMonitorEpoch, GradientMonitorJSON } from './callbacks/gradient_monitor/history';
export type { ProbeSet } from './callbacks/gradient_monitor/probe';
export { rowCoefficientOfVariation, type GradientStatistics } from './callbacks/gradient_monitor/gradient_statistics';
export { summarizeGradientImbalance, type GradientImbalanceSummary, type ShotGroupGradients } from './callbacks/gradient_monitor/gradient_summary';
export type { ModelOutput } from './callbacks/gradient_monitor/model_head';
export type { TfvisLike, TfvisContainer, SurfaceInfo } from './callbacks/gradient_monitor/live_display';
export { renderSvg, type VegaLiteSpec } from './callbacks/gradient_monitor/render_svg';
export {
  LongTailEvaluation,
  longTailEvaluation,
  type LongTailEvaluationArgs,
  type LongTailEvaluationEpoch,
  type LongTailScores,
  type LabelledBatch,
  type LabelledDatasetLike,
  type EvaluationInputs,
} from './callbacks/long_tail_evaluation/long_tail_evaluation';
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
} from './eval/tuning';
export { balancedAccuracy, tallyByClass, accuracyFromTally, type PerClassTally, type ClassBalancedAccuracy } from './eval/balanced_accuracy';
