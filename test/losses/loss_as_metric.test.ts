import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

import { galaLoss } from '../../src/losses/gala_loss';
import { expectClose } from '../helpers';
import { ALL_LOSSES, BACKENDS } from './all_losses';

/*
 * A package loss listed as a metric too (issue 11, item 3): each loss function carries its own
 * name, so tfjs keeps its `loss` / `val_loss` entries (EarlyStopping works), and the metric
 * reports the batch's own loss (GALA updates its state once, between the two calls).
 */

const xs = () => tf.tensor2d([[1, 0], [0.8, 0.2], [0, 1], [0.1, 0.9], [-1, -1], [-0.9, -1.2], [1, 1], [0, 0]]);
const ys = () => tf.oneHot(tf.tensor1d([0, 0, 1, 1, 2, 2, 0, 1], 'int32'), 3);

function tinyModel(): tf.LayersModel {
  return tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [2], kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) })] });
}

describe.each(BACKENDS)('on the %s backend', (backend) => {
  beforeAll(async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    await tf.ready();
    expect(tf.getBackend()).toBe(backend);
  });

  describe.each(ALL_LOSSES)('%s', (_name, functionName, make) => {
    it(`is a function named ${functionName}, not 'loss'`, () => {
      const loss = make();
      expect(loss.name).toBe(functionName);
      loss.dispose();
    });

    it('as loss and metric: history keeps loss and val_loss, and the metric equals the loss of the same batch', async () => {
      const loss = make();
      const model = tinyModel();
      model.compile({ optimizer: tf.train.sgd(0.5), loss, metrics: [loss] });
      // One training batch per epoch (6 rows) and 2 validation rows.
      const history = await model.fit(xs(), ys(), { epochs: 3, batchSize: 6, validationSplit: 0.25, verbose: 0 });
      expect(Object.keys(history.history).sort()).toEqual(['loss', functionName, 'val_loss', `val_${functionName}`].sort());
      expectClose(history.history[functionName] as number[], history.history.loss as number[], 1e-6);
      expectClose(history.history[`val_${functionName}`] as number[], history.history.val_loss as number[], 1e-6);
      loss.dispose();
    });

    it("lets EarlyStopping({monitor: 'val_loss'}) stop training", async () => {
      const loss = make();
      const model = tinyModel();
      model.compile({ optimizer: tf.train.sgd(0.1), loss, metrics: [loss] });
      // baseline 0: no val_loss can beat it, so training stops after `patience` epochs.
      const stop = tf.callbacks.earlyStopping({ monitor: 'val_loss', patience: 1, baseline: 0 });
      const history = await model.fit(xs(), ys(), { epochs: 5, batchSize: 6, validationSplit: 0.25, verbose: 0, callbacks: [stop] });
      expect(history.epoch).toEqual([0]);
      loss.dispose();
    });
  });

  it('GalaLoss: a second call on the same training batch returns the first values and does not update again', () => {
    const loss = galaLoss({ numClasses: 3 });
    const labels = tf.tensor1d([0, 1, 2, 0], 'int32');
    const logits = tf.tensor2d([[1, 2, 0], [0.5, -1, 0], [0, 0, 3], [2, 1, -1]]);
    const trainStep = () => {
      let first: number[] = [];
      let second: number[] = [];
      tf.grad((z: tf.Tensor) => {
        const asLoss = loss(labels, z);
        const asMetric = loss(labels, z);
        first = Array.from(asLoss.dataSync());
        second = Array.from(asMetric.dataSync());
        return tf.mean(asLoss);
      })(logits).dispose();
      return { first, second };
    };
    trainStep();
    const { first, second } = trainStep(); // with a non-zero state, an update in between would show
    expect(second).toEqual(first);
    expect(loss.getState().steps).toBe(2);
    loss.dispose();
  });
});
