/**
 * Save and load: `model.save(h, {includeOptimizer: true})` and `tf.loadLayersModel(h)` keep the
 * package's losses with their config and accumulated state; `fileSystem(dir)` saves in Node
 * without tfjs-node.
 * @module Save and load
 */
export { fileSystem, FILE_SCHEME } from './file_system';
export {
  TRAINING_CONFIG_KEY,
  lossMarker,
  type SerializedLoss,
  installSaveLoadHooks,
  uninstallSaveLoadHooks,
  areSaveLoadHooksInstalled,
  SAVE_LOAD_HOOKS,
} from './save_load';
export { loadLayersModelWithoutTraining } from './load_without_training';
