import * as tf from '@tensorflow/tfjs';

import {
  addStatistics,
  classVectorSimilaritySums,
  gradientMatrix,
  rowCoefficientOfVariation,
  softmaxBackward,
  statisticsFromMatrix,
  toRows,
} from '../../../src/callbacks/gradient_monitor/gradient_statistics';
import { expectClose, expectNoLeak } from '../../helpers';

describe('gradientMatrix', () => {
  it('puts |dL/dz_ij| summed over class-k samples at [j][k]', () => {
    // Two samples of class 0, one of class 2.
    const grads = tf.tensor2d([[-0.5, 0.25, 0.25], [-0.25, 0.5, -0.25], [0.125, 0.125, -0.25]]);
    const oneHot = tf.tensor2d([[1, 0, 0], [1, 0, 0], [0, 0, 1]]);
    // Column 0 = |row 0| + |row 1|, column 1 = 0, column 2 = |row 2|.
    expectClose(gradientMatrix(grads, oneHot), [0.75, 0, 0.125, 0.75, 0, 0.125, 0.5, 0, 0.25]);
  });

  it('counts non-finite gradients as 0', () => {
    const grads = tf.tensor2d([[NaN, 1], [Infinity, -2]]);
    expectClose(gradientMatrix(grads, tf.tensor2d([[1, 0], [0, 1]])), [0, 0, 1, 2]);
  });

  it('leaks nothing', async () => {
    const g = tf.ones([4, 3]) as tf.Tensor2D;
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0], 'int32'), 3) as tf.Tensor2D;
    await expectNoLeak(() => tf.dispose(gradientMatrix(g, y)));
  });
});

describe('softmaxBackward', () => {
  it('equals the gradient tfjs backpropagates through softmax', () => {
    const z = tf.tensor2d([[1, 2, 0], [0.5, -1, 3]]);
    const weights = tf.tensor2d([[0.3, -2, 1], [4, 0.1, -0.7]]);
    const f = (logits: tf.Tensor) => tf.sum(tf.mul(tf.square(tf.softmax(logits)), weights));
    const expected = tf.grad(f)(z);
    const p = tf.softmax(z) as tf.Tensor2D;
    const dp = tf.grad((q: tf.Tensor) => tf.sum(tf.mul(tf.square(q), weights)))(p) as tf.Tensor2D;
    expectClose(softmaxBackward(dp, p), expected, 1e-5);
  });
});

describe('classVectorSimilaritySums', () => {
  it('sums cos(w_j, f_i) over the samples of class j', () => {
    const features = tf.tensor2d([[3, 4], [1, 0], [0, 2]]);
    const kernel = tf.tensor2d([[1, 0], [0, 5]]); // w_0 = (1, 0), w_1 = (0, 5)
    const oneHot = tf.tensor2d([[1, 0], [1, 0], [0, 1]]);
    // class 0: cos((3,4),(1,0)) + cos((1,0),(1,0)) = 0.6 + 1; class 1: cos((0,2),(0,5)) = 1.
    expectClose(classVectorSimilaritySums(features, kernel, oneHot), [1.6, 1]);
  });

  it('counts a zero feature vector as similarity 0', () => {
    expectClose(classVectorSimilaritySums(tf.zeros([1, 2]) as tf.Tensor2D, tf.eye(2) as tf.Tensor2D, tf.tensor2d([[1, 0]])), [0, 0]);
  });
});

describe('statisticsFromMatrix', () => {
  const matrix = [
    [2, 1, 3],
    [0.5, 4, 0],
    [1, 0, 1],
  ];
  const stats = statisticsFromMatrix(matrix, [5, 2, 1]);

  it('splits positive (diagonal) from negative (off-diagonal) and sums rows and columns', () => {
    expect(stats.positive).toEqual([2, 4, 1]);
    expect(stats.negative).toEqual([
      [0, 1, 3],
      [0.5, 0, 0],
      [1, 0, 0],
    ]);
    expect(stats.negativeReceived).toEqual([4, 0.5, 1]);
    expect(stats.negativeEmitted).toEqual([1.5, 1, 3]);
    expect(stats.ratio).toEqual([0.5, 8, 1]);
    expect(stats.samples).toEqual([5, 2, 1]);
  });

  it('gives a null ratio when nothing was received', () => {
    expect(statisticsFromMatrix([[1, 0], [2, 3]], [1, 1]).ratio).toEqual([null, 1.5]);
  });

  it('adds records elementwise and recomputes the ratio', () => {
    const sum = addStatistics(stats, stats);
    expect(sum.positive).toEqual([4, 8, 2]);
    expect(sum.negative[0]).toEqual([0, 2, 6]);
    expect(sum.samples).toEqual([10, 4, 2]);
    expect(sum.ratio).toEqual(stats.ratio);
  });

  it('splits flat row-major data into rows', () => {
    expect(toRows(new Float32Array([1, 2, 3, 4, 5, 6]), 3)).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
  });
});

describe('rowCoefficientOfVariation', () => {
  it('is std / mean of each row without its diagonal, null for an all-zero row', () => {
    const cv = rowCoefficientOfVariation([
      [9, 1, 3],
      [2, 9, 2],
      [0, 0, 9],
    ]);
    // Row 0: {1, 3}: mean 2, std 1 -> 0.5. Row 1: {2, 2} -> 0. Row 2: {0, 0} -> null.
    expect(cv).toEqual([0.5, 0, null]);
  });
});
