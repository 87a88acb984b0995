import * as tf from '@tensorflow/tfjs';

import { BalancedSoftmaxLoss, balancedSoftmaxLoss } from '../../src/losses/balanced_softmax_loss';
import { logitAdjustedLoss } from '../../src/losses/logit_adjusted_loss';
import { expectClose } from '../helpers';
import { expectNoLeakOnceTrained, handLogits, randomBatch } from './baseline_reference';

describe('BalancedSoftmaxLoss', () => {
  it('matches hand-derived values', () => {
    // n * exp(z) with n = [2, 1, 1]:
    //   row 1: [2, 1, 2] -> label 0: -log(2/5) = ln(5/2)
    //   row 2: [6, 1, 1] -> label 1: -log(1/8) = ln 8
    expectClose(balancedSoftmaxLoss({ classCounts: [2, 1, 1] })(tf.tensor1d([0, 1]), handLogits()), [Math.log(2.5), Math.log(8)], 1e-5);
  });

  it('equals logit adjustment with tau 1 on the same counts (loss and gradient)', () => {
    const counts = [5000, 480, 37, 3];
    const { logits, labels } = randomBatch(12, 4, 7);
    const balanced = balancedSoftmaxLoss({ classCounts: counts });
    const adjusted = logitAdjustedLoss({ classCounts: counts, tau: 1 });
    expectClose(balanced(labels, logits), adjusted(labels, logits), 1e-5);
    const grad = (loss: (y: tf.Tensor, z: tf.Tensor) => tf.Tensor) => tf.grad((z: tf.Tensor) => tf.sum(loss(labels, z)))(logits);
    expectClose(grad(balanced), grad(adjusted), 1e-5);
  });

  it('depends only on the ratios of the counts', () => {
    const { logits, labels } = randomBatch(6, 3, 8);
    expectClose(balancedSoftmaxLoss({ classCounts: [20, 10, 10] })(labels, logits), balancedSoftmaxLoss({ classCounts: [2, 1, 1] })(labels, logits), 1e-5);
  });

  it('gives the same losses for fromLogits false on softmax probabilities, and for sparse [batch, 1] labels', () => {
    const { logits, labels } = randomBatch(6, 3, 9);
    const loss = balancedSoftmaxLoss({ classCounts: [50, 5, 1] });
    const fromProbabilities = balancedSoftmaxLoss({ classCounts: [50, 5, 1], fromLogits: false });
    expectClose(fromProbabilities(labels, tf.softmax(logits)), loss(labels, logits), 1e-4);
    expectClose(loss(tf.reshape(labels, [-1, 1]), logits), loss(tf.oneHot(labels, 3), logits), 1e-6);
  });

  it('round-trips its config and is registered', () => {
    const config = balancedSoftmaxLoss({ classCounts: [9, 3, 1] }).getConfig();
    expect(config).toEqual({ classCounts: [9, 3, 1], fromLogits: true });
    expect(BalancedSoftmaxLoss.fromConfig(BalancedSoftmaxLoss, config).getConfig()).toEqual(config);
    expect(tf.serialization.SerializationMap.getMap().classNameMap['tfjs-gala.BalancedSoftmaxLoss']?.[0]).toBe(BalancedSoftmaxLoss);
  });

  it.each([
    [{}, /^BalancedSoftmaxLoss: classCounts must be .*; received undefined/],
    [{ classCounts: [4, -1] }, /^BalancedSoftmaxLoss: classCounts must be .*; received \[4, -1\]/],
    [{ classCounts: [4, 1], fromLogits: 'no' }, /^BalancedSoftmaxLoss: fromLogits must be true or false; received "no"/],
  ])('rejects bad args %j', (args, message) => {
    expect(() => balancedSoftmaxLoss(args as never)).toThrow(message);
  });

  it('rejects yPred whose class count differs from the counts', () => {
    expect(() => balancedSoftmaxLoss({ classCounts: [1, 2, 3, 4] })(tf.tensor1d([0, 1]), handLogits())).toThrow(
      /BalancedSoftmaxLoss: yPred must be \[batch, 4\]; received shape \[2, 3\]/,
    );
  });

  it('leaks no tensor', async () => {
    const loss = balancedSoftmaxLoss({ classCounts: [2, 1, 1] });
    const logits = handLogits();
    const labels = tf.tensor1d([0, 1]);
    await expectNoLeakOnceTrained(loss, labels, logits);
  });
});
