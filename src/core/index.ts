/**
 * Building blocks for your own losses: a callable base class that `compile` accepts and the
 * package saves and loads, a stateful variant that owns tf.Variables, a classification base that checks label rows, and
 * the registration helper.
 * @module Custom losses
 */
export { CallableLoss, type LossFn } from '../losses/callable_loss';
export { StatefulLoss } from '../losses/stateful_loss';
export { ClassificationLoss, type LossBatch } from '../losses/classification_loss';
export { ONE_HOT_SUM_TOLERANCE, type LabelRows } from '../losses/label_rows';
export type { LabelLayout } from './labels';
export { registerLoss } from '../losses/register_loss';
export type { ClassWeightedLoss } from './class_weighted_loss';
