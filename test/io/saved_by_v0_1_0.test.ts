import * as fs from 'node:fs';
import * as path from 'node:path';

import * as tf from '@tensorflow/tfjs';

import '../../src/io/save_load';
import { fileSystem } from '../../src/io/file_system';
import { crossEntropyLoss } from '../../src/losses/cross_entropy_loss';
import { LogitAdjustedLoss } from '../../src/losses/logit_adjusted_loss';
import { expectClose } from '../helpers';

// A model saved by 0.1.0 with softmax cross-entropy written as LogitAdjustedLoss at tau 0
// (how cross-entropy was saved before CrossEntropyLoss existed): it must load as it was
// saved, and train on. How the fixture was made: test/fixtures/v0.1.0/README.md.

const FIXTURE = path.resolve(__dirname, '../fixtures/v0.1.0/cross_entropy_as_logit_adjusted_tau0');

interface Expected {
  xs: number[][];
  labels: number[];
  predictions: number[][];
}

function expected(): Expected {
  return JSON.parse(fs.readFileSync(path.join(FIXTURE, 'expected.json'), 'utf8')) as Expected;
}

describe('a model saved by 0.1.0 with LogitAdjustedLoss at tau 0', () => {
  beforeAll(async () => {
    expect(await tf.setBackend('cpu')).toBe(true);
  });

  it('loads with its loss, config and optimizer, through fileSystem(dir) and a file:// URL', async () => {
    for (const source of [fileSystem(FIXTURE), `file://${path.join(FIXTURE, 'model.json')}`]) {
      const loaded = await tf.loadLayersModel(source);
      const loss = loaded.loss as unknown as LogitAdjustedLoss;
      expect(loss).toBeInstanceOf(LogitAdjustedLoss);
      expect(loss.getConfig()).toEqual({ tau: 0, classCounts: [4, 2, 1], priors: null, fromLogits: true });
      expect(loaded.optimizer.getClassName()).toBe('Adam');
      expect(loaded.optimizer.getConfig()).toMatchObject({ learningRate: 0.05 });
      const { xs, predictions } = expected();
      expectClose(loaded.predict(tf.tensor2d(xs)) as tf.Tensor, predictions.flat(), 1e-6);
    }
  });

  it('computes softmax cross-entropy, the same as CrossEntropyLoss', async () => {
    const loaded = await tf.loadLayersModel(fileSystem(FIXTURE));
    const { xs, labels } = expected();
    const outputs = loaded.predict(tf.tensor2d(xs)) as tf.Tensor;
    const ys = tf.tensor1d(labels, 'int32');
    expectClose((loaded.loss as unknown as LogitAdjustedLoss)(ys, outputs), crossEntropyLoss()(ys, outputs), 1e-6);
  });

  it('trains on: the reported loss is the mean cross-entropy before the step, and the weights move', async () => {
    const loaded = await tf.loadLayersModel(fileSystem(FIXTURE));
    const { xs, labels } = expected();
    const x = tf.tensor2d(xs);
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 3);
    const before = tf.mean(crossEntropyLoss()(y, loaded.predict(x) as tf.Tensor)).dataSync()[0];
    const kernel = loaded.getWeights()[0].dataSync().slice();
    const history = await loaded.fit(x, y, { epochs: 1, batchSize: xs.length, shuffle: false });
    expectClose(history.history.loss[0] as number, before, 1e-6);
    expect(Array.from(loaded.getWeights()[0].dataSync()).some((v, i) => Math.abs(v - kernel[i]) > 1e-6)).toBe(true);
    const after = tf.mean(crossEntropyLoss()(y, loaded.predict(x) as tf.Tensor)).dataSync()[0];
    expect(after).toBeLessThan(before);
  });
});
