/**
 * The protocol's models, seeded: the MLP 784-256-ReLU-128-ReLU-C and the small CNN of the
 * PyTorch reference run (docs/guide/07-reference-numbers.md). Both take flattened images
 * `[batch, height * width]` and end in C logits (or softmax probabilities).
 */

import * as tf from '@tensorflow/tfjs';

import { deriveSeed } from 'tfjs-gala';
import type { Initialization, ModelName } from './protocol';

/** Hidden layer widths of the protocol's MLP, 784-256-ReLU-128-ReLU-C. */
export const MLP_HIDDEN_UNITS: readonly number[] = [256, 128];

/**
 * The protocol's CNN: Conv2D(16, 3x3, valid) ReLU, MaxPool 2x2, Conv2D(32, 3x3, valid) ReLU,
 * MaxPool 2x2, Flatten (800 on 28x28), Dense(128) ReLU, Dense(C).
 */
export const CNN_LAYERS = { filters: [16, 32], kernelSize: 3, poolSize: 2, denseUnits: 128 } as const;

// Sub-streams of the run seed, one per weighted layer, so that kernels, biases and the batch
// order are drawn independently (the MLP's streams are those of the runs stored so far).
const SEED_STREAM_KERNELS = 100;
const SEED_STREAM_BIASES = 200;

/** Options of {@link buildModel}. */
export interface ModelOptions {
  readonly model: ModelName;
  /** Features per example: height * width of the images. */
  readonly numFeatures: number;
  /** `[height, width]` of the images; the CNN needs it (default: square, sqrt(numFeatures)). */
  readonly imageShape?: readonly [number, number];
  readonly numClasses: number;
  /** Seed of the initialisation (one derived seed per layer and weight). */
  readonly seed: number;
  /** Linear last layer (logits) when true, softmax when false. */
  readonly fromLogits: boolean;
  /** Default `'glorot'`. */
  readonly initialization?: Initialization;
}

/** The model of `options.model`, seeded: the same seed gives the same initial weights whatever the output activation. */
export function buildModel(options: ModelOptions): tf.Sequential {
  return options.model === 'cnn' ? buildCnn(options) : buildMlp(options);
}

/** "MLP 784-256-128-10" or "CNN 28x28x1 conv16-pool-conv32-pool-128-10". */
export function describeArchitecture(model: ModelName, numFeatures: number, numClasses: number, imageShape?: readonly [number, number]): string {
  if (model === 'mlp') return `MLP ${[numFeatures, ...MLP_HIDDEN_UNITS, numClasses].join('-')}`;
  const [height, width] = imageShape ?? squareShape(numFeatures);
  const [first, second] = CNN_LAYERS.filters;
  return `CNN ${height}x${width}x1 conv${first}-pool-conv${second}-pool-${CNN_LAYERS.denseUnits}-${numClasses}`;
}

/** The MLP numFeatures-256-ReLU-128-ReLU-numClasses, seeded. */
export function buildMlp(options: Omit<ModelOptions, 'model'> & { readonly hiddenUnits?: readonly number[] }): tf.Sequential {
  const { numFeatures, numClasses, seed, fromLogits, initialization = 'glorot', hiddenUnits = MLP_HIDDEN_UNITS } = options;
  const model = tf.sequential();
  const widths = [...hiddenUnits, numClasses];
  widths.forEach((units, layer) => {
    const last = layer === widths.length - 1;
    const fanIn = layer === 0 ? numFeatures : widths[layer - 1];
    model.add(
      tf.layers.dense({
        units,
        activation: last ? (fromLogits ? 'linear' : 'softmax') : 'relu',
        ...initializers(initialization, fanIn, seed, layer),
        ...(layer === 0 ? { inputShape: [numFeatures] } : {}),
      }),
    );
  });
  return model;
}

/**
 * The CNN of {@link CNN_LAYERS} on `[height, width, 1]` images, seeded. Its first layer reshapes
 * the flattened `[batch, height * width]` features, so it takes the same inputs as the MLP.
 *
 * @throws Error when the images are too small for two 3x3 convolutions and two 2x2 poolings.
 */
export function buildCnn(options: Omit<ModelOptions, 'model'>): tf.Sequential {
  const { numFeatures, numClasses, seed, fromLogits, initialization = 'glorot' } = options;
  const [height, width] = options.imageShape ?? squareShape(numFeatures);
  if (height * width !== numFeatures) {
    throw new Error(`buildCnn: imageShape must hold numFeatures (${numFeatures}) pixels; received [${height}, ${width}].`);
  }
  const { filters, kernelSize, poolSize, denseUnits } = CNN_LAYERS;
  const side = (size: number) => Math.floor((Math.floor((size - kernelSize + 1) / poolSize) - kernelSize + 1) / poolSize);
  if (side(height) < 1 || side(width) < 1) {
    throw new Error(`buildCnn: the images must be at least 10x10 pixels for two 3x3 convolutions and 2x2 poolings; received ${height}x${width}.`);
  }
  const model = tf.sequential();
  model.add(tf.layers.reshape({ targetShape: [height, width, 1], inputShape: [numFeatures] }));
  let channels = 1;
  filters.forEach((count, layer) => {
    // PyTorch's fan_in of a convolution: kernel height * kernel width * input channels.
    const fanIn = kernelSize * kernelSize * channels;
    model.add(tf.layers.conv2d({ filters: count, kernelSize, padding: 'valid', activation: 'relu', ...initializers(initialization, fanIn, seed, layer) }));
    model.add(tf.layers.maxPooling2d({ poolSize }));
    channels = count;
  });
  model.add(tf.layers.flatten());
  const flattened = side(height) * side(width) * channels;
  model.add(tf.layers.dense({ units: denseUnits, activation: 'relu', ...initializers(initialization, flattened, seed, filters.length) }));
  model.add(
    tf.layers.dense({ units: numClasses, activation: fromLogits ? 'linear' : 'softmax', ...initializers(initialization, denseUnits, seed, filters.length + 1) }),
  );
  return model;
}

/** Kernel and bias initialisers of the `layer`-th weighted layer. */
function initializers(initialization: Initialization, fanIn: number, seed: number, layer: number) {
  const kernelSeed = deriveSeed(seed, SEED_STREAM_KERNELS + layer);
  const biasSeed = deriveSeed(seed, SEED_STREAM_BIASES + layer);
  if (initialization === 'pytorch') {
    const limit = 1 / Math.sqrt(fanIn);
    return {
      // Variance scaling with scale 1/3, fan-in, uniform: limit sqrt(3 * scale / fanIn) = 1 / sqrt(fanIn);
      // tfjs computes a convolution's fan-in as kernel height * width * input channels, as PyTorch does.
      kernelInitializer: tf.initializers.varianceScaling({ scale: 1 / 3, mode: 'fanIn', distribution: 'uniform', seed: kernelSeed }),
      biasInitializer: tf.initializers.randomUniform({ minval: -limit, maxval: limit, seed: biasSeed }),
    };
  }
  return { kernelInitializer: tf.initializers.glorotUniform({ seed: kernelSeed }), biasInitializer: 'zeros' as const };
}

function squareShape(numFeatures: number): [number, number] {
  const side = Math.round(Math.sqrt(numFeatures));
  return [side, side];
}
