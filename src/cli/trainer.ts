/**
 * Training and evaluation of the demo's model, shared by the demo and the benchmark:
 * an MLP trained with seeded initialisation and seeded batch order, so that two methods run
 * with the same seed see the same initial weights and the same batches.
 */

import * as tf from '@tensorflow/tfjs';

import { deriveSeed, mulberry32, shuffleInPlace } from '../data/random';
import type { ClassificationSplit } from '../data/splits';
import { longTailAccuracy, type LongTailAccuracy } from '../eval/long_tail_accuracy';
import type { MethodContext, TrainingMethod } from './methods';

/** Hidden layer widths of the protocol's MLP, 784-256-ReLU-128-ReLU-C (ANCHORS.md). */
export const MLP_HIDDEN_UNITS: readonly number[] = [256, 128];

// Sub-streams of the run seed, so that initialisation and batch order are independent.
const SEED_STREAM_SHUFFLE = 1;
const SEED_STREAM_KERNELS = 100;
const SEED_STREAM_BIASES = 200;

/**
 * How dense layers start.
 * - `'glorot'`: Keras/tfjs default, kernels Glorot-uniform U(±sqrt(6 / (fanIn + fanOut))), biases 0.
 * - `'pytorch'`: PyTorch's `nn.Linear` default, kernels and biases U(±1 / sqrt(fanIn)); the
 *   initialisation of the PyTorch run behind ANCHORS.md. It starts with about half Glorot's
 *   scale on the first layer, and with it cross-entropy lands near the anchors at IF 100
 *   (with Glorot it lands about 2 points higher).
 */
export const INITIALIZATIONS = ['glorot', 'pytorch'] as const;
export type Initialization = (typeof INITIALIZATIONS)[number];

/** Options of {@link buildMlp}. */
export interface MlpOptions {
  readonly numFeatures: number;
  readonly numClasses: number;
  /** Seed of the initialisation (one derived seed per layer and weight). */
  readonly seed: number;
  /** Linear last layer (logits) when true, softmax when false. */
  readonly fromLogits: boolean;
  /** Default `'glorot'`; see {@link Initialization}. */
  readonly initialization?: Initialization;
  readonly hiddenUnits?: readonly number[];
}

/** The MLP numFeatures-256-ReLU-128-ReLU-numClasses, seeded. */
export function buildMlp(options: MlpOptions): tf.Sequential {
  const { numFeatures, numClasses, seed, fromLogits, initialization = 'glorot', hiddenUnits = MLP_HIDDEN_UNITS } = options;
  const model = tf.sequential();
  const widths = [...hiddenUnits, numClasses];
  widths.forEach((units, layer) => {
    const last = layer === widths.length - 1;
    const fanIn = layer === 0 ? numFeatures : widths[layer - 1];
    const kernelSeed = deriveSeed(seed, SEED_STREAM_KERNELS + layer);
    const biasSeed = deriveSeed(seed, SEED_STREAM_BIASES + layer);
    model.add(
      tf.layers.dense({
        units,
        activation: last ? (fromLogits ? 'linear' : 'softmax') : 'relu',
        ...(initialization === 'pytorch'
          ? {
              // Variance scaling with scale 1/3, fan-in, uniform: limit sqrt(3 * scale / fanIn) = 1 / sqrt(fanIn).
              kernelInitializer: tf.initializers.varianceScaling({ scale: 1 / 3, mode: 'fanIn', distribution: 'uniform', seed: kernelSeed }),
              biasInitializer: tf.initializers.randomUniform({ minval: -1 / Math.sqrt(fanIn), maxval: 1 / Math.sqrt(fanIn), seed: biasSeed }),
            }
          : { kernelInitializer: tf.initializers.glorotUniform({ seed: kernelSeed }), biasInitializer: 'zeros' }),
        ...(layer === 0 ? { inputShape: [numFeatures] } : {}),
      }),
    );
  });
  return model;
}

/** Options of {@link trainAndEvaluate}. */
export interface TrainOptions {
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** Seeds the initialisation and the batch order. */
  readonly seed: number;
  /** Default `'glorot'`; see {@link Initialization}. */
  readonly initialization?: Initialization;
  /** Called after every batch (for progress bars). `loss` is the batch's mean loss. */
  readonly onBatchEnd?: (progress: { epoch: number; batch: number; batchesPerEpoch: number; loss: number }) => void;
}

/** One row of results: a trained method, or a post-hoc evaluation of one. */
export interface MethodResult {
  readonly name: string;
  readonly label: string;
  readonly accuracy: LongTailAccuracy;
  /** Mean wall-clock seconds of a training epoch (forward, backward, update; no evaluation). */
  readonly secondsPerEpoch: number;
  /** Mean training loss of the last epoch. */
  readonly finalLoss: number;
}

/**
 * Trains a fresh seeded MLP with `method` using Adam, then evaluates it on `test` (and any
 * post-hoc evaluations of the method). Mini-batches follow a seeded permutation per epoch;
 * the last batch of an epoch may be smaller. Disposes every tensor it creates.
 *
 * @returns one result per row: the method, then its post-hoc evaluations.
 */
export async function trainAndEvaluate(
  method: TrainingMethod,
  train: ClassificationSplit,
  test: ClassificationSplit,
  context: MethodContext,
  options: TrainOptions,
): Promise<MethodResult[]> {
  const { epochs, batchSize, learningRate, seed } = options;
  const model = buildMlp({
    numFeatures: train.numFeatures,
    numClasses: context.numClasses,
    seed,
    fromLogits: method.fromLogits,
    initialization: options.initialization,
  });
  const loss = method.createLoss(context);
  const optimizer = tf.train.adam(learningRate);
  model.compile({ optimizer, loss });

  const features = tf.tensor2d(train.features, [train.numExamples, train.numFeatures]);
  const targets = tf.tensor2d(oneHot(train.labels, context.numClasses), [train.numExamples, context.numClasses]);
  const nextEpochOrder = epochShuffler(train.numExamples, seed);
  const batchesPerEpoch = Math.ceil(train.numExamples / batchSize);
  const epochSeconds: number[] = [];
  let finalLoss = Number.NaN;
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = nextEpochOrder();
      const started = performance.now();
      let lossSum = 0;
      for (let batch = 0; batch < batchesPerEpoch; batch++) {
        const indices = order.subarray(batch * batchSize, Math.min((batch + 1) * batchSize, order.length));
        const [x, y] = tf.tidy(() => {
          const rows = tf.tensor1d(indices, 'int32');
          return [tf.gather(features, rows), tf.gather(targets, rows)];
        });
        const batchLoss = (await model.trainOnBatch(x, y)) as number;
        tf.dispose([x, y]);
        lossSum += batchLoss * indices.length;
        options.onBatchEnd?.({ epoch, batch, batchesPerEpoch, loss: batchLoss });
      }
      epochSeconds.push((performance.now() - started) / 1000);
      finalLoss = lossSum / train.numExamples;
    }
    const secondsPerEpoch = epochSeconds.reduce((a, b) => a + b, 0) / Math.max(1, epochSeconds.length);
    return evaluate(model, method, test, context).map((row) => ({ ...row, secondsPerEpoch, finalLoss }));
  } finally {
    tf.dispose([features, targets]);
    model.dispose();
    optimizer.dispose();
    loss.dispose?.();
  }
}

/** Evaluates the trained model on the whole test split: the method's row, then its post-hoc rows. */
function evaluate(model: tf.Sequential, method: TrainingMethod, test: ClassificationSplit, context: MethodContext) {
  const outputs = tf.tidy(() => {
    const x = tf.tensor2d(test.features, [test.numExamples, test.numFeatures]);
    return model.predict(x, { batchSize: 1024 }) as tf.Tensor2D;
  });
  try {
    const results = [{ name: method.name, label: method.label, accuracy: longTailAccuracy(outputs, test.labels, context.classCounts) }];
    for (const postHoc of method.postHoc ?? []) {
      const scores = tf.tidy(() => postHoc.transform(outputs, method.fromLogits, context));
      try {
        results.push({ name: postHoc.name, label: postHoc.label, accuracy: longTailAccuracy(scores, test.labels, context.classCounts) });
      } finally {
        scores.dispose();
      }
    }
    return results;
  } finally {
    outputs.dispose();
  }
}

/**
 * Returns a function that gives the example order of each successive epoch: a fresh seeded
 * permutation of 0..numExamples-1 every call (the same sequence of permutations for the same seed).
 */
export function epochShuffler(numExamples: number, seed: number): () => Int32Array {
  const random = mulberry32(deriveSeed(seed, SEED_STREAM_SHUFFLE));
  const order = Int32Array.from({ length: numExamples }, (_, i) => i);
  return () => shuffleInPlace(order, random).slice();
}

function oneHot(labels: Int32Array, numClasses: number): Float32Array {
  const matrix = new Float32Array(labels.length * numClasses);
  labels.forEach((label, i) => {
    matrix[i * numClasses + label] = 1;
  });
  return matrix;
}
