import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

import { galaLoss } from '../../src/losses/gala_loss';
import { expectClose } from '../helpers';
import { ALL_LOSSES, BACKENDS } from './all_losses';
import { settle } from './baseline_reference';

/*
 * Invalid label rows (issue 11, item 5) add zero loss, zero gradient and nothing to any
 * accumulated state, in every package loss; training rows with invalid labels are counted on the
 * device and reported with console.warn, without a host sync per step.
 */

// Rows 0 and 1 are valid in both layouts; rows 2-5 are not.
const SPARSE_LABELS = [0, 2, 3, -1, 1.5, NaN]; // 3 is out of range for 3 classes
const ONE_HOT_LABELS = [
  [1, 0, 0],
  [0, 0.3, 0.7], // soft labels are valid
  [1, 1, 0], // sums to 2
  [-0.5, 1.5, 0], // sums to 1 with a negative entry
  [0, 0, 0], // sums to 0
  [NaN, 1, 0],
];
const VALID_ROWS = 2;
const logits = () => tf.tensor2d([[1, 2, 0], [0.5, -1, 0], [0, 0, 3], [2, 1, -1], [0.3, 0.2, 0.1], [-1, 0, 1]]);

/** Per-sample losses and their gradient with respect to the logits, under a tape as in fit. */
function lossAndGradient(loss: (y: tf.Tensor, z: tf.Tensor) => tf.Tensor, labels: tf.Tensor, z: tf.Tensor): { values: number[]; gradient: number[][] } {
  let values: number[] = [];
  const gradient = tf.grad((x: tf.Tensor) => {
    const perSample = loss(labels, x);
    values = Array.from(perSample.dataSync());
    return tf.sum(perSample);
  })(z);
  const rows = gradient.arraySync() as number[][];
  gradient.dispose();
  return { values, gradient: rows };
}

describe.each(BACKENDS)('on the %s backend', (backend) => {
  let warn: jest.SpyInstance;
  beforeAll(async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    await tf.ready();
    expect(tf.getBackend()).toBe(backend);
  });
  beforeEach(() => {
    warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());

  describe.each(ALL_LOSSES)('%s', (name, _fn, make) => {
    it.each([
      ['sparse', () => tf.tensor1d(SPARSE_LABELS)],
      ['one-hot', () => tf.tensor2d(ONE_HOT_LABELS)],
    ])('gives invalid %s label rows zero loss and zero gradient, and leaves the valid rows as they are alone', (_layout, labels) => {
      const all = make();
      const validOnly = make();
      const y = labels();
      const z = logits();
      const mixed = lossAndGradient(all, y, z);
      const alone = lossAndGradient(validOnly, tf.slice(y, 0, VALID_ROWS), tf.slice(z, 0, VALID_ROWS));
      const plain = (values: number[]) => values.map((v) => v + 0); // -0 -> 0
      expect(plain(mixed.values.slice(VALID_ROWS))).toEqual([0, 0, 0, 0]);
      expect(plain(mixed.gradient.slice(VALID_ROWS).flat())).toEqual(new Array(12).fill(0));
      expectClose(mixed.values.slice(0, VALID_ROWS), alone.values, 1e-5);
      expectClose(mixed.gradient.slice(0, VALID_ROWS).flat(), alone.gradient.flat(), 1e-5);
      expect(y.isDisposed).toBe(false); // the caller's labels are never freed
      all.dispose();
      validOnly.dispose();
    });

    it('counts the invalid training rows on the device, not the rows of calls without a tape', async () => {
      const loss = make();
      const y = tf.tensor1d(SPARSE_LABELS);
      lossAndGradient(loss, y, logits());
      lossAndGradient(loss, tf.tensor2d(ONE_HOT_LABELS), logits());
      loss(y, logits()).dispose(); // evaluation: zero loss too, but not counted
      expect(await loss.getInvalidRowCount()).toBe(8);
      loss.dispose();
    });

    it('warns once per growth of the count, naming the loss, the rows and what is allowed', async () => {
      const loss = make();
      lossAndGradient(loss, tf.tensor1d(SPARSE_LABELS), logits()); // step 1: read and warned
      await settle();
      const messages = () => warn.mock.calls.map((c) => String(c[0])).filter((m) => m.includes('invalid labels'));
      expect(messages()).toEqual([
        `${name}: 4 training rows with invalid labels (4 in total so far); they added ` +
          `${name === 'GalaLoss' ? 'zero loss, zero gradient and nothing to the accumulated gradient statistics' : 'zero loss and zero gradient'}. ` +
          'Labels must be one-hot rows of 3 ' +
          'entries >= 0 summing to 1 (within 0.001), or sparse class indices, integers in [0, 3).',
      ]);
      lossAndGradient(loss, tf.tensor1d([0, 1, 2]), logits().slice(0, 3)); // valid: no new warning
      expect(await loss.getInvalidRowCount()).toBe(4);
      expect(messages()).toHaveLength(1);
      lossAndGradient(loss, tf.tensor1d([7, 1, 2]), logits().slice(0, 3));
      expect(await loss.getInvalidRowCount()).toBe(5);
      expect(messages()[1]).toMatch(new RegExp(`^${name}: 1 training row with invalid labels \\(5 in total so far\\)`));
      loss.dispose();
    });
  });

  it('counts and warns in fit without a host sync per training step', async () => {
    const loss = galaLoss({ numClasses: 3 });
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [2], kernelInitializer: 'zeros' })] });
    model.compile({ optimizer: tf.train.sgd(0.1), loss });
    const xs = tf.tensor2d([[1, 0], [0, 1], [1, 1], [0, 0]]);
    const ys = tf.tensor2d([[1, 0, 0], [0, 1, 0], [0, 0, 0], [0.5, 0.6, 0]]); // rows 3 and 4 invalid
    await model.fit(xs, ys, { epochs: 1, batchSize: 4 }); // warm up (first read)
    const dataSync = jest.spyOn(tf.Tensor.prototype, 'dataSync');
    try {
      for (let step = 0; step < 3; step++) await model.trainOnBatch(xs, ys);
      expect(dataSync).not.toHaveBeenCalled();
    } finally {
      dataSync.mockRestore();
    }
    await settle();
    expect(warn.mock.calls.map((c) => String(c[0])).filter((m) => m.startsWith('GalaLoss: 2 training rows with invalid labels (2 in total'))).toHaveLength(1);
    const state = await loss.getStateAsync();
    expect(state.invalidRows).toBe(8);
    expect(state.steps).toBe(4);
    loss.dispose();
  });

  it('GalaLoss: invalid rows add nothing to theta and phi (the valid rows add what they add alone, per batch row)', () => {
    const all = galaLoss({ numClasses: 3 });
    const validOnly = galaLoss({ numClasses: 3 });
    lossAndGradient(all, tf.tensor2d(ONE_HOT_LABELS), logits());
    lossAndGradient(validOnly, tf.tensor2d(ONE_HOT_LABELS.slice(0, VALID_ROWS)), logits().slice(0, VALID_ROWS));
    const mixed = all.getState();
    const alone = validOnly.getState();
    // Each magnitude is divided by its batch size: 6 rows here, 2 there.
    expectClose(mixed.positive.map((v) => (v * 6) / VALID_ROWS), alone.positive, 1e-5);
    expectClose(mixed.negative.map((v) => (v * 6) / VALID_ROWS), alone.negative, 1e-5);
    expect(mixed.invalidRows).toBe(4);
    expect(mixed.steps).toBe(1);
    all.dispose();
    validOnly.dispose();
  });
});
