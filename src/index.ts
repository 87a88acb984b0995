/**
 * tfjs-gala: long-tailed classification for TensorFlow.js (tfjs-layers).
 *
 * Importing this module registers its classes with `tf.serialization`.
 * @packageDocumentation
 */
export { CallableLoss, type LossFn } from './losses/callable_loss';
export { GalaLoss, galaLoss, type GalaLossArgs, type GalaState, type GalaVariant } from './losses/gala_loss';
export { toOneHot } from './losses/labels';
export { fileSystem, FILE_SCHEME } from './io/file_system';
export { TRAINING_CONFIG_KEY, lossMarker, type SerializedLoss } from './io/training_config';
