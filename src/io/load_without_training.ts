import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import { show } from './saved_losses';

/**
 * Loads a saved model's topology and weights without its training configuration: the loss, its
 * saved state, the optimizer and the optimizer's weights are left out, and the model comes back
 * uncompiled, as `tf.loadLayersModel` returns a model saved without `includeOptimizer` (Keras:
 * `load_model(path, compile=False)`).
 *
 * It is the way back into a save whose `trainingConfig` cannot be loaded: a damaged or partial
 * `trainingConfig.tfjs_gala` entry (`tf.loadLayersModel` then throws and names the field), a loss
 * class that is not available, or an optimizer from elsewhere. Compile the model with a new loss
 * and optimizer to train it again.
 *
 * ```js
 * import * as tf from '@tensorflow/tfjs';
 * import { galaLoss, loadLayersModelWithoutTraining } from 'tfjs-gala';
 * const model = await loadLayersModelWithoutTraining('indexeddb://my-model');
 * model.compile({ optimizer: tf.train.adam(1e-3), loss: galaLoss({ numClasses: 10 }) });
 * ```
 *
 * @param source a URL (`indexeddb://`, `localstorage://`, `file://`, `http(s)://`, ...) or an
 *   IOHandler, as for `tf.loadLayersModel`.
 * @param options passed to `tf.loadLayersModel` (and to the URL's IO handler): `strict`,
 *   `requestInit`, `onProgress`, ...
 * @returns the model, not compiled, with its weights and user-defined metadata.
 * @throws Error when `source` is neither a URL string nor an IOHandler with `load()`, or matches
 *   more than one IO handler; errors of the IO handler and of tfjs's own topology loading pass through.
 */
export async function loadLayersModelWithoutTraining(source: string | tf.io.IOHandler, options?: tf.io.LoadOptions): Promise<tfl.LayersModel> {
  const handler = resolveLoadHandler(source, options);
  const withoutTraining: tf.io.IOHandler = {
    load: async () => {
      const artifacts = await handler.load!();
      const copy = { ...artifacts };
      delete copy.trainingConfig;
      return copy;
    },
  };
  return tfl.loadLayersModel(withoutTraining, options);
}

function resolveLoadHandler(source: string | tf.io.IOHandler, options?: tf.io.LoadOptions): tf.io.IOHandler {
  if (typeof source === 'string') {
    const handlers = tf.io.getLoadHandlers(source, options);
    if (handlers.length > 1) {
      throw new Error(
        `loadLayersModelWithoutTraining: source must match one IO handler; received '${source}', which ${handlers.length} handlers accept.`,
      );
    }
    // As tf.loadLayersModel does: a URL no handler claims is fetched over HTTP.
    return handlers[0] ?? tf.io.browserHTTPRequest(source, options);
  }
  if (source == null || typeof (source as tf.io.IOHandler).load !== 'function') {
    throw new Error(
      `loadLayersModelWithoutTraining: source must be a URL string or an IOHandler with load(); received ${
        source == null ? String(source) : typeof source === 'object' ? `an object without load()` : show(source)
      }.`,
    );
  }
  return source;
}
