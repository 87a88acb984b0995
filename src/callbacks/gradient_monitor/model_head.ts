import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import { MONITOR } from './errors';

/**
 * What the monitor needs to know about a single-output classifier: whether its output is
 * softmax probabilities or logits, its final Dense layer (whose kernel columns are the class
 * vectors), and the compiled loss. Kept apart from the callback so it can be tested alone.
 */

/**
 * What the model outputs. `'auto'` reads it from the last layer (Dense, Activation or Softmax
 * layer with a softmax or linear activation); `'logits'` / `'probabilities'` (softmax) state it
 * for other final layers.
 */
export type ModelOutput = 'auto' | 'logits' | 'probabilities';

/** A model's classification head, as found by {@link findHead}. */
export interface ClassifierHead {
  /** C, the size of the model's output `[batch, C]`. */
  readonly numClasses: number;
  /** Whether the model's output is softmax(z) (true) or the logits z themselves (false). */
  readonly outputsProbabilities: boolean;
  /**
   * The final linear Dense layer producing the logits (its activation may be the softmax), or
   * null when the head has none. Its kernel `[features, C]` holds the class vectors.
   */
  readonly dense: tfl.layers.Layer | null;
  /** The model's LayersModel holding the compiled loss (the inner model of a Sequential). */
  readonly compiled: tfl.LayersModel;
}

/** Activations after which the monitor can recover dL/dz. */
const SOFTMAX = 'softmax';
const LINEAR = 'linear';

/**
 * The LayersModel that `compile` configured: a Sequential forwards `compile`/`fit` to an inner
 * functional model (the one callbacks receive as `this.model`), so its loss lives there.
 */
export function compiledModel(model: tfl.LayersModel): tfl.LayersModel {
  const inner = (model as unknown as { model?: unknown }).model;
  return inner instanceof tfl.LayersModel ? inner : model;
}

/**
 * Finds the head of a single-output classifier.
 * @throws Error when the model has several outputs, an output that is not `[batch, C]` with
 *   C >= 2, or (with `output: 'auto'`) a final layer whose activation is neither softmax nor linear.
 */
export function findHead(model: tfl.LayersModel, output: ModelOutput): ClassifierHead {
  const compiled = compiledModel(model);
  const outputs = compiled.outputs;
  if (outputs == null || outputs.length !== 1) {
    throw new Error(`${MONITOR}: model must have a single output [batch, numClasses]; received a model with ${outputs?.length ?? 0} outputs.`);
  }
  const shape = outputs[0].shape;
  if (shape.length !== 2 || shape[1] == null || shape[1] < 2) {
    throw new Error(
      `${MONITOR}: model output must have shape [batch, numClasses] with numClasses >= 2; ` +
        `received [${shape.map((d) => (d == null ? 'null' : d)).join(', ')}].`,
    );
  }
  const numClasses = shape[1];
  const last = outputs[0].sourceLayer as tfl.layers.Layer;
  const className = last.getClassName();
  const activation = readActivation(last);

  const known = (className === 'Dense' || className === 'Activation' || className === 'Softmax') && (activation === SOFTMAX || activation === LINEAR);
  if (known) {
    const outputsProbabilities = activation === SOFTMAX;
    if (output !== 'auto' && output !== (outputsProbabilities ? 'probabilities' : 'logits')) {
      throw new Error(
        `${MONITOR}: modelOutput must be 'auto' or '${outputsProbabilities ? 'probabilities' : 'logits'}' for the final layer ` +
          `'${last.name}' (${className}, activation '${activation}'); received '${output}'.`,
      );
    }
    if (className === 'Dense') return { numClasses, outputsProbabilities, dense: last, compiled };
    // Activation / Softmax layer: the class vectors are those of a linear Dense right before it.
    const before = singleInboundLayer(last);
    const dense = before != null && before.getClassName() === 'Dense' && readActivation(before) === LINEAR ? before : null;
    return { numClasses, outputsProbabilities, dense, compiled };
  }
  if (output === 'auto') {
    throw new Error(
      `${MONITOR}: modelOutput must be 'logits' or 'probabilities' (allowed for a softmax classifier only) when the final layer ` +
        `'${last.name}' (${className}${activation == null ? '' : `, activation '${activation}'`}) does not tell whether it ` +
        `outputs logits or softmax probabilities; received 'auto'.`,
    );
  }
  return { numClasses, outputsProbabilities: output === 'probabilities', dense: null, compiled };
}

function readActivation(layer: tfl.layers.Layer): string | null {
  if (layer.getClassName() === 'Softmax') return SOFTMAX;
  const activation = (layer.getConfig() as { activation?: unknown }).activation;
  return typeof activation === 'string' ? activation : null;
}

function singleInboundLayer(layer: tfl.layers.Layer): tfl.layers.Layer | null {
  try {
    const input = layer.input;
    return Array.isArray(input) ? null : ((input as tfl.SymbolicTensor).sourceLayer as tfl.layers.Layer);
  } catch {
    return null; // a layer shared by several inbound nodes has no single input
  }
}

/**
 * A model from the classifier's inputs to the input of its final Dense layer (the penultimate
 * features). It shares the classifier's layers and weights: nothing is copied.
 */
export function featureModel(head: ClassifierHead): tfl.LayersModel {
  const dense = head.dense!;
  return tfl.model({ inputs: head.compiled.inputs, outputs: dense.input as tfl.SymbolicTensor });
}

/**
 * Logits `features · kernel + bias` of the final Dense layer, `[batch, C]`.
 * @param dense a Dense layer with a linear part (any activation: it is not applied).
 */
export function denseLogits(dense: tfl.layers.Layer, features: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const [kernel, bias] = dense.getWeights() as [tf.Tensor2D, tf.Tensor1D | undefined];
    const linear = tf.matMul(features, kernel);
    return (bias == null ? linear : tf.add(linear, bias)) as tf.Tensor2D;
  });
}

/**
 * The loss `compile` resolved for the single output (`model.lossFunctions[0]`: tfjs's function
 * for a string loss, else the function or callable loss given).
 * @throws Error when the model is not compiled with a loss.
 */
export function compiledLoss(compiled: tfl.LayersModel): (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor {
  const loss = compiled.lossFunctions?.[0] as unknown;
  if (typeof loss !== 'function') {
    throw new Error(`${MONITOR}: model must be compiled with a loss (call model.compile({loss, optimizer}) first); received a model without one.`);
  }
  return loss as (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;
}
