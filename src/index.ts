/**
 * tfjs-gala: long-tailed classification for TensorFlow.js (tfjs-layers).
 *
 * Importing this module registers its classes with `tf.serialization`.
 * @packageDocumentation
 */
export { CallableLoss, type LossFn } from './losses/callable_loss';
export { GalaLoss, galaLoss, type GalaLossArgs, type GalaState, type GalaVariant } from './losses/gala_loss';
export { toOneHot } from './losses/labels';
