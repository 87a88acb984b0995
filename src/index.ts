/**
 * tfjs-gala: long-tailed classification for TensorFlow.js (tfjs-layers).
 *
 * Importing this module registers its classes with `tf.serialization` and installs the
 * save/load hooks. The exports are grouped as in the API site: losses, layers, callbacks,
 * save and load, evaluation, data, backends, custom losses.
 * @packageDocumentation
 */
export * from './losses/index';
export * from './layers/index';
export * from './callbacks/index';
export * from './io/index';
export * from './eval/index';
export * from './data/index';
export * from './backends/index';
export * from './core/index';
