/**
 * `fit` callbacks: the gradient monitor, long-tail evaluation during training, deferred
 * re-weighting, and guards against non-finite steps.
 * @module Callbacks
 */
export { GradientMonitor, gradientMonitor } from './gradient_monitor/gradient_monitor';
export type { GradientMonitorArgs, GradientSource } from './gradient_monitor/options';
export type { GradientMonitorEpoch, GradientMonitorJSON } from './gradient_monitor/history';
export type { ProbeSet } from './gradient_monitor/probe';
export { rowCoefficientOfVariation, type GradientStatistics } from './gradient_monitor/gradient_statistics';
export { summarizeGradientImbalance, type GradientImbalanceSummary, type ShotGroupGradients } from './gradient_monitor/gradient_summary';
export type { ModelOutput } from './gradient_monitor/model_head';
export type { TfvisLike, TfvisContainer, SurfaceInfo } from './gradient_monitor/live_display';
export { renderSvg, type VegaLiteSpec } from './gradient_monitor/render_svg';
export {
  LongTailEvaluation,
  longTailEvaluation,
  type LongTailEvaluationArgs,
  type LongTailEvaluationEpoch,
  type LongTailScores,
  type LabelledBatch,
  type LabelledDatasetLike,
  type EvaluationInputs,
} from './long_tail_evaluation/long_tail_evaluation';
export { DeferredReweighting, deferredReweighting, type DeferredReweightingArgs } from './deferred_reweighting';
export { SkipNonFiniteSteps, skipNonFiniteSteps, type SkipNonFiniteStepsArgs } from './skip_non_finite_steps';
export { TerminateOnNaN, terminateOnNaN, type TerminateOnNaNArgs, type TerminateCheck, type TerminationPoint } from './terminate_on_nan';
export { installCallbackMixing, uninstallCallbackMixing, isCallbackMixingInstalled, mixCallbacks } from './mixed_callbacks';
