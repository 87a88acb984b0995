/**
 * Every kernel the package runs (forward and gradient, recorded while it runs on the cpu
 * backend) must be registered by every backend users train on: webgl, webgpu, wasm and
 * tensorflow (tfjs-node / tfjs-node-gpu). The lists come from the packages themselves, see
 * scripts/kernel-lists.cjs; tfjs-node cannot be installed with its native part here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import * as tf from '@tensorflow/tfjs';

import { galaLoss } from '../../src/losses/gala_loss';
import { focalLoss } from '../../src/losses/focal_loss';
import { logitAdjustedLoss } from '../../src/losses/logit_adjusted_loss';
import { balancedSoftmaxLoss } from '../../src/losses/balanced_softmax_loss';
import { ldamLoss } from '../../src/losses/ldam_loss';
import { predictionRebalance } from '../../src/layers/prediction_rebalance';
import { rebalancePredictions } from '../../src/layers/rebalance_math';

const lists = JSON.parse(fs.readFileSync(path.join(__dirname, 'kernel_lists.json'), 'utf8')) as {
  tfjsVersion: string;
  kernels: Record<string, string[]>;
};
const GPU_AND_NATIVE_BACKENDS = ['webgl', 'webgpu', 'wasm', 'tensorflow'];

/**
 * Kernel names run by `fn` on the cpu backend, from tf.profile (it records gradient kernels
 * too). Its records also name customGrad scopes such as `logSoftmax__op`, which are not
 * kernels: keep the names the cpu backend has a kernel for.
 */
async function kernelsOf(fn: () => unknown | Promise<unknown>): Promise<Set<string>> {
  const info = await tf.profile(async () => {
    const out = await fn();
    tf.dispose(out as tf.TensorContainer);
  });
  return new Set(info.kernels.map((k) => k.name).filter((name) => tf.getKernel(name, 'cpu') != null));
}

const counts = [500, 200, 50];
const labels = () => tf.tensor1d([0, 1, 2, 0, 0, 1], 'int32');
const oneHot = () => tf.oneHot(labels(), 3);
const logits = () => tf.tensor2d([[2, 1, 0], [0.5, 1, -1], [0, 0, 3], [1, 2, 3], [3, 0, 0], [0, 2, 1]]);

/** Forward and gradient (a training step) of a loss, with one-hot and sparse labels. */
async function lossKernels(loss: (y: tf.Tensor, p: tf.Tensor) => tf.Tensor, fromLogits = true): Promise<Set<string>> {
  return kernelsOf(() =>
    tf.tidy(() => {
      const z = fromLogits ? logits() : tf.softmax(logits());
      const g1 = tf.grad((q: tf.Tensor) => tf.mean(loss(oneHot(), q)))(z);
      const g2 = tf.grad((q: tf.Tensor) => tf.mean(loss(labels(), q)))(z);
      return [g1, g2];
    }),
  );
}

const recorded: Record<string, Set<string>> = {};

beforeAll(async () => {
  await tf.setBackend('cpu');
  const gala = galaLoss({ numClasses: 3 });
  const galaRef = galaLoss({ numClasses: 3, variant: 'reference', fromLogits: false });
  recorded.GalaLoss = await lossKernels(gala);
  const ref = await lossKernels(galaRef, false);
  ref.forEach((k) => recorded.GalaLoss.add(k));
  gala.dispose();
  galaRef.dispose();

  recorded.baselines = new Set<string>();
  const ldam = ldamLoss({ classCounts: counts, classWeights: [0.5, 1, 2] });
  for (const loss of [focalLoss({ gamma: 2, alpha: [0.2, 0.3, 0.5] }), logitAdjustedLoss({ classCounts: counts }), balancedSoftmaxLoss({ classCounts: counts }), ldam]) {
    (await lossKernels(loss)).forEach((k) => recorded.baselines.add(k));
  }
  ldam.dispose();

  recorded.PredictionRebalance = await kernelsOf(async () => {
    const transductive = predictionRebalance({ mode: 'transductive', tau: 1.5 });
    const calibrated = predictionRebalance({ mode: 'calibrated' });
    const z = logits();
    await calibrated.adapt(z);
    const out = [transductive.apply(z) as tf.Tensor, calibrated.apply(z) as tf.Tensor, rebalancePredictions(tf.softmax(z), { tau: 1, fromLogits: false })];
    calibrated.dispose();
    z.dispose();
    return out;
  });
});

describe.each(GPU_AND_NATIVE_BACKENDS)('the %s backend', (backend) => {
  it.each(['GalaLoss', 'baselines', 'PredictionRebalance'])('registers every kernel %s runs', (part) => {
    const registered = new Set(lists.kernels[backend]);
    expect(registered.size).toBeGreaterThan(100);
    const used = [...recorded[part]].sort();
    expect(used.length).toBeGreaterThan(5);
    expect(used.filter((k) => !registered.has(k))).toEqual([]);
  });
});

it('records the state update and the gradient of GalaLoss, not only its forward pass', () => {
  for (const k of ['IsFinite', 'All', 'BatchMatMul', 'Exp', 'Log', 'Max', 'Sum']) expect(recorded.GalaLoss.has(k)).toBe(true);
});

it('records the kernel lists of the tfjs version installed here', () => {
  expect(lists.tfjsVersion).toBe(tf.version.tfjs);
});
