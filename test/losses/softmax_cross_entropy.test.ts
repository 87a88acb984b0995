import * as tf from '@tensorflow/tfjs';

import { resolveArgs } from '../../src/core/args';
import { predictionsToLogits } from '../../src/core/logits';
import { checkLossInputs, softmaxCrossEntropy } from '../../src/losses/softmax_cross_entropy';
import { expectClose, expectNoLeak } from '../helpers';
import { crossEntropy } from './baseline_reference';

describe('softmaxCrossEntropy', () => {
  it('matches tfjs softmaxCrossEntropy per sample and stays finite for huge logits', () => {
    const labels = tf.oneHot(tf.tensor1d([2, 0], 'int32'), 3) as tf.Tensor2D;
    const logits = tf.tensor2d([[0.5, -1, 2], [3, 1, 0]]);
    expectClose(softmaxCrossEntropy(labels, logits), crossEntropy(labels, logits), 1e-6);
    // Label 2 with logits [1e4, 0, 0]: L = 1e4 exactly (log-sum-exp after max subtraction).
    expectClose(softmaxCrossEntropy(labels, tf.tensor2d([[1e4, 0, 0], [1e4, 0, 0]])), [1e4, 0], 1e-6);
  });
});

describe('predictionsToLogits', () => {
  it('passes logits through as float32 and takes the log of clipped probabilities', () => {
    expect(predictionsToLogits(tf.tensor2d([[1, 2]], [1, 2], 'int32'), true).dtype).toBe('float32');
    // A zero probability becomes log(1e-7) instead of -Infinity.
    expectClose(predictionsToLogits(tf.tensor2d([[0, 1]]), false), [Math.log(1e-7), 0], 1e-5);
  });

  it('leaks no tensor', async () => {
    const p = tf.tensor2d([[0.2, 0.8]]);
    await expectNoLeak(() => predictionsToLogits(p, false).dispose());
  });
});

describe('checkLossInputs', () => {
  it('returns the class count and names both shapes on a mismatch', () => {
    expect(checkLossInputs('X', tf.zeros([4]), tf.zeros([4, 5]), null)).toBe(5);
    expect(() => checkLossInputs('X', tf.zeros([4]), tf.zeros([4, 1]), null)).toThrow(/X: yPred must be \[batch, numClasses\] with numClasses >= 2; received shape \[4, 1\]/);
    expect(() => checkLossInputs('X', tf.zeros([3]), tf.zeros([4, 5]), 5)).toThrow(/X: yTrue and yPred must have the same batch size; received yTrue shape \[3\] and yPred shape \[4, 5\]/);
    expect(() => checkLossInputs('X', tf.scalar(1), tf.zeros([1, 5]), 5)).toThrow(/same batch size/);
  });
});

describe('resolveArgs', () => {
  it('fills defaults, ignores undefined values and rejects non-objects', () => {
    expect(resolveArgs('X', { a: undefined, b: 2 }, { a: 1, b: 1 }, '{}')).toEqual({ a: 1, b: 2 });
    expect(resolveArgs('X', undefined, { a: 1 }, '{}')).toEqual({ a: 1 });
    expect(() => resolveArgs('X', [] as never, {}, '{a: 1}')).toThrow(/^X: args must be an object like \{a: 1\}; received /);
    expect(() => resolveArgs('X', null as never, {}, '{a: 1}')).toThrow(/received null/);
  });
});
