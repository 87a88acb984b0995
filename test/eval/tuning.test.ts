import * as tf from '@tensorflow/tfjs';

import { accuracyFromTally, balancedAccuracy, tallyByClass } from '../../src/eval/balanced_accuracy';
import { longTailAccuracy } from '../../src/eval/long_tail_accuracy';
import { DEFAULT_TAU_GRID, calibratedRebalance, tuneLogitAdjustmentTau, tuneRebalanceTau } from '../../src/eval/tuning';
import { rebalancePredictions } from '../../src/layers/rebalance_math';
import { expectClose, expectNoLeak } from '../helpers';

/*
 * Hand-derived held-out set: 5 rows, 3 classes, head-biased probabilities.
 *
 *   row  label  p
 *   A    0      [0.8, 0.1, 0.1]
 *   B    1      [0.5, 0.4, 0.1]
 *   C    2      [0.5, 0.1, 0.4]
 *   D    0      [0.8, 0.1, 0.1]
 *   E    0      [0.8, 0.1, 0.1]
 *
 * Plain argmax: 0 for every row -> per class [1, 0, 0]: balanced 1/3, pooled accuracy 3/5.
 *
 * Prediction re-balancing, column mass m = [3.4, 0.8, 0.8], prediction argmax_j p_j / m_j^tau:
 *   B: class 1 beats class 0 when (3.4/0.8)^tau > 0.5/0.4, i.e. tau > ln 1.25 / ln 4.25 = 0.154 (C alike);
 *   A: class 0 beats classes 1, 2 when (3.4/0.8)^tau < 0.8/0.1,  i.e. tau < ln 8 / ln 4.25 = 1.437.
 *   So tau in {0.25, ..., 1.25}: all right, balanced 1; tau in {1.5, 1.75, 2}: A, D, E wrong,
 *   per class [0, 1, 1], balanced 2/3, pooled 2/5. tau = 1 fixes the head bias.
 *
 * Post-hoc logit adjustment with class counts [200, 50, 10], prediction argmax_j log p_j - tau log n_j:
 *   B: class 1 over 0 when tau > ln 1.25 / ln 4 = 0.161;   class 1 over 2 when tau < ln 4 / ln 5 = 0.861;
 *   C: class 2 over 0 when tau > ln 1.25 / ln 20 = 0.075;  class 2 always over 1;
 *   A: class 0 over 1 when tau < ln 8 / ln 4 = 1.5;        class 0 over 2 when tau < ln 8 / ln 20 = 0.694.
 *   tau 0: [1, 0, 0] -> 1/3; 0.25, 0.5: all right -> 1; 0.75: [0, 1, 1] -> 2/3; 1: [0, 0, 1] -> 1/3.
 */
const P = [
  [0.8, 0.1, 0.1],
  [0.5, 0.4, 0.1],
  [0.5, 0.1, 0.4],
  [0.8, 0.1, 0.1],
  [0.8, 0.1, 0.1],
];
const LABELS = [0, 1, 2, 0, 0];
const TRAIN_COUNTS = [200, 50, 10]; // many [0], medium [1], few [2]

/** log P plus a different constant per row: logits whose softmax is P. */
const logits = (): tf.Tensor2D => tf.tidy(() => tf.add(tf.log(tf.tensor2d(P)), tf.tensor2d([[1], [-2], [0.5], [3], [0]])) as tf.Tensor2D);

describe('balanced accuracy from per-class counts', () => {
  it('is the mean of per-class accuracies, not the pooled rate', () => {
    expect(balancedAccuracy([0, 0, 0, 0, 0], LABELS, 3)).toBeCloseTo(1 / 3, 12);
    const result = accuracyFromTally(tallyByClass([0, 0, 0, 0, 0], LABELS, 3), TRAIN_COUNTS);
    expect(result.overall).toBeCloseTo(3 / 5, 12);
    expect(result.perClass).toEqual([1, 0, 0]);
    expect(result.groups!.few).toEqual({ classes: [2], accuracy: 0 });
  });

  it('agrees with longTailAccuracy, leaves out classes without examples and reports an empty group as null', () => {
    const predictions = [0, 1, 1, 1, 0, 0];
    const labels = [0, 0, 1, 1, 1, 3];
    const counts = [300, 150, 40, 50]; // many [0, 1], medium [2, 3], few []
    const ours = accuracyFromTally(tallyByClass(predictions, labels, 4), counts);
    const reference = longTailAccuracy(predictions, labels, counts);
    expect(ours.perClass).toEqual(reference.perClass);
    expect(ours.groups).toEqual(reference.groups);
    expect(ours.overall).toBe(reference.overall);
    expect(ours.balanced).toBeCloseTo((0.5 + 2 / 3 + 0) / 3, 12); // class 2 has no example: left out
    expect(ours.groups!.few.accuracy).toBeNull();
  });
});

describe('tuneRebalanceTau', () => {
  it('scores the default grid by hand-derived balanced accuracy and picks the smallest best tau', () => {
    const z = logits();
    const result = tuneRebalanceTau(z, LABELS, { classCounts: TRAIN_COUNTS });
    expect(result.table.map((r) => r.tau)).toEqual([...DEFAULT_TAU_GRID]);
    const expected = [1 / 3, 1, 1, 1, 1, 1, 2 / 3, 2 / 3, 2 / 3];
    expectClose(result.table.map((r) => r.balancedAccuracy), expected, 1e-12);
    expectClose(result.table.map((r) => r.accuracy), [3 / 5, 1, 1, 1, 1, 1, 2 / 5, 2 / 5, 2 / 5], 1e-12);
    expect(result.tau).toBe(0.25);
    expect(result.balancedAccuracy).toBe(1);
    expect(result.fromLogits).toBe(true);
    z.dispose();
  });

  it('fixes a head-biased prediction with tau = 1: few- and medium-shot go from 0 to 1', () => {
    const z = logits();
    const [plain, rebalanced] = tuneRebalanceTau(z, LABELS, { classCounts: TRAIN_COUNTS, grid: [0, 1] }).table;
    expect([plain.many, plain.medium, plain.few]).toEqual([1, 0, 0]);
    expect([rebalanced.many, rebalanced.medium, rebalanced.few]).toEqual([1, 1, 1]);
    z.dispose();
  });

  it('sorts and de-duplicates the grid, so ties still go to the smallest tau', () => {
    const z = logits();
    const result = tuneRebalanceTau(z, LABELS, { grid: [1, 0.5, 2, 0.5] });
    expect(result.table.map((r) => r.tau)).toEqual([0.5, 1, 2]);
    expect(result.tau).toBe(0.5);
    z.dispose();
  });

  it('has no shot groups without classCounts, and takes probabilities and one-hot labels', () => {
    const p = tf.tensor2d(P);
    const oneHot = tf.oneHot(tf.tensor1d(LABELS, 'int32'), 3);
    const result = tuneRebalanceTau(p, oneHot, { fromLogits: false, grid: [0, 1] });
    expect(result.table[1]).toEqual({ tau: 1, balancedAccuracy: 1, accuracy: 1, many: null, medium: null, few: null });
    expect(result.fromLogits).toBe(false);
    tf.dispose([p, oneHot]);
  });

  it('returns the class mass adapt would store: mean probability per class', () => {
    const z = logits();
    expectClose(tuneRebalanceTau(z, LABELS).classMass as number[], [3.4 / 5, 0.8 / 5, 0.8 / 5], 1e-6);
    z.dispose();
  });

  it('leaks nothing', async () => {
    const z = logits();
    await expectNoLeak(() => tuneRebalanceTau(z, LABELS, { classCounts: TRAIN_COUNTS }));
    z.dispose();
  });

  it('rejects an empty grid, a negative tau, mismatched labels and a rank-1 tensor, naming the argument', () => {
    const z = logits();
    expect(() => tuneRebalanceTau(z, LABELS, { grid: [] })).toThrow('tuneRebalanceTau: grid must hold at least one tau; received [].');
    expect(() => tuneRebalanceTau(z, LABELS, { grid: [0, -1] })).toThrow('tuneRebalanceTau: grid must be an array of finite numbers >= 0; received [0, -1]');
    expect(() => tuneRebalanceTau(z, [0, 1], {})).toThrow('tuneRebalanceTau: labels must have one entry per row of predictions (5); received 2.');
    expect(() => tuneRebalanceTau(z, LABELS, { classCounts: [1, 2] })).toThrow('tuneRebalanceTau: classCounts must be an array of 3 finite numbers >= 0');
    const flat = tf.tensor1d([1, 2]);
    expect(() => tuneRebalanceTau(flat, [0, 1])).toThrow('tuneRebalanceTau: predictions must be a tf.Tensor [N, numClasses]');
    tf.dispose([z, flat]);
  });
});

describe('calibratedRebalance', () => {
  it('builds a calibrated layer in one call that reproduces whole-set re-balancing on the tuning set', async () => {
    const z = logits();
    const result = tuneRebalanceTau(z, LABELS, { grid: [1] });
    const layer = await calibratedRebalance(result, { name: 'tuned_rebalance' });
    expect(layer.getConfig()).toMatchObject({ mode: 'calibrated', tau: 1, fromLogits: true, name: 'tuned_rebalance' });
    expectClose(layer.getWeights()[0], [0.68, 0.16, 0.16], 1e-6);
    const out = layer.apply(z) as tf.Tensor;
    const reference = rebalancePredictions(z, { tau: 1 });
    expectClose(out, reference, 1e-5);
    // One row at a time gives the same (the point of mode 'calibrated').
    const single = layer.apply(tf.slice(z, [1, 0], [1, 3])) as tf.Tensor;
    expectClose(single, tf.slice(reference, [1, 0], [1, 3]), 1e-5);
    tf.dispose([z, out, reference, single]);
    layer.dispose();
  });

  it('works the same for probabilities (fromLogits false)', async () => {
    const p = tf.tensor2d(P);
    const layer = await calibratedRebalance(tuneRebalanceTau(p, LABELS, { grid: [1.25], fromLogits: false }));
    expect(layer.getConfig()).toMatchObject({ tau: 1.25, fromLogits: false });
    const out = layer.apply(p) as tf.Tensor;
    const reference = rebalancePredictions(p, { tau: 1.25, fromLogits: false });
    expectClose(out, reference, 1e-5);
    tf.dispose([p, out, reference]);
    layer.dispose();
  });

  it('refuses tau 0, when no re-balancing scored best', async () => {
    const z = logits();
    const result = tuneRebalanceTau(z, [0, 0, 0, 0, 0], { grid: [0, 1] }); // plain argmax is already perfect
    expect(result.tau).toBe(0);
    await expect(calibratedRebalance(result)).rejects.toThrow('calibratedRebalance: result.tau must be > 0; received 0');
    z.dispose();
  });
});

describe('tuneLogitAdjustmentTau', () => {
  it('scores tau by hand-derived balanced accuracy with adjustLogitsPostHoc and picks the smallest best tau', () => {
    const z = logits();
    const result = tuneLogitAdjustmentTau(z, LABELS, { classCounts: TRAIN_COUNTS, grid: [0, 0.25, 0.5, 0.75, 1] });
    expectClose(result.table.map((r) => r.balancedAccuracy), [1 / 3, 1, 1, 2 / 3, 1 / 3], 1e-12);
    expect(result.table.map((r) => [r.many, r.medium, r.few])).toEqual([
      [1, 0, 0],
      [1, 1, 1],
      [1, 1, 1],
      [0, 1, 1],
      [0, 0, 1],
    ]);
    expect(result.tau).toBe(0.25);
    z.dispose();
  });

  it('gives the same scores from priors (no groups) and from probabilities', () => {
    const z = logits();
    const p = tf.tensor2d(P);
    const fromCounts = tuneLogitAdjustmentTau(z, LABELS, { classCounts: TRAIN_COUNTS });
    const fromPriors = tuneLogitAdjustmentTau(z, LABELS, { priors: [20, 5, 1] });
    const fromProbabilities = tuneLogitAdjustmentTau(p, LABELS, { classCounts: TRAIN_COUNTS, fromLogits: false });
    expect(fromPriors.table.map((r) => r.balancedAccuracy)).toEqual(fromCounts.table.map((r) => r.balancedAccuracy));
    expect(fromPriors.table[0].many).toBeNull();
    expect(fromProbabilities.table.map((r) => r.balancedAccuracy)).toEqual(fromCounts.table.map((r) => r.balancedAccuracy));
    tf.dispose([z, p]);
  });

  it('leaks nothing', async () => {
    const z = logits();
    await expectNoLeak(() => tuneLogitAdjustmentTau(z, LABELS, { classCounts: TRAIN_COUNTS }));
    z.dispose();
  });

  it('needs exactly one of classCounts and priors, one entry per class', () => {
    const z = logits();
    expect(() => tuneLogitAdjustmentTau(z, LABELS, {})).toThrow('tuneLogitAdjustmentTau: pass exactly one of classCounts');
    expect(() => tuneLogitAdjustmentTau(z, LABELS, { classCounts: TRAIN_COUNTS, priors: [1, 1, 1] })).toThrow('received both');
    expect(() => tuneLogitAdjustmentTau(z, LABELS, { classCounts: [10, 5] })).toThrow(
      'tuneLogitAdjustmentTau: classCounts must have one entry per class of logits (3); received 2.',
    );
    z.dispose();
  });
});
