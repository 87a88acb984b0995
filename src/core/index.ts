/**
 * Building blocks for your own losses: a callable base class that `compile` accepts and the
 * package saves and loads, a stateful variant that owns tf.Variables, and the registration helper.
 * @module Custom losses
 */
export { CallableLoss, type LossFn } from '../losses/callable_loss';
export { StatefulLoss } from '../losses/stateful_loss';
export { registerLoss } from '../losses/register_loss';
export type { ClassWeightedLoss } from './class_weighted_loss';
