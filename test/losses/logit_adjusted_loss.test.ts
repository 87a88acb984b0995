import * as tf from '@tensorflow/tfjs';

import { LogitAdjustedLoss, logitAdjustedLoss } from '../../src/losses/logit_adjusted_loss';
import { expectClose } from '../helpers';
import { crossEntropy, expectNoLeakOnceTrained, handLogits, randomBatch } from './baseline_reference';

// Counts [2, 1, 1] -> priors [1/2, 1/4, 1/4]; labels [0, 1].
const COUNTS = [2, 1, 1];
const labels = () => tf.tensor1d([0, 1], 'int32');

describe('LogitAdjustedLoss: values', () => {
  it('matches hand-derived values (tau 1)', () => {
    // exp(z + log pi) = pi * exp(z):
    //   row 1: [1/2, 1/4, 1/2] -> softmax [2/5, 1/5, 2/5], label 0 -> ln(5/2)
    //   row 2: [3/2, 1/4, 1/4] -> softmax [3/4, 1/8, 1/8], label 1 -> ln 8
    expectClose(logitAdjustedLoss({ classCounts: COUNTS })(labels(), handLogits()), [Math.log(2.5), Math.log(8)], 1e-5);
  });

  it('matches hand-derived values (tau 2)', () => {
    // exp(z + 2 log pi) = pi^2 * exp(z):
    //   row 1: [1/4, 1/16, 1/8], sum 7/16, label 0 -> ln(7/4)
    //   row 2: [3/4, 1/16, 1/16], sum 7/8, label 1 -> ln 14
    expectClose(logitAdjustedLoss({ classCounts: COUNTS, tau: 2 })(labels(), handLogits()), [Math.log(7 / 4), Math.log(14)], 1e-5);
  });

  it('has gradient softmax(z + tau log pi) - onehot', () => {
    const loss = logitAdjustedLoss({ priors: [0.5, 0.25, 0.25] });
    const grad = tf.grad((z: tf.Tensor) => tf.sum(loss(labels(), z)))(handLogits());
    expectClose(grad, [2 / 5 - 1, 1 / 5, 2 / 5, 3 / 4, 1 / 8 - 1, 1 / 8], 1e-5);
  });

  it('gives the same losses from counts and from (unnormalised) priors', () => {
    const { logits, labels: y } = randomBatch(6, 3, 4);
    const fromCounts = logitAdjustedLoss({ classCounts: [600, 30, 6] })(y, logits);
    expectClose(logitAdjustedLoss({ priors: [100, 5, 1] })(y, logits), fromCounts, 1e-5);
    expectClose(logitAdjustedLoss({ priors: [600 / 636, 30 / 636, 6 / 636] })(y, logits), fromCounts, 1e-5);
  });

  it('equals softmax cross-entropy with tau 0', () => {
    const { logits, labels: y } = randomBatch(8, 4, 5);
    expectClose(logitAdjustedLoss({ classCounts: [500, 50, 10, 1], tau: 0 })(y, logits), crossEntropy(y, logits), 1e-5);
  });

  it('gives the same losses for fromLogits false on softmax probabilities', () => {
    const { logits, labels: y } = randomBatch(6, 3, 6);
    const loss = logitAdjustedLoss({ classCounts: [100, 10, 1], tau: 1.5 });
    const fromProbabilities = logitAdjustedLoss({ classCounts: [100, 10, 1], tau: 1.5, fromLogits: false });
    expectClose(fromProbabilities(y, tf.softmax(logits)), loss(y, logits), 1e-4);
  });

  it('accepts one-hot, sparse [batch] and sparse [batch, 1] labels alike', () => {
    const loss = logitAdjustedLoss({ classCounts: COUNTS });
    const expected = loss(tf.tensor2d([[1, 0, 0], [0, 1, 0]]), handLogits());
    expectClose(loss(labels(), handLogits()), expected);
    expectClose(loss(tf.tensor2d([[0], [1]]), handLogits()), expected);
  });

  it('stays finite for extreme logits and counts', () => {
    const loss = logitAdjustedLoss({ classCounts: [1e7, 1] });
    const values = loss(tf.tensor1d([1, 0]), tf.tensor2d([[1e3, -1e3], [-1e3, 1e3]])).dataSync();
    expect(Array.from(values).every(Number.isFinite)).toBe(true);
  });
});

describe('LogitAdjustedLoss: config and arguments', () => {
  it('round-trips its config, defaults filled in, the absent source null', () => {
    const loss = logitAdjustedLoss({ classCounts: [5, 2, 1], tau: 1.5 });
    const config = loss.getConfig();
    expect(config).toEqual({ tau: 1.5, classCounts: [5, 2, 1], priors: null, fromLogits: true });
    expect(LogitAdjustedLoss.fromConfig(LogitAdjustedLoss, config).getConfig()).toEqual(config);
    expect(JSON.parse(JSON.stringify(config))).toEqual(config);
    const fromPriors = logitAdjustedLoss({ priors: [0.7, 0.3] }).getConfig();
    expect(fromPriors).toEqual({ tau: 1, classCounts: null, priors: [0.7, 0.3], fromLogits: true });
    expect(LogitAdjustedLoss.fromConfig(LogitAdjustedLoss, fromPriors).getConfig()).toEqual(fromPriors);
  });

  it('is registered with tf.serialization under its className', () => {
    expect(LogitAdjustedLoss.className).toBe('tfjs-gala.LogitAdjustedLoss');
    expect(tf.serialization.SerializationMap.getMap().classNameMap['tfjs-gala.LogitAdjustedLoss']?.[0]).toBe(LogitAdjustedLoss);
  });

  it.each([
    [{}, /^LogitAdjustedLoss: pass exactly one of classCounts .* and priors .*; received neither/],
    [{ classCounts: [1, 2], priors: [0.5, 0.5] }, /pass exactly one of classCounts .*; received both/],
    [{ classCounts: [3, 0, 1] }, /^LogitAdjustedLoss: classCounts must be an array of at least 2 finite numbers > 0 .*; received \[3, 0, 1\]/],
    [{ classCounts: [3] }, /^LogitAdjustedLoss: classCounts must be an array of at least 2 finite numbers > 0 .*; received \[3\] \(length 1\)/],
    [{ priors: [0.5, NaN] }, /^LogitAdjustedLoss: priors must be .*finite numbers >= 0; received \[0.5, NaN\]/],
    [{ priors: 'uniform' }, /^LogitAdjustedLoss: priors must be .*; received "uniform"/],
    [{ classCounts: [2, 1], tau: -1 }, /^LogitAdjustedLoss: tau must be a finite number >= 0; received -1/],
    [{ classCounts: [2, 1], fromLogits: null }, /^LogitAdjustedLoss: fromLogits must be true or false; received null/],
  ])('rejects bad args %j', (args, message) => {
    expect(() => logitAdjustedLoss(args as never)).toThrow(message);
  });

  it('rejects yPred whose class count differs from the counts', () => {
    expect(() => logitAdjustedLoss({ classCounts: [1, 2] })(labels(), handLogits())).toThrow(
      /LogitAdjustedLoss: yPred must be \[batch, 2\]; received shape \[2, 3\]/,
    );
  });

  it('leaks no tensor', async () => {
    const loss = logitAdjustedLoss({ classCounts: COUNTS });
    const logits = handLogits();
    const y = labels();
    await expectNoLeakOnceTrained(loss, y, logits);
  });
});
