import * as tf from '@tensorflow/tfjs';

import { LongTailEvaluation, longTailEvaluation, type LongTailEvaluationArgs } from '../../../src/callbacks/long_tail_evaluation/long_tail_evaluation';
import { balancedAccuracy } from '../../../src/eval/balanced_accuracy';
import { galaLoss } from '../../../src/losses/gala_loss';
import { expectClose } from '../../helpers';

/*
 * Hand-derived evaluation set: an identity Dense layer, so the model's logits are the inputs
 * log p. 5 rows, 3 classes, training counts [200, 50, 10] -> many [0], medium [1], few [2].
 *
 *   row  label  p                   plain argmax   re-balanced (tau 1, m = [3.4, 0.8, 0.8])
 *   A    0      [0.8, 0.1, 0.1]     0 right        p/m = [.235, .125, .125] -> 0 right
 *   B    1      [0.5, 0.4, 0.1]     0 wrong        [.147, .5, .125]         -> 1 right
 *   C    2      [0.5, 0.1, 0.4]     0 wrong        [.147, .125, .5]         -> 2 right
 *   D, E 0      [0.8, 0.1, 0.1]     0 right        as A                     -> 0 right
 *
 * Plain: per class [1, 0, 0] -> balanced 1/3 (pooled 3/5), many 1, medium 0, few 0.
 * Re-balanced: all right -> balanced 1, many 1, medium 1, few 1.
 * With batchSize 2 the mass must still be taken over all 5 rows (batch [A, B] alone would give
 * m = [1.3, 0.5, 0.2] and predict class 2 for A).
 */
const P = [
  [0.8, 0.1, 0.1],
  [0.5, 0.4, 0.1],
  [0.5, 0.1, 0.4],
  [0.8, 0.1, 0.1],
  [0.8, 0.1, 0.1],
];
const LABELS = [0, 1, 2, 0, 0];
const TRAIN_COUNTS = [200, 50, 10];

function identityModel(activation: 'linear' | 'softmax' = 'linear'): tf.Sequential {
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [3], activation })] });
  model.layers[0].setWeights([tf.eye(3), tf.zeros([3])]);
  return model;
}

/** Runs the callback's hooks as one epoch of `fit` would, and returns the epoch logs. */
async function runOneEpoch(callback: LongTailEvaluation, model: tf.LayersModel): Promise<Record<string, number>> {
  callback.setModel(model);
  callback.setParams({ epochs: 1 });
  await callback.onTrainBegin();
  const logs: Record<string, number> = {};
  await callback.onEpochEnd(0, logs);
  await callback.onTrainEnd();
  return logs;
}

describe('LongTailEvaluation: hand-derived scores', () => {
  const xs = tf.log(tf.tensor2d(P));
  const sparse = tf.tensor1d(LABELS, 'int32');
  const oneHot = tf.oneHot(sparse, 3);
  afterAll(() => tf.dispose([xs, sparse, oneHot]));

  it('writes balanced and shot-group accuracy, and the re-balanced ones that fix the head bias', async () => {
    const callback = new LongTailEvaluation({ validationData: [xs, sparse], classCounts: TRAIN_COUNTS, rebalance: true });
    const logs = await runOneEpoch(callback, identityModel());
    expect(Object.keys(logs)).toEqual([
      'val_balanced_acc',
      'val_many_acc',
      'val_medium_acc',
      'val_few_acc',
      'val_rebalanced_balanced_acc',
      'val_rebalanced_many_acc',
      'val_rebalanced_medium_acc',
      'val_rebalanced_few_acc',
    ]);
    expect(logs.val_balanced_acc).toBeCloseTo(1 / 3, 12);
    expect([logs.val_many_acc, logs.val_medium_acc, logs.val_few_acc]).toEqual([1, 0, 0]);
    expect([logs.val_rebalanced_balanced_acc, logs.val_rebalanced_many_acc, logs.val_rebalanced_medium_acc, logs.val_rebalanced_few_acc]).toEqual([1, 1, 1, 1]);
    const record = callback.history[0];
    expect(record.epoch).toBe(0);
    expect(record.scores.accuracy).toBeCloseTo(3 / 5, 12);
    expect(record.scores.perClass).toEqual([1, 0, 0]);
    expect(record.rebalanced!.accuracy).toBe(1);
  });

  it('gives the same results for one-hot labels, a softmax output (fromLogits auto) and batches of 2 rows', async () => {
    const reference = await runOneEpoch(new LongTailEvaluation({ validationData: [xs, sparse], classCounts: TRAIN_COUNTS, rebalance: true }), identityModel());
    const batched = await runOneEpoch(
      new LongTailEvaluation({ validationData: { xs, ys: oneHot }, classCounts: TRAIN_COUNTS, rebalance: { tau: 1 }, batchSize: 2 }),
      identityModel('softmax'),
    );
    expect(batched).toEqual(reference);
  });

  it('leaves a key out, never 0, when its shot group is empty', async () => {
    // Counts [200, 150, 50]: many [0, 1], medium [2], few [].
    const logs = await runOneEpoch(new LongTailEvaluation({ validationData: [xs, sparse], classCounts: [200, 150, 50] }), identityModel());
    expect(Object.keys(logs)).toEqual(['val_balanced_acc', 'val_many_acc', 'val_medium_acc']);
    expect('val_few_acc' in logs).toBe(false);
    expect(logs.val_many_acc).toBe(0.5);
  });

  it('uses the prefix for every key', async () => {
    const callback = longTailEvaluation({ validationData: [xs, sparse], classCounts: TRAIN_COUNTS, prefix: 'test_', rebalance: true });
    const logs = await runOneEpoch(callback, identityModel());
    expect(Object.keys(logs)).toEqual(callback.logKeys());
    expect(callback.logKeys()).toEqual([
      'test_balanced_acc', 'test_many_acc', 'test_medium_acc', 'test_few_acc',
      'test_rebalanced_balanced_acc', 'test_rebalanced_many_acc', 'test_rebalanced_medium_acc', 'test_rebalanced_few_acc',
    ]);
  });

  it('evaluates a tf.data.Dataset of [xs, ys] batches and disposes its elements', async () => {
    const dataset = tf.data
      .zip({ xs: tf.data.array(P.map((row) => row.map(Math.log))), ys: tf.data.array(LABELS) })
      .batch(2)
      .map((batch) => {
        const { xs: x, ys: y } = batch as { xs: tf.Tensor; ys: tf.Tensor };
        return [x, y];
      });
    const reference = await runOneEpoch(new LongTailEvaluation({ validationData: [xs, sparse], classCounts: TRAIN_COUNTS, rebalance: true }), identityModel());
    const model = identityModel();
    const callback = new LongTailEvaluation({ validationData: dataset as never, classCounts: TRAIN_COUNTS, rebalance: true });
    await runOneEpoch(callback, model); // warm-up: tfjs-data creates some tensors once
    const before = tf.memory().numTensors;
    expect(await runOneEpoch(callback, model)).toEqual(reference);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects labels outside [0, numClasses)', async () => {
    const bad = tf.tensor1d([0, 1, 2, 0, 3], 'int32');
    const callback = new LongTailEvaluation({ validationData: [xs, bad], classCounts: TRAIN_COUNTS });
    await expect(runOneEpoch(callback, identityModel())).rejects.toThrow(
      'LongTailEvaluation: validationData labels must be class indices in [0, 2] or one-hot [N, 3]; received 1 of 5 labels outside that range.',
    );
    bad.dispose();
  });
});

describe('LongTailEvaluation: options', () => {
  const xs = tf.zeros([2, 3]);
  const ys = tf.tensor1d([0, 1]);
  const base: LongTailEvaluationArgs = { validationData: [xs, ys], classCounts: TRAIN_COUNTS };
  afterAll(() => tf.dispose([xs, ys]));

  it.each([
    ['every 0', { every: 0 }, 'LongTailEvaluation: every must be an integer >= 1; received 0.'],
    ['batchSize 1.5', { batchSize: 1.5 }, 'LongTailEvaluation: batchSize must be an integer >= 1; received 1.5.'],
    ['rebalance tau 0', { rebalance: { tau: 0 } }, 'LongTailEvaluation: rebalance.tau must be a finite number > 0; received 0.'],
    ['rebalance a string', { rebalance: 'yes' }, 'LongTailEvaluation: rebalance must be true, false or {tau} (tau finite and > 0); received "yes".'],
    ['an unknown mode', { mode: 'up' }, `LongTailEvaluation: mode must be one of 'auto', 'min', 'max'; received "up".`],
    ['patience 0', { patience: 0 }, 'LongTailEvaluation: patience must be an integer >= 1; received 0.'],
    [
      'monitoring an empty group',
      { monitor: 'val_few_acc', classCounts: [200, 150, 50] },
      "LongTailEvaluation: monitor must name a key this callback writes; received 'val_few_acc', but the few-shot group is empty",
    ],
    ['monitoring a re-balanced key without rebalance', { monitor: 'val_rebalanced_balanced_acc' }, "received 'val_rebalanced_balanced_acc', which needs rebalance: true."],
    [
      'a lone tensor as validationData',
      { validationData: 'xs' },
      'LongTailEvaluation: validationData must be [xs, ys] or {xs, ys} with tf.Tensor inputs and labels; received a tensor of shape [2, 3].',
    ],
    ['one class', { classCounts: [5] }, 'LongTailEvaluation: classCounts must have one entry per class, at least 2; received length 1.'],
    ['an unknown option', { epochs: 3 }, "LongTailEvaluation: unknown argument 'epochs'; allowed: validationData, classCounts, every"],
    ['a misspelt option', { classCount: [1] }, "LongTailEvaluation: unknown argument 'classCount' (did you mean 'classCounts'?)"],
  ])('rejects %s, naming the argument', (_name, extra, message) => {
    const args = { ...base, ...(extra as object) } as Record<string, unknown>;
    if (args.validationData === 'xs') args.validationData = xs;
    expect(() => new LongTailEvaluation(args as unknown as LongTailEvaluationArgs)).toThrow(message);
  });

  it('checks the model output against classCounts when fit starts', async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 4, inputShape: [3] })] });
    const callback = new LongTailEvaluation(base);
    callback.setModel(model);
    await expect(callback.onTrainBegin()).rejects.toThrow(
      'LongTailEvaluation: the model output must be [batch, 3] (numClasses from classCounts); received [null, 4].',
    );
  });

  it("needs fromLogits for re-balancing when the final layer is neither softmax nor linear", async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [3], activation: 'sigmoid' })] });
    const callback = new LongTailEvaluation({ ...base, rebalance: true });
    callback.setModel(model);
    await expect(callback.onTrainBegin()).rejects.toThrow(/LongTailEvaluation: fromLogits must be true or false when the final layer '.*' \(Dense\) is neither softmax nor linear; received 'auto'\./);
  });
});

/*
 * A real small GALA run: 3 well-separated 2-D clusters, long-tailed training counts
 * [150, 40, 8] (many, medium, few), a balanced validation set of 20 per class, a linear model.
 * Balanced validation accuracy reaches its maximum within a few epochs and then cannot improve.
 */
const CENTERS = [
  [2, 0],
  [-1, 1.7],
  [-1, -1.7],
];
const RUN_COUNTS = [150, 40, 8];

/** Deterministic normal samples (LCG + Box-Muller), so every run sees the same data. */
function cluster(counts: number[], seed: number, spread: number): { xs: number[][]; labels: number[] } {
  let state = seed;
  const uniform = (): number => {
    state = (state * 1664525 + 1013904223) % 4294967296;
    return (state + 0.5) / 4294967296;
  };
  const normal = (): number => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  const xs: number[][] = [];
  const labels: number[] = [];
  counts.forEach((n, c) => {
    for (let i = 0; i < n; i++) {
      xs.push([CENTERS[c][0] + spread * normal(), CENTERS[c][1] + spread * normal()]);
      labels.push(c);
    }
  });
  return { xs, labels };
}

const train = cluster(RUN_COUNTS, 7, 0.45);
const validation = cluster([20, 20, 20], 11, 0.45);

function galaModel(): tf.LayersModel {
  const model = tf.sequential({
    layers: [tf.layers.dense({ units: 3, inputShape: [2], kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }), biasInitializer: 'zeros' })],
  });
  model.compile({ optimizer: tf.train.adam(0.05), loss: galaLoss({ numClasses: 3 }) });
  return model;
}

describe('LongTailEvaluation in fit and fitDataset', () => {
  const xs = tf.tensor2d(train.xs);
  const ys = tf.oneHot(tf.tensor1d(train.labels, 'int32'), 3); // fit needs one-hot targets for a custom loss
  const valXs = tf.tensor2d(validation.xs);
  const valYs = tf.tensor1d(validation.labels, 'int32');
  afterAll(() => tf.dispose([xs, ys, valXs, valYs]));
  const fitArgs = { epochs: 60, batchSize: 32, shuffle: false, verbose: 0 as const };

  it('lets tf.callbacks.earlyStopping stop a GALA run on val_balanced_acc when listed before it', async () => {
    const model = galaModel();
    const evaluation = new LongTailEvaluation({ validationData: [valXs, valYs], classCounts: RUN_COUNTS });
    const patience = 3;
    const history = await model.fit(xs, ys, {
      ...fitArgs,
      callbacks: [evaluation, tf.callbacks.earlyStopping({ monitor: 'val_balanced_acc', patience })],
    });
    const epochsRun = history.epoch.length;
    expect(epochsRun).toBeLessThan(fitArgs.epochs);
    // earlyStopping and this callback use the same rule (strictly better), so they agree on the best epoch.
    expect(epochsRun).toBe(evaluation.bestEpoch! + patience + 1);
    expect(history.history.val_balanced_acc).toHaveLength(epochsRun);
    expect(history.history.val_few_acc).toHaveLength(epochsRun);
    expect(history.history.val_balanced_acc).toEqual(evaluation.history.map((r) => r.scores.balancedAccuracy));
    expect(evaluation.bestValue).toBe(Math.max(...(history.history.val_balanced_acc as number[])));
  });

  it('is invisible to earlyStopping when listed after it (tfjs runs callbacks in list order), and the fit wrapper says so', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const model = galaModel();
      const evaluation = new LongTailEvaluation({ validationData: [valXs, valYs], classCounts: RUN_COUNTS });
      const history = await model.fit(xs, ys, {
        ...fitArgs,
        epochs: 8,
        callbacks: [tf.callbacks.earlyStopping({ monitor: 'val_balanced_acc', patience: 1 }), evaluation],
      });
      expect(history.epoch).toHaveLength(8);
      const missing = warn.mock.calls.filter(([message]) => String(message).startsWith('Metric for EarlyStopping val_balanced_acc is not available'));
      expect(missing).toHaveLength(8);
      // History is always the last callback, so it still records the keys.
      expect(history.history.val_balanced_acc).toHaveLength(8);
      const advice = warn.mock.calls.filter(([message]) => String(message).includes("callbacks[0] monitors 'val_balanced_acc'"));
      expect(advice).toHaveLength(1);
      expect(String(advice[0][0])).toContain('list LongTailEvaluation before it');
    } finally {
      warn.mockRestore();
    }
  });

  it('restores the weights of the best epoch at the end (compared with a copy taken at that epoch)', async () => {
    const model = galaModel();
    const evaluation = new LongTailEvaluation({ validationData: [valXs, valYs], classCounts: RUN_COUNTS, restoreBestWeights: true, patience: 3 });
    const snapshots: number[][][] = [];
    const capture = new tf.CustomCallback({
      onEpochEnd: async (epoch) => {
        snapshots[epoch] = model.getWeights().map((w) => Array.from(w.dataSync()));
      },
    });
    const history = await model.fit(xs, ys, { ...fitArgs, callbacks: [evaluation, capture] });
    const best = evaluation.bestEpoch!;
    const last = history.epoch.length - 1;
    expect(last).toBe(best + 3); // its own patience stopped training
    expect(evaluation.stoppedEpoch).toBe(last);
    const restored = model.getWeights().map((w) => Array.from(w.dataSync()));
    restored.forEach((values, i) => expectClose(values, snapshots[best][i], 0));
    expect(restored).not.toEqual(snapshots[last]); // training moved on after the best epoch
    expect(history.history.val_balanced_acc[best]).toBe(evaluation.bestValue);
  });

  it('leaks nothing: constant tensor count across epochs, and no more left after fit than without it', async () => {
    const run = async (withEvaluation: boolean): Promise<{ delta: number; perEpoch: number[] }> => {
      const before = tf.memory().numTensors;
      const model = galaModel();
      const perEpoch: number[] = [];
      const count = new tf.CustomCallback({ onEpochEnd: async () => void perEpoch.push(tf.memory().numTensors) });
      const callbacks = withEvaluation
        ? [new LongTailEvaluation({ validationData: [valXs, valYs], classCounts: RUN_COUNTS, rebalance: true, restoreBestWeights: true, batchSize: 16 }), count]
        : [count];
      await model.fit(xs, ys, { ...fitArgs, epochs: 5, callbacks });
      return { delta: tf.memory().numTensors - before, perEpoch };
    };
    const without = await run(false);
    const withIt = await run(true);
    expect(withIt.delta).toBe(without.delta);
    expect(new Set(withIt.perEpoch).size).toBe(1); // best-weight copies are replaced, never added
  });

  it("tracks any key of the logs, e.g. fit's own val_loss (a tensor there), for the best epoch", async () => {
    const model = galaModel();
    const evaluation = new LongTailEvaluation({ validationData: [valXs, valYs], classCounts: RUN_COUNTS, monitor: 'val_loss', restoreBestWeights: true });
    expect(evaluation.mode).toBe('min');
    const valOneHot = tf.oneHot(valYs, 3);
    const history = await model.fit(xs, ys, { ...fitArgs, epochs: 6, validationData: [valXs, valOneHot], callbacks: [evaluation] });
    const losses = history.history.val_loss as number[];
    expect(evaluation.bestEpoch).toBe(losses.indexOf(Math.min(...losses)));
    expect(evaluation.bestValue).toBeCloseTo(Math.min(...losses), 6);
    valOneHot.dispose();
  });

  it('evaluates every N epochs and always the last one; History records only the evaluated epochs', async () => {
    const evaluation = new LongTailEvaluation({ validationData: [valXs, valYs], classCounts: RUN_COUNTS, every: 2 });
    const history = await galaModel().fit(xs, ys, { ...fitArgs, epochs: 5, callbacks: [evaluation] });
    expect(evaluation.history.map((r) => r.epoch)).toEqual([1, 3, 4]);
    expect(history.history.val_balanced_acc).toHaveLength(3);
  });

  it('works in fitDataset, with a dataset as validation data; the last score matches a direct evaluation', async () => {
    const model = galaModel();
    const trainSet = tf.data.zip({ xs: tf.data.array(train.xs), ys: tf.data.array(train.labels.map((l) => [0, 1, 2].map((c) => Number(c === l)))) }).batch(32);
    const validationSet = tf.data.zip({ xs: tf.data.array(validation.xs), ys: tf.data.array(validation.labels) }).batch(16);
    const evaluation = new LongTailEvaluation({ validationData: validationSet as never, classCounts: RUN_COUNTS, rebalance: true });
    const history = await model.fitDataset(trainSet, { epochs: 4, verbose: 0, callbacks: [evaluation] });
    expect(history.history.val_balanced_acc).toHaveLength(4);
    expect(history.history.val_rebalanced_few_acc).toHaveLength(4);
    const predictions = model.predict(valXs) as tf.Tensor;
    expect(evaluation.history[3].scores.balancedAccuracy).toBeCloseTo(balancedAccuracy(predictions, valYs, 3), 12);
    predictions.dispose();
  });
});
