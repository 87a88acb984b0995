/**
 * Cost of GALA against softmax cross-entropy, measured in one process (issue: "its cost").
 *
 * 1. Training step: the demo's MLP (784-256-128-C), one `trainOnBatch` per method, alternating
 *    GALA and cross-entropy so drift in machine load hits both alike; the median per-step time
 *    of each and their ratio.
 * 2. Loss only: forward, gradient with respect to the logits and (for GALA) the state update,
 *    for a batch of 256 at several class counts; median time and the peak memory `tf.profile`
 *    reports, to show memory grows linearly in numClasses (no numClasses x numClasses tensor).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import { galaLoss } from 'tfjs-gala';

/** One training-step comparison. */
export interface StepTiming {
  backend: string;
  batchSize: number;
  steps: number;
  /** Median milliseconds per `trainOnBatch` with each loss. */
  msGala: number;
  msCrossEntropy: number;
  /** msGala / msCrossEntropy. Target: at most 1.05. */
  ratio: number;
  /** The cross-entropy the ratio is against. */
  crossEntropy: string;
}

/** One loss-only comparison at a class count. */
export interface LossTiming {
  backend: string;
  numClasses: number;
  batchSize: number;
  msGala: number;
  msCrossEntropy: number;
  /** msGala / msCrossEntropy. Target: at most 2. */
  ratio: number;
  /**
   * Peak bytes allocated during one GALA step (forward, gradient, state update) beyond what was
   * allocated before it, from tf.profile.
   */
  peakBytesGala: number;
  peakBytesCrossEntropy: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function mlp(numClasses: number, outputActivation: 'linear' | 'softmax', seed: number): tfl.LayersModel {
  const init = (s: number) => tfl.initializers.glorotUniform({ seed: s });
  return tfl.sequential({
    layers: [
      tfl.layers.dense({ units: 256, activation: 'relu', inputShape: [784], kernelInitializer: init(seed) }),
      tfl.layers.dense({ units: 128, activation: 'relu', kernelInitializer: init(seed + 1) }),
      tfl.layers.dense({ units: numClasses, activation: outputActivation, kernelInitializer: init(seed + 2) }),
    ],
  });
}

/**
 * Times `trainOnBatch` of the demo's MLP with GALA (linear output) against stock
 * `'categoricalCrossentropy'` (softmax output, the way tfjs users write it), alternating.
 */
export async function timeTrainingStep(opts: { steps?: number; batchSize?: number; numClasses?: number; warmup?: number } = {}): Promise<StepTiming> {
  const { steps = 60, batchSize = 128, numClasses = 10, warmup = 5 } = opts;
  const gala = galaLoss({ numClasses });
  const galaOptimizer = tf.train.adam(1e-3);
  const ceOptimizer = tf.train.adam(1e-3);
  const galaModel = mlp(numClasses, 'linear', 1);
  galaModel.compile({ optimizer: galaOptimizer, loss: gala });
  const ceModel = mlp(numClasses, 'softmax', 1);
  ceModel.compile({ optimizer: ceOptimizer, loss: 'categoricalCrossentropy' });
  const xs = tf.randomUniform([batchSize, 784], 0, 1, 'float32', 3);
  const ys = tf.tidy(() => tf.oneHot(tf.randomUniform([batchSize], 0, numClasses, 'int32', 4), numClasses));
  const msGala: number[] = [];
  const msCe: number[] = [];
  try {
    for (let i = 0; i < warmup + steps; i++) {
      // Alternate which goes first, so neither always runs on a warmer cache.
      const order = i % 2 === 0 ? (['gala', 'ce'] as const) : (['ce', 'gala'] as const);
      for (const which of order) {
        const model = which === 'gala' ? galaModel : ceModel;
        const t0 = performance.now();
        await model.trainOnBatch(xs, ys); // returns numbers: includes the device sync
        const dt = performance.now() - t0;
        if (i >= warmup) (which === 'gala' ? msGala : msCe).push(dt);
      }
    }
  } finally {
    tf.dispose([xs, ys]);
    galaModel.dispose();
    ceModel.dispose();
    // model.dispose() leaves the optimizer (Adam's moments: ~2 MB per model) to its owner.
    galaOptimizer.dispose();
    ceOptimizer.dispose();
    gala.dispose();
  }
  const g = median(msGala);
  const c = median(msCe);
  return { backend: tf.getBackend(), batchSize, steps, msGala: g, msCrossEntropy: c, ratio: g / c, crossEntropy: "'categoricalCrossentropy' on softmax outputs" };
}

/** Times forward + gradient (+ GALA's state update) of the loss alone on `[batchSize, numClasses]` logits. */
export async function timeLossOnly(opts: { numClasses: number; batchSize?: number; repeats?: number; warmup?: number; budgetMs?: number }): Promise<LossTiming> {
  // The pure-JS cpu backend needs seconds per step at 8142 classes: stop a block early once
  // it has used its time budget (at least 3 timed steps).
  const { numClasses, batchSize = 256, repeats = 20, warmup = 2, budgetMs = 4000 } = opts;
  const gala = galaLoss({ numClasses });
  const logits = tf.randomNormal([batchSize, numClasses], 0, 1, 'float32', 5);
  const labels = tf.tidy(() => tf.oneHot(tf.randomUniform([batchSize], 0, numClasses, 'int32', 6), numClasses));
  const galaStep = () =>
    tf.tidy(() => {
      const g = tf.grad((z: tf.Tensor) => tf.mean(gala(labels, z)))(logits);
      g.dataSync(); // one sync per measured step, for both methods
    });
  const ceStep = () =>
    tf.tidy(() => {
      const g = tf.grad((z: tf.Tensor) => tf.losses.softmaxCrossEntropy(labels, z))(logits);
      g.dataSync();
    });
  const time = (fn: () => void) => {
    for (let i = 0; i < warmup; i++) fn();
    const ms: number[] = [];
    const start = performance.now();
    for (let i = 0; i < repeats && (i < 3 || performance.now() - start < budgetMs); i++) {
      const t0 = performance.now();
      fn();
      ms.push(performance.now() - t0);
    }
    return median(ms);
  };
  try {
    // Alternate whole blocks as well, then take the median of each.
    const g1 = time(galaStep);
    const c1 = time(ceStep);
    const g2 = time(galaStep);
    const c2 = time(ceStep);
    const msGala = (g1 + g2) / 2;
    const msCrossEntropy = (c1 + c2) / 2;
    // tf.profile's peakBytes counts every tensor alive (the model, the inputs...): subtract what
    // was allocated before the step, so that the figure is the step's own memory.
    const peakGala = (await tf.profile(galaStep)).peakBytes - tf.memory().numBytes;
    const peakCe = (await tf.profile(ceStep)).peakBytes - tf.memory().numBytes;
    return {
      backend: tf.getBackend(),
      numClasses,
      batchSize,
      msGala,
      msCrossEntropy,
      ratio: msGala / msCrossEntropy,
      peakBytesGala: peakGala,
      peakBytesCrossEntropy: peakCe,
    };
  } finally {
    tf.dispose([logits, labels]);
    gala.dispose();
  }
}
