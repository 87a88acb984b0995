/**
 * Which tfjs kernels the package's losses run (forward pass, gradient and state update), and
 * whether a backend has them and gives the same gradients as cpu. For `tfjs-gala gpu-check`.
 */

import * as tf from '@tensorflow/tfjs';

import { balancedSoftmaxLoss, crossEntropyLoss, focalLoss, galaLoss, ldamLoss, logitAdjustedLoss } from 'tfjs-gala';
import type { MethodLoss } from './methods';

/** A package loss as the coverage check runs it. */
export interface LossProbe {
  readonly name: string;
  /** Whether the loss reads logits (true) or probabilities (false). */
  readonly fromLogits: boolean;
  readonly create: () => MethodLoss;
}

// A small long-tailed problem: 6 classes, 12 samples.
const NUM_CLASSES = 6;
const CLASS_COUNTS = [400, 150, 60, 25, 10, 4];
const BATCH = 12;

/** Every loss of the package, with the settings the demo and the benchmark use, in both input forms where it has them. */
export const LOSS_PROBES: readonly LossProbe[] = [
  { name: 'crossEntropyLoss', fromLogits: true, create: () => crossEntropyLoss() },
  { name: 'crossEntropyLoss (probabilities)', fromLogits: false, create: () => crossEntropyLoss({ fromLogits: false }) },
  { name: "galaLoss (paper)", fromLogits: true, create: () => galaLoss({ numClasses: NUM_CLASSES }) },
  { name: "galaLoss (authors' code)", fromLogits: true, create: () => galaLoss({ numClasses: NUM_CLASSES, variant: 'reference' }) },
  { name: 'galaLoss (probabilities)', fromLogits: false, create: () => galaLoss({ numClasses: NUM_CLASSES, fromLogits: false }) },
  { name: 'focalLoss', fromLogits: true, create: () => focalLoss({ gamma: 2 }) },
  { name: 'logitAdjustedLoss', fromLogits: true, create: () => logitAdjustedLoss({ classCounts: CLASS_COUNTS, tau: 1 }) },
  { name: 'balancedSoftmaxLoss', fromLogits: true, create: () => balancedSoftmaxLoss({ classCounts: CLASS_COUNTS }) },
  { name: 'ldamLoss', fromLogits: true, create: () => ldamLoss({ classCounts: CLASS_COUNTS, maxMargin: 0.5, scale: 30 }) },
  {
    name: 'ldamLoss (re-weighted)',
    fromLogits: true,
    create: () => {
      const loss = ldamLoss({ classCounts: CLASS_COUNTS, maxMargin: 0.5, scale: 30 });
      loss.setClassWeights([0.2, 0.4, 0.8, 1.2, 1.6, 1.8]);
      return loss;
    },
  },
];

function inputs(fromLogits: boolean): { labels: tf.Tensor2D; predictions: tf.Tensor2D } {
  return tf.tidy(() => {
    const labels = tf.oneHot(tf.tensor1d(Array.from({ length: BATCH }, (_, i) => i % NUM_CLASSES), 'int32'), NUM_CLASSES).toFloat() as tf.Tensor2D;
    const logits = tf.randomNormal([BATCH, NUM_CLASSES], 0, 2, 'float32', 7) as tf.Tensor2D;
    return { labels, predictions: fromLogits ? logits : tf.softmax(logits) };
  });
}

/**
 * Runs `probe`'s loss twice on the active backend (GALA's state then holds one step) under a
 * gradient tape, and returns the gradient of the mean loss with respect to its input, read
 * with `await data()` (webgpu in Node cannot read synchronously), and the kernels run.
 */
export async function runLoss(probe: LossProbe, record = false): Promise<{ gradient: Float32Array; kernels: string[] }> {
  const loss = probe.create();
  const { labels, predictions } = inputs(probe.fromLogits);
  const step = () => tf.grad((z: tf.Tensor) => tf.mean(loss(labels, z)))(predictions);
  try {
    tf.dispose(step()); // first step: GALA's statistics are zero
    if (!record) {
      const gradient = step();
      try {
        return { gradient: (await gradient.data()) as Float32Array, kernels: [] };
      } finally {
        gradient.dispose();
      }
    }
    let gradient: tf.Tensor | null = null;
    const info = await tf.profile(() => {
      gradient = step();
      return gradient;
    });
    const values = (await gradient!.data()) as Float32Array;
    tf.dispose(gradient!);
    return { gradient: values, kernels: [...new Set(info.kernelNames)] };
  } finally {
    tf.dispose([labels, predictions]);
    loss.dispose?.();
  }
}

/** What {@link checkKernelCoverage} found. */
export interface KernelCoverage {
  readonly backend: string;
  /** Kernels the losses run (recorded on cpu), sorted. */
  readonly kernels: readonly string[];
  /** Those the backend has no kernel for. */
  readonly missing: readonly string[];
  /** Per loss: the largest |gradient difference| from cpu, or the error the backend raised. */
  readonly losses: readonly { readonly name: string; readonly maxAbsDifference: number | null; readonly error: string | null }[];
}

/** Largest gradient difference from cpu accepted as float rounding (gradients are O(0.1)). */
export const GRADIENT_TOLERANCE = 1e-3;

/**
 * Records on cpu the kernels every loss of {@link LOSS_PROBES} runs and its gradients, then, on
 * `backend` (already set up), checks that each kernel is registered and that each loss runs and
 * gives the cpu's gradients. Leaves `backend` active.
 */
export async function checkKernelCoverage(backend: string): Promise<KernelCoverage> {
  await tf.setBackend('cpu');
  const reference: { gradient: Float32Array; kernels: string[] }[] = [];
  try {
    for (const probe of LOSS_PROBES) reference.push(await runLoss(probe, true));
  } finally {
    await tf.setBackend(backend);
  }
  // tf.profile also lists scopes (custom-gradient ops such as 'logSoftmax__op'): keep real kernels.
  const kernels = [...new Set(reference.flatMap((r) => r.kernels))].filter((name) => tf.getKernel(name, 'cpu') !== undefined).sort();
  const missing = kernels.filter((kernel) => tf.getKernel(kernel, backend) === undefined);
  const losses: KernelCoverage['losses'][number][] = [];
  for (const [i, probe] of LOSS_PROBES.entries()) {
    try {
      const { gradient } = await runLoss(probe);
      let max = 0;
      gradient.forEach((value, j) => (max = Math.max(max, Math.abs(value - reference[i].gradient[j]))));
      losses.push({ name: probe.name, maxAbsDifference: Number.isNaN(max) ? Number.POSITIVE_INFINITY : max, error: null });
    } catch (error) {
      losses.push({ name: probe.name, maxAbsDifference: null, error: (error as Error).message.split('\n')[0] });
    }
  }
  return { backend, kernels, missing, losses };
}

/** Whether every kernel is registered and every loss ran with the cpu's gradients. */
export function coverageComplete(coverage: KernelCoverage): boolean {
  return coverage.missing.length === 0 && coverage.losses.every((l) => l.error === null && l.maxAbsDifference !== null && l.maxAbsDifference <= GRADIENT_TOLERANCE);
}
