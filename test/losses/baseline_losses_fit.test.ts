import * as tf from '@tensorflow/tfjs';

import type { CallableLoss } from '../../src/losses/callable_loss';
import { balancedSoftmaxLoss } from '../../src/losses/balanced_softmax_loss';
import { crossEntropyLoss } from '../../src/losses/cross_entropy_loss';
import { toClassWeightMap } from '../../src/losses/class_weights';
import { focalLoss } from '../../src/losses/focal_loss';
import { ldamLoss } from '../../src/losses/ldam_loss';
import { logitAdjustedLoss } from '../../src/losses/logit_adjusted_loss';
import { expectClose, expectNoLeak } from '../helpers';

// Each baseline in compile + fit. One batch per epoch, so the epoch's reported loss is the mean
// per-sample loss at the initial weights, which the test computes directly.

const LABELS = [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2];
const COUNTS = [7, 3, 2];
const CLASS_WEIGHTS = [0.5, 1, 2];

const makers: Array<[string, () => CallableLoss & { dispose?: () => void }]> = [
  ['CrossEntropyLoss', () => crossEntropyLoss()],
  ['FocalLoss', () => focalLoss({ gamma: 2, alpha: [1, 2, 3] })],
  ['LogitAdjustedLoss', () => logitAdjustedLoss({ classCounts: COUNTS })],
  ['BalancedSoftmaxLoss', () => balancedSoftmaxLoss({ classCounts: COUNTS })],
  ['LDAMLoss', () => ldamLoss({ classCounts: COUNTS, scale: 2 })],
  ['LDAMLoss with class weights', () => ldamLoss({ classCounts: COUNTS, scale: 2, classWeights: [1, 1.5, 3] })],
];

function tinyModel(): tf.Sequential {
  return tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4], kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) })] });
}

const xs = () => tf.randomNormal([LABELS.length, 4], 0, 1, 'float32', 17) as tf.Tensor2D;
const sparse = () => tf.tensor1d(LABELS, 'int32');
const oneHot = () => tf.oneHot(sparse(), 3) as tf.Tensor2D;
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/** Per-sample losses of `model` on the data, before training. */
function initialLosses(loss: CallableLoss, model: tf.LayersModel, inputs: tf.Tensor): number[] {
  return tf.tidy(() => {
    const perSample = loss(oneHot(), model.predict(inputs) as tf.Tensor);
    expect(perSample.shape).toEqual([LABELS.length]);
    return Array.from(perSample.dataSync());
  });
}

describe.each(makers)('%s in compile + fit', (_, make) => {
  it('trains one epoch on one-hot labels; the reported loss is the batch mean', async () => {
    const loss = make();
    const model = tinyModel();
    model.compile({ optimizer: tf.train.sgd(0.1), loss });
    const inputs = xs();
    const expected = mean(initialLosses(loss, model, inputs));
    const kernelBefore = model.getWeights()[0].dataSync().slice();
    const history = await model.fit(inputs, oneHot(), { epochs: 1, batchSize: LABELS.length, shuffle: false });
    expectClose(history.history.loss[0] as number, expected, 1e-5);
    expect(Array.from(model.getWeights()[0].dataSync()).some((v, i) => Math.abs(v - kernelBefore[i]) > 1e-6)).toBe(true);
    loss.dispose?.();
  });

  it('trains one epoch on sparse labels through fitDataset', async () => {
    // tfjs-layers 4.22 `fit` checks targets against the output shape [batch, numClasses] for
    // any custom loss, so sparse labels go through fitDataset (which skips that check).
    const loss = make();
    const model = tinyModel();
    model.compile({ optimizer: tf.train.sgd(0.1), loss });
    const inputs = xs();
    const expected = mean(initialLosses(loss, model, inputs));
    const dataset = tf.data.zip({ xs: tf.data.array(tf.unstack(inputs)), ys: tf.data.array(LABELS) }).batch(LABELS.length);
    const history = await model.fitDataset(dataset, { epochs: 1 });
    expectClose(history.history.loss[0] as number, expected, 1e-5);
    loss.dispose?.();
  });

  it('returns per-sample losses, so tfjs classWeight weighs each sample', async () => {
    const loss = make();
    const model = tinyModel();
    model.compile({ optimizer: tf.train.sgd(0.1), loss });
    const inputs = xs();
    const perSample = initialLosses(loss, model, inputs);
    const history = await model.fit(inputs, oneHot(), {
      epochs: 1,
      batchSize: LABELS.length,
      shuffle: false,
      classWeight: toClassWeightMap(CLASS_WEIGHTS),
    });
    expectClose(history.history.loss[0] as number, mean(perSample.map((l, i) => CLASS_WEIGHTS[LABELS[i]] * l)), 1e-5);
    loss.dispose?.();
  });

  it('leaks no tensor across fit epochs, with validation', async () => {
    const loss = make();
    const model = tinyModel();
    model.compile({ optimizer: tf.train.adam(0.01), loss });
    const inputs = xs();
    const labels = oneHot();
    await model.fit(inputs, labels, { epochs: 1, batchSize: 4, validationSplit: 0.25 });
    await expectNoLeak(() => model.fit(inputs, labels, { epochs: 2, batchSize: 4, validationSplit: 0.25 }));
    loss.dispose?.();
  });
});
