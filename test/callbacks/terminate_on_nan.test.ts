import * as tf from '@tensorflow/tfjs';

import { TerminateOnNaN, terminateOnNaN } from '../../src/callbacks/terminate_on_nan';
import { galaLoss } from '../../src/losses/gala_loss';

const N = 64;
const FEATURES = 4;
const CLASSES = 3;
const BATCH = 8;
const BATCHES = N / BATCH;

function rows(bad: { row: number; value: number } | null): number[][] {
  const out = Array.from({ length: N }, (_, i) => Array.from({ length: FEATURES }, (_, j) => Math.cos(i * 5 + j) + (i % CLASSES === j ? 1 : 0)));
  if (bad) out[bad.row][1] = bad.value;
  return out;
}

function labels(): tf.Tensor2D {
  return tf.oneHot(tf.tensor1d(Array.from({ length: N }, (_, i) => i % CLASSES), 'int32'), CLASSES).toFloat() as tf.Tensor2D;
}

function makeModel(output: 'softmax' | 'linear'): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({ units: 8, inputShape: [FEATURES], activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
      tf.layers.dense({ units: CLASSES, activation: output, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }),
    ],
  });
}

/** Counts (epoch, batch) pairs trained; a class instance so it mixes with the callback under test. */
function batchCounter(): { seen: [number, number][]; callback: tf.CustomCallback } {
  const seen: [number, number][] = [];
  let epoch = 0;
  const callback = new tf.CustomCallback({
    onEpochBegin: async (e) => void (epoch = e),
    onBatchEnd: async (b) => void seen.push([epoch, b]),
  });
  return { seen, callback };
}

describe('TerminateOnNaN', () => {
  it('stops at the first batch with a NaN loss (categoricalCrossentropy)', async () => {
    const model = makeModel('softmax');
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
    const xs = tf.tensor2d(rows({ row: 3 * BATCH + 1, value: NaN }));
    const ys = labels();
    const messages: string[] = [];
    const stop = terminateOnNaN({ log: (m) => messages.push(m) });
    const { seen, callback } = batchCounter();
    const history = await model.fit(xs, ys, { epochs: 5, batchSize: BATCH, shuffle: false, verbose: 0, callbacks: [stop, callback] });
    expect(seen).toEqual([[0, 0], [0, 1], [0, 2], [0, 3]]);
    expect(stop.terminated).toEqual({ epoch: 0, batch: 3, loss: NaN });
    expect(history.epoch).toEqual([0]);
    expect(messages).toEqual(['TerminateOnNaN: batch 3 of epoch 0: invalid loss NaN, terminating training.']);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('stops on an infinite loss in a later epoch (galaLoss, fitDataset)', async () => {
    const model = makeModel('linear');
    const loss = galaLoss({ numClasses: CLASSES });
    model.compile({ optimizer: tf.train.sgd(0.05), loss });
    const clean = rows(null);
    const ysRows = tf.tidy(() => labels().arraySync());
    let epochsServed = 0;
    // Epochs 0 and 1 are clean; from epoch 2 on, batch 5 holds an Inf input.
    const dataset = tf.data
      .generator(function* () {
        const poisoned = epochsServed++ >= 2;
        for (let b = 0; b < BATCHES; b++) {
          const x = clean.slice(b * BATCH, (b + 1) * BATCH).map((r) => r.slice());
          if (poisoned && b === 5) x[0][0] = Infinity;
          yield { xs: tf.tensor2d(x), ys: tf.tensor2d(ysRows.slice(b * BATCH, (b + 1) * BATCH)) };
        }
      });
    const stop = new TerminateOnNaN({ log: null });
    const history = await model.fitDataset(dataset, { epochs: 6, verbose: 0, callbacks: [stop] });
    expect(stop.terminated?.epoch).toBe(2);
    expect(stop.terminated?.batch).toBe(5);
    expect(Number.isFinite(stop.terminated!.loss)).toBe(false);
    expect(history.epoch).toEqual([0, 1, 2]);
    loss.dispose();
    model.dispose();
  });

  it('lets a clean run finish', async () => {
    const model = makeModel('softmax');
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
    const xs = tf.tensor2d(rows(null));
    const ys = labels();
    const stop = terminateOnNaN({ log: null });
    const history = await model.fit(xs, ys, { epochs: 3, batchSize: BATCH, verbose: 0, callbacks: [stop] });
    expect(history.epoch).toEqual([0, 1, 2]);
    expect(stop.terminated).toBeNull();
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it("checkEvery: 'epoch' reads the epoch average once and stops after that epoch", async () => {
    const model = makeModel('softmax');
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
    const xs = tf.tensor2d(rows({ row: 2 * BATCH, value: Infinity }));
    const ys = labels();
    const stop = terminateOnNaN({ checkEvery: 'epoch', log: null });
    const { seen, callback } = batchCounter();
    const history = await model.fit(xs, ys, { epochs: 4, batchSize: BATCH, shuffle: false, verbose: 0, callbacks: [stop, callback] });
    expect(seen.length).toBe(BATCHES);
    expect(history.epoch).toEqual([0]);
    expect(stop.terminated).toEqual({ epoch: 0, batch: null, loss: NaN });
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('leaks no tensor', async () => {
    const model = makeModel('softmax');
    model.compile({ optimizer: tf.train.sgd(0.05), loss: 'categoricalCrossentropy' });
    const xs = tf.tensor2d(rows({ row: 40, value: NaN }));
    const ys = labels();
    const before = tf.memory().numTensors;
    await model.fit(xs, ys, { epochs: 2, batchSize: BATCH, verbose: 0, callbacks: [terminateOnNaN({ log: null })] });
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('rejects invalid arguments', () => {
    expect(() => terminateOnNaN({ checkEvery: 'step' as never })).toThrow("TerminateOnNaN: checkEvery must be one of 'batch', 'epoch'; received \"step\".");
    expect(() => terminateOnNaN({ log: 'console' as never })).toThrow('TerminateOnNaN: log must be a function or null; received console.');
    expect(() => new TerminateOnNaN([] as never)).toThrow('TerminateOnNaN: args must be an object');
  });
});
