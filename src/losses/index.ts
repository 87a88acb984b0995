/**
 * Losses for `model.compile({loss})`: GALA and the baselines users compare it with. Each is a
 * callable class with a factory of the same name (`galaLoss(args)` = `new GalaLoss(args)`),
 * takes one-hot or sparse labels, returns a per-sample `[batch]` loss, and is saved and loaded
 * with the model.
 * @module Losses
 */
export { GalaLoss, galaLoss, galaLossOf, type GalaLossArgs, type GalaVariant } from './gala_loss';
export { GALA_STATE_FORMAT, type GalaState } from './gala_state';
export { CrossEntropyLoss, crossEntropyLoss, type CrossEntropyLossArgs } from './cross_entropy_loss';
export { FocalLoss, focalLoss, type FocalLossArgs } from './focal_loss';
export { LogitAdjustedLoss, logitAdjustedLoss, type LogitAdjustedLossArgs } from './logit_adjusted_loss';
export { adjustLogitsPostHoc, type PostHocAdjustmentArgs } from './post_hoc_logit_adjustment';
export { BalancedSoftmaxLoss, balancedSoftmaxLoss, type BalancedSoftmaxLossArgs } from './balanced_softmax_loss';
export { LDAMLoss, ldamLoss, type LDAMLossArgs } from './ldam_loss';
export { effectiveNumberWeights, inverseFrequencyWeights, toClassWeightMap } from './class_weights';
