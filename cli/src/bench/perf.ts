/**
 * Timing harnesses of `tfjs-gala bench --perf`, measured in one process.
 *
 * 1. Training steps: the protocol's model (MLP or CNN), one `trainOnBatch` per variant (a loss,
 *    or a kernel set-up such as the wasm training kernels), variants alternating step by step
 *    so that drift in machine load hits all alike; the median per-step time of each.
 * 2. Loss only: forward, gradient with respect to the logits and (for GALA) the state update,
 *    for a batch of 256 at several class counts; median time and the peak memory `tf.profile`
 *    reports, to show memory grows linearly in numClasses (no numClasses x numClasses tensor).
 */
import * as tf from '@tensorflow/tfjs';

import { galaLoss } from 'tfjs-gala';
import type { MethodLoss } from '../methods';
import { buildModel } from '../models';
import type { ModelName } from '../protocol';

/** One way to run a training step. */
export interface StepVariant {
  /** Row label, e.g. 'GALA' or 'stock wasm'. */
  readonly label: string;
  /** A fresh loss to compile the variant's model with (a tfjs loss name or a package loss). */
  readonly loss: () => MethodLoss | string;
  /** Called before each of the variant's steps (e.g. to switch a kernel fix on or off). */
  readonly before?: () => void;
}

/** Median step times of variants measured together. */
export interface StepTiming {
  readonly backend: string;
  readonly model: ModelName;
  readonly batchSize: number;
  /** Timed steps per variant (after warm-up). */
  readonly steps: number;
  /** Variant labels, in the order given. */
  readonly labels: readonly string[];
  /** Median milliseconds per `trainOnBatch` of each variant (the call returns numbers: the device sync is included). */
  readonly ms: readonly number[];
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

/** The median of `values` (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Options of {@link timeTrainingSteps}. */
export interface TrainingStepOptions {
  readonly model: ModelName;
  readonly variants: readonly StepVariant[];
  /** Timed steps per variant; default 40. */
  readonly steps?: number;
  /** Untimed steps per variant first; default 3. */
  readonly warmup?: number;
  /** Default 128. */
  readonly batchSize?: number;
  /** Default 10. */
  readonly numClasses?: number;
}

/**
 * Times `trainOnBatch` of `options.model` (28x28 random images, PyTorch initialisation, Adam
 * 1e-3) for each variant on the active backend, one model per variant from the same seed,
 * alternating the variants step by step (and which goes first), and frees everything it made.
 */
export async function timeTrainingSteps(options: TrainingStepOptions): Promise<StepTiming> {
  const { model: modelName, variants, steps = 40, warmup = 3, batchSize = 128, numClasses = 10 } = options;
  const runs = variants.map((variant) => {
    const model = buildModel({ model: modelName, numFeatures: 784, imageShape: [28, 28], numClasses, seed: 1, fromLogits: true, initialization: 'pytorch' });
    const optimizer = tf.train.adam(1e-3);
    const loss = variant.loss();
    model.compile({ optimizer, loss });
    return { variant, model, optimizer, loss, ms: [] as number[] };
  });
  const xs = tf.randomUniform([batchSize, 784], 0, 1, 'float32', 3);
  const ys = tf.tidy(() => tf.oneHot(tf.randomUniform([batchSize], 0, numClasses, 'int32', 4), numClasses));
  try {
    for (let i = 0; i < warmup + steps; i++) {
      const order = i % 2 === 0 ? runs : [...runs].reverse();
      for (const run of order) {
        run.variant.before?.();
        const t0 = performance.now();
        await run.model.trainOnBatch(xs, ys);
        if (i >= warmup) run.ms.push(performance.now() - t0);
      }
    }
  } finally {
    tf.dispose([xs, ys]);
    for (const run of runs) {
      run.model.dispose();
      // model.dispose() leaves the optimizer (Adam's moments) to its owner.
      run.optimizer.dispose();
      if (typeof run.loss !== 'string') run.loss.dispose?.();
    }
  }
  return { backend: tf.getBackend(), model: modelName, batchSize, steps, labels: runs.map((r) => r.variant.label), ms: runs.map((r) => median(r.ms)) };
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
