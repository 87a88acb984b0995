import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

import { SkipNonFiniteSteps, skipNonFiniteSteps } from '../../src/callbacks/skip_non_finite_steps';
import { galaLoss } from '../../src/losses/gala_loss';
import { expectClose } from '../helpers';

// 64 samples, 4 features, 3 classes; batches of 8 in order (shuffle: false), so batch b holds
// rows 8b..8b+7. Bad batches: 3 (a NaN input), 5 (an Inf input), 6 (huge finite inputs whose
// logits overflow to Inf).
const N = 64;
const FEATURES = 4;
const CLASSES = 3;
const BATCH = 8;
const NAN_BATCH = 3;
const INF_BATCH = 5;
const OVERFLOW_BATCH = 6;
const BAD_BATCHES = 3;

function cleanRows(n = N): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from({ length: FEATURES }, (_, j) => Math.sin(i * 7 + j * 3) + (i % CLASSES === j ? 1 : 0)));
}

function labels(n = N): tf.Tensor2D {
  return tf.oneHot(tf.tensor1d(Array.from({ length: n }, (_, i) => i % CLASSES), 'int32'), CLASSES).toFloat() as tf.Tensor2D;
}

const KERNEL_SEED = 1;

/**
 * A finite input row whose first-layer pre-activation overflows float32 for the seeded initial
 * kernel: 3e38 * sign(W1[:, j]) for the hidden unit j with the largest sum |W1[i][j]| (> 1.2,
 * so the sum is above float32's max of 3.4e38). The Inf then reaches the logits.
 */
function overflowRow(): number[] {
  const kernel = tf.tidy(() => tf.initializers.glorotUniform({ seed: KERNEL_SEED }).apply([FEATURES, 16]).arraySync() as number[][]);
  let best = 0;
  let bestSum = -1;
  for (let j = 0; j < 16; j++) {
    const sum = kernel.reduce((s, row) => s + Math.abs(row[j]), 0);
    if (sum > bestSum) [best, bestSum] = [j, sum];
  }
  expect(bestSum).toBeGreaterThan(1.2);
  return kernel.map((row) => 3e38 * Math.sign(row[best]));
}

/** Rows with the three bad batches written in. */
function poisonedRows(): number[][] {
  const rows = cleanRows();
  rows[NAN_BATCH * BATCH + 2][0] = NaN;
  rows[INF_BATCH * BATCH][1] = Infinity;
  const overflow = overflowRow();
  for (let i = 0; i < BATCH; i += 2) rows[OVERFLOW_BATCH * BATCH + i] = overflow.slice();
  return rows;
}

/** Dense(16, relu) -> [batchNorm] -> Dense(3, softmax | linear), seeded: the same weights every call. */
function makeModel(opts: { output: 'softmax' | 'linear'; batchNorm?: boolean }): tf.Sequential {
  const layers: tf.layers.Layer[] = [
    tf.layers.dense({ units: 16, inputShape: [FEATURES], activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: KERNEL_SEED }) }),
  ];
  if (opts.batchNorm) layers.push(tf.layers.batchNormalization());
  layers.push(tf.layers.dense({ units: CLASSES, activation: opts.output, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
  return tf.sequential({ layers });
}

function weightValues(model: tf.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => w.dataSync().slice() as Float32Array);
}

async function optimizerValues(optimizer: tf.Optimizer): Promise<{ iterations: number; values: Float32Array[] }> {
  const weights = await optimizer.getWeights();
  const iterations = weights[0].tensor.dataSync()[0];
  weights[0].tensor.dispose(); // saveIterations makes a fresh scalar; the rest are the live slots.
  return { iterations, values: weights.slice(1).map((w) => w.tensor.dataSync().slice() as Float32Array) };
}

function expectAllFinite(arrays: ArrayLike<number>[]): void {
  for (const a of arrays) for (let i = 0; i < a.length; i++) expect(Number.isFinite(a[i])).toBe(true);
}

function expectBitwise(actual: Float32Array[], expected: Float32Array[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => expect(Array.from(a)).toEqual(Array.from(expected[i])));
}

describe('SkipNonFiniteSteps', () => {
  // Importing the wasm backend makes it tfjs's default: the tests run on cpu unless they say otherwise.
  beforeAll(async () => {
    expect(await tf.setBackend('cpu')).toBe(true);
  });

  it('skips a NaN-input, an Inf-input and an Inf-logit batch in fit and trains on (categoricalCrossentropy, Adam)', async () => {
    const model = makeModel({ output: 'softmax' });
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const xs = tf.tensor2d(poisonedRows());
    const ys = labels();
    // Precondition: the overflow batch is finite but its logits are not.
    const overflow = xs.slice([OVERFLOW_BATCH * BATCH, 0], [BATCH, FEATURES]);
    expect(Array.from(overflow.dataSync()).every(Number.isFinite)).toBe(true);
    const [w1, b1, w2, b2] = model.getWeights();
    const overflowLogits = tf.tidy(() => tf.relu(overflow.matMul(w1).add(b1)).matMul(w2).add(b2));
    expect(Array.from(overflowLogits.dataSync()).some((v) => !Number.isFinite(v))).toBe(true);
    tf.dispose([overflow, overflowLogits]);

    const guard = skipNonFiniteSteps();
    const batchLosses: number[] = [];
    const recorder = new tf.CustomCallback({ onBatchEnd: async (_b, logs) => void batchLosses.push(logs!.loss) });
    const history = await model.fit(xs, ys, { epochs: 3, batchSize: BATCH, shuffle: false, verbose: 0, callbacks: [guard, recorder] });

    expect(history.history.skipped_steps).toEqual([BAD_BATCHES, BAD_BATCHES, BAD_BATCHES]);
    expect(guard.skippedSteps).toBe(3 * BAD_BATCHES);
    expect(guard.history.map((h) => h.skipped)).toEqual([3, 3, 3]);
    expectAllFinite([history.history.loss as number[], history.history.acc as number[]]);
    expectAllFinite(weightValues(model));
    // The bad batches still log their own non-finite loss; every other batch loss is finite.
    batchLosses.forEach((loss, i) => {
      const b = i % (N / BATCH);
      expect(Number.isFinite(loss)).toBe(![NAN_BATCH, INF_BATCH, OVERFLOW_BATCH].includes(b));
    });
    // Training goes on: the last epoch's loss is below the first's.
    const losses = history.history.loss as number[];
    expect(losses[2]).toBeLessThan(losses[0]);
    // The host iteration count was corrected at each epoch end.
    expect(model.optimizer.iterations).toBe(3 * (N / BATCH - BAD_BATCHES));
    // The optimizer is unwrapped after fit.
    expect(Object.prototype.hasOwnProperty.call(model.optimizer, 'minimize')).toBe(false);
    expect(Object.prototype.hasOwnProperty.call(model.optimizer, 'applyGradients')).toBe(false);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('without the callback the same data poisons every weight (the failure it prevents)', async () => {
    const model = makeModel({ output: 'softmax' });
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
    const xs = tf.tensor2d(poisonedRows());
    const ys = labels();
    const history = await model.fit(xs, ys, { epochs: 2, batchSize: BATCH, shuffle: false, verbose: 0 });
    expect(Number.isNaN((history.history.loss as number[])[1])).toBe(true);
    expect(weightValues(model).every((w) => w.every(Number.isNaN))).toBe(true);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('works with galaLoss on logits and SGD, and keeps the GALA state finite', async () => {
    const model = makeModel({ output: 'linear' });
    const loss = galaLoss({ numClasses: CLASSES });
    model.compile({ optimizer: tf.train.sgd(0.05), loss });
    const xs = tf.tensor2d(poisonedRows());
    const ys = labels();
    const guard = new SkipNonFiniteSteps();
    const history = await model.fit(xs, ys, { epochs: 2, batchSize: BATCH, shuffle: false, verbose: 0, callbacks: [guard] });
    expect(history.history.skipped_steps).toEqual([BAD_BATCHES, BAD_BATCHES]);
    expectAllFinite([history.history.loss as number[]]);
    expectAllFinite(weightValues(model));
    const state = loss.getState();
    expectAllFinite([state.positive, state.negative]);
    expect(model.optimizer.iterations).toBe(2 * (N / BATCH - BAD_BATCHES));
    tf.dispose([xs, ys]);
    loss.dispose();
    model.dispose();
  });

  const optimizers: [string, () => tf.Optimizer][] = [
    ['adam', () => tf.train.adam(0.01)],
    ['sgd', () => tf.train.sgd(0.05)],
    ['rmsprop (momentum)', () => tf.train.rmsprop(0.01, 0.9, 0.5)],
    ['momentum', () => tf.train.momentum(0.05, 0.9)],
  ];
  it.each(optimizers)('a skipped step leaves weights and %s state bitwise unchanged', async (_name, makeOptimizer) => {
    const model = makeModel({ output: 'softmax' });
    const optimizer = makeOptimizer();
    model.compile({ optimizer, loss: 'categoricalCrossentropy' });
    const xs = tf.tensor2d(cleanRows());
    const ys = labels();
    await model.fit(xs, ys, { epochs: 1, batchSize: BATCH, shuffle: false, verbose: 0 }); // slots exist, non-zero
    const weightsBefore = weightValues(model);
    const stateBefore = await optimizerValues(optimizer);
    expectAllFinite([...weightsBefore, ...stateBefore.values]);
    if (stateBefore.values.length > 0) expect(stateBefore.values[0].some((v) => v !== 0)).toBe(true);
    const betaPowers = (o: tf.Optimizer) => ['accBeta1', 'accBeta2'].map((k) => (o as unknown as Record<string, tf.Tensor | undefined>)[k]?.dataSync()[0]);
    const betasBefore = betaPowers(optimizer);

    const bad = cleanRows(BATCH);
    bad[4][2] = NaN;
    const badXs = tf.tensor2d(bad);
    const badYs = labels(BATCH);
    const guard = skipNonFiniteSteps();
    const history = await model.fit(badXs, badYs, { epochs: 1, batchSize: BATCH, verbose: 0, callbacks: [guard] });
    expect(history.history.skipped_steps).toEqual([1]);
    expect(Number.isNaN((history.history.loss as number[])[0])).toBe(true); // no step applied in that epoch

    expectBitwise(weightValues(model), weightsBefore);
    const stateAfter = await optimizerValues(optimizer);
    expect(stateAfter.iterations).toBe(stateBefore.iterations);
    expectBitwise(stateAfter.values, stateBefore.values);
    expect(betaPowers(optimizer)).toEqual(betasBefore);

    // A following clean step is applied as usual.
    const history2 = await model.fit(xs, ys, { epochs: 1, batchSize: BATCH, shuffle: false, verbose: 0, callbacks: [guard] });
    expect(history2.history.skipped_steps).toEqual([0]);
    expect(weightValues(model)[0]).not.toEqual(weightsBefore[0]);
    tf.dispose([xs, ys, badXs, badYs]);
    model.dispose();
  });

  it('a skipped step leaves batch-norm moving statistics and the GALA state unchanged', async () => {
    const model = makeModel({ output: 'linear', batchNorm: true });
    const loss = galaLoss({ numClasses: CLASSES });
    model.compile({ optimizer: tf.train.adam(0.01), loss });
    const xs = tf.tensor2d(cleanRows());
    const ys = labels();
    await model.fit(xs, ys, { epochs: 1, batchSize: BATCH, shuffle: false, verbose: 0 });
    const weightsBefore = weightValues(model); // includes moving mean / variance
    const stateBefore = loss.getState();
    expectAllFinite(weightsBefore);

    const bad = cleanRows(BATCH);
    bad[0][0] = Infinity;
    const badXs = tf.tensor2d(bad);
    const badYs = labels(BATCH);
    await model.fit(badXs, badYs, { epochs: 1, batchSize: BATCH, verbose: 0, callbacks: [skipNonFiniteSteps()] });
    expectBitwise(weightValues(model), weightsBefore);
    expect(loss.getState()).toEqual(stateBefore);
    tf.dispose([xs, ys, badXs, badYs]);
    loss.dispose();
    model.dispose();
  });

  it('a clean run gives bitwise the same weights and logs as a run without the callback', async () => {
    const xs = tf.tensor2d(cleanRows());
    const ys = labels();
    const run = async (callbacks: tf.Callback[]) => {
      const model = makeModel({ output: 'softmax', batchNorm: true });
      model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
      const history = await model.fit(xs, ys, { epochs: 3, batchSize: BATCH, shuffle: false, verbose: 0, callbacks });
      const weights = weightValues(model);
      model.dispose();
      return { history: history.history, weights };
    };
    const plain = await run([]);
    const guarded = await run([skipNonFiniteSteps()]);
    expectBitwise(guarded.weights, plain.weights);
    expect(guarded.history.loss).toEqual(plain.history.loss);
    expect(guarded.history.acc).toEqual(plain.history.acc);
    expect(guarded.history.skipped_steps).toEqual([0, 0, 0]);
    tf.dispose([xs, ys]);
  });

  it("the epoch's loss and metrics average the applied steps only, weighted by batch size", async () => {
    const model = makeModel({ output: 'softmax' });
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    // 60 samples: the last batch has 4, so the average must be weighted by size.
    const rows = poisonedRows().slice(0, 60);
    const xs = tf.tensor2d(rows);
    const ys = labels(60);
    const batches: { loss: number; acc: number; size: number }[][] = [[], []];
    let epoch = 0;
    const recorder = new tf.CustomCallback({
      onEpochBegin: async (e) => void (epoch = e),
      onBatchEnd: async (_b, logs) => void batches[epoch].push({ loss: logs!.loss, acc: logs!.acc, size: logs!.size }),
    });
    const history = await model.fit(xs, ys, { epochs: 2, batchSize: BATCH, shuffle: false, verbose: 0, callbacks: [skipNonFiniteSteps(), recorder] });
    for (let e = 0; e < 2; e++) {
      const applied = batches[e].filter((b) => Number.isFinite(b.loss));
      expect(applied.length).toBe(8 - BAD_BATCHES);
      const total = applied.reduce((s, b) => s + b.size, 0);
      const loss = applied.reduce((s, b) => s + b.loss * b.size, 0) / total;
      const acc = applied.reduce((s, b) => s + b.acc * b.size, 0) / total;
      expectClose((history.history.loss as number[])[e], loss, 1e-5);
      expectClose((history.history.acc as number[])[e], acc, 1e-5);
    }
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('leaks no tensor over epochs and fits', async () => {
    const model = makeModel({ output: 'softmax', batchNorm: true });
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const xs = tf.tensor2d(poisonedRows());
    const ys = labels();
    const guard = skipNonFiniteSteps();
    await model.fit(xs, ys, { epochs: 1, batchSize: BATCH, shuffle: false, verbose: 0, callbacks: [guard] }); // creates Adam's slots
    const before = tf.memory().numTensors;
    const atEpochEnd: number[] = [];
    const counter = new tf.CustomCallback({ onEpochEnd: async () => void atEpochEnd.push(tf.memory().numTensors) });
    await model.fit(xs, ys, { epochs: 4, batchSize: BATCH, shuffle: false, verbose: 0, callbacks: [guard, counter], validationSplit: 0.25 });
    expect(new Set(atEpochEnd).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('works with fitDataset (RMSProp)', async () => {
    const model = makeModel({ output: 'softmax' });
    model.compile({ optimizer: tf.train.rmsprop(0.01), loss: 'categoricalCrossentropy' });
    const rows = poisonedRows();
    const allYs = labels();
    const ysRows = allYs.arraySync();
    allYs.dispose();
    const batches = Array.from({ length: N / BATCH }, (_, b) => ({
      xs: rows.slice(b * BATCH, (b + 1) * BATCH),
      ys: ysRows.slice(b * BATCH, (b + 1) * BATCH),
    }));
    const dataset = tf.data.array(batches).map((b) => {
      const { xs, ys } = b as { xs: number[][]; ys: number[][] };
      return { xs: tf.tensor2d(xs), ys: tf.tensor2d(ys) };
    });
    const guard = skipNonFiniteSteps({ logKey: 'skipped' });
    const before = tf.memory().numTensors;
    const history = await model.fitDataset(dataset, { epochs: 2, verbose: 0, callbacks: [guard] });
    expect(history.history.skipped).toEqual([BAD_BATCHES, BAD_BATCHES]);
    expectAllFinite([history.history.loss as number[]]);
    expectAllFinite(weightValues(model));
    expect(model.optimizer.iterations).toBe(2 * (N / BATCH - BAD_BATCHES));
    // Only RMSProp's slots (created on the first step) are new.
    const slots = (await model.optimizer.getWeights()).length - 1;
    expect(tf.memory().numTensors).toBe(before + slots + 1); // + the getWeights iteration scalar
    model.dispose();
  });

  it("a bad first step (Adam's slots created inside it) leaves a fresh optimizer state", async () => {
    const model = makeModel({ output: 'softmax' });
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
    const rows = cleanRows();
    rows[1][3] = NaN; // batch 0
    const xs = tf.tensor2d(rows);
    const ys = labels();
    const weightsBefore = weightValues(model);
    const guard = skipNonFiniteSteps();
    const [firstXs, firstYs] = [xs.slice([0, 0], [BATCH, FEATURES]), ys.slice([0, 0], [BATCH, CLASSES])];
    const history = await model.fit(firstXs, firstYs, { epochs: 1, batchSize: BATCH, verbose: 0, callbacks: [guard] });
    tf.dispose([firstXs, firstYs]);
    expect(history.history.skipped_steps).toEqual([1]);
    expectBitwise(weightValues(model), weightsBefore);
    const state = await optimizerValues(model.optimizer);
    expect(state.iterations).toBe(0);
    state.values.forEach((v) => expect(v.every((x) => x === 0)).toBe(true));
    const history2 = await model.fit(xs, ys, { epochs: 2, batchSize: BATCH, shuffle: false, verbose: 0, callbacks: [guard] });
    expect(history2.history.skipped_steps).toEqual([1, 1]);
    expectAllFinite([...weightValues(model), ...(await optimizerValues(model.optimizer)).values]);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('guards trainOnBatch when installed by hand', async () => {
    const model = makeModel({ output: 'softmax' });
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
    const good = tf.tensor2d(cleanRows(BATCH));
    const bad = tf.tensor2d(poisonedRows().slice(NAN_BATCH * BATCH, (NAN_BATCH + 1) * BATCH));
    const ys = labels(BATCH);
    await model.trainOnBatch(good, ys);
    const weightsBefore = weightValues(model);
    const guard = skipNonFiniteSteps();
    guard.setModel(model);
    await guard.onTrainBegin();
    const loss = (await model.trainOnBatch(bad, ys)) as number;
    expect(Number.isNaN(loss)).toBe(true);
    expectBitwise(weightValues(model), weightsBefore);
    await model.trainOnBatch(good, ys);
    await guard.onTrainEnd();
    expect(guard.skippedSteps).toBe(1);
    expect(model.optimizer.iterations).toBe(2);
    expectAllFinite(weightValues(model));
    tf.dispose([good, bad, ys]);
    model.dispose();
  });

  it('checkLoss: false skips on non-finite gradients only', async () => {
    // A finite-gradient step with a non-finite loss: the loss has an Inf constant added.
    const model = makeModel({ output: 'softmax' });
    const infLoss = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.add(tf.losses.softmaxCrossEntropy(yTrue, yPred), tf.scalar(Infinity));
    model.compile({ optimizer: tf.train.sgd(0.05), loss: infLoss });
    const xs = tf.tensor2d(cleanRows(BATCH));
    const ys = labels(BATCH);
    const strict = await model.fit(xs, ys, { epochs: 1, batchSize: BATCH, verbose: 0, callbacks: [skipNonFiniteSteps()] });
    expect(strict.history.skipped_steps).toEqual([1]);
    const lenient = await model.fit(xs, ys, { epochs: 1, batchSize: BATCH, verbose: 0, callbacks: [skipNonFiniteSteps({ checkLoss: false })] });
    expect(lenient.history.skipped_steps).toEqual([0]);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('on the wasm backend: skips the bad batches, restores Adam exactly, and a clean run matches', async () => {
    expect(await tf.setBackend('wasm')).toBe(true);
    try {
      expect(tf.getBackend()).toBe('wasm');
      const run = async (data: number[][], guard: boolean) => {
        const model = makeModel({ output: 'softmax' });
        model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
        const xs = tf.tensor2d(data);
        const ys = labels();
        const history = await model.fit(xs, ys, { epochs: 2, batchSize: BATCH, shuffle: false, verbose: 0, callbacks: guard ? [skipNonFiniteSteps()] : [] });
        const result = { history: history.history, weights: weightValues(model), state: await optimizerValues(model.optimizer) };
        tf.dispose([xs, ys]);
        model.dispose();
        return result;
      };
      const plain = await run(cleanRows(), false);
      const clean = await run(cleanRows(), true);
      expectBitwise(clean.weights, plain.weights);
      expectBitwise(clean.state.values, plain.state.values);
      expect(clean.history.loss).toEqual(plain.history.loss);
      const poisoned = await run(poisonedRows(), true);
      expect(poisoned.history.skipped_steps).toEqual([BAD_BATCHES, BAD_BATCHES]);
      expect(poisoned.state.iterations).toBe(2 * (N / BATCH - BAD_BATCHES));
      expectAllFinite([...poisoned.weights, ...poisoned.state.values, poisoned.history.loss as number[]]);
    } finally {
      await tf.setBackend('cpu');
    }
  });

  it('rejects invalid arguments and an uncompiled model', async () => {
    expect(() => skipNonFiniteSteps({ logKey: '' })).toThrow('SkipNonFiniteSteps: logKey must be a non-empty string; received "".');
    expect(() => skipNonFiniteSteps({ checkLoss: 1 as unknown as boolean })).toThrow('SkipNonFiniteSteps: checkLoss must be true or false; received 1.');
    expect(() => new SkipNonFiniteSteps(3 as never)).toThrow('SkipNonFiniteSteps: args must be an object');
    const guard = skipNonFiniteSteps();
    const model = makeModel({ output: 'softmax' });
    guard.setModel(model);
    await expect(guard.onTrainBegin()).rejects.toThrow('SkipNonFiniteSteps: model must be a compiled LayersModel');
    model.dispose();
  });
});
