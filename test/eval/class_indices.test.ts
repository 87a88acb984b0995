import * as tf from '@tensorflow/tfjs';

import { toClassIndices, toClassIndicesAsync } from '../../src/eval/class_indices';
import { expectNoLeak } from '../helpers';

describe('toClassIndices / toClassIndicesAsync', () => {
  const cases: Array<[string, () => tf.Tensor | number[]]> = [
    ['an array', () => [2, 0, 1]],
    ['a [N] int32 tensor', () => tf.tensor1d([2, 0, 1], 'int32')],
    ['a [N, 1] float tensor', () => tf.tensor2d([[2], [0], [1]])],
    ['one-hot rows', () => tf.oneHot(tf.tensor1d([2, 0, 1], 'int32'), 3)],
    ['scores (their argmax)', () => tf.tensor2d([[0.1, 0.2, 0.7], [0.5, 0.3, 0.2], [-1, 4, 2]])],
  ];

  it.each(cases)('read %s the same way, synchronously and asynchronously', async (_name, make) => {
    const values = make();
    expect(Array.from(toClassIndices(values, 3, 'labels'))).toEqual([2, 0, 1]);
    const indices = await toClassIndicesAsync(values, 3, 'labels');
    expect(indices).toBeInstanceOf(Int32Array);
    expect(Array.from(indices)).toEqual([2, 0, 1]);
    if (values instanceof tf.Tensor) {
      expect(values.isDisposed).toBe(false); // the caller's tensor is left alone
      values.dispose();
    }
  });

  it('the async form reads without dataSync (backends without synchronous reads: webgpu in Node)', async () => {
    const labels = tf.oneHot(tf.tensor1d([1, 0], 'int32'), 2);
    const spy = jest.spyOn(tf.Tensor.prototype, 'dataSync').mockImplementation(() => {
      throw new Error('synchronous reads are not available');
    });
    try {
      expect(Array.from(await toClassIndicesAsync(labels, 2, 'labels'))).toEqual([1, 0]);
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
      labels.dispose();
    }
  });

  it('the async form gives the same errors', async () => {
    await expect(toClassIndicesAsync(tf.tensor1d([0, 3]), 3, 'labels')).rejects.toThrow('labels[1] is 3; class indices must be integers in [0, 2].');
    await expect(toClassIndicesAsync(tf.tensor1d([0.5]), 3, 'labels')).rejects.toThrow('labels[0] is 0.5; class indices must be integers in [0, 2].');
    await expect(toClassIndicesAsync(tf.zeros([2, 4]), 3, 'predictions')).rejects.toThrow(
      'predictions must be class indices [N] / [N, 1] or one-hot / scores [N, 3]; received shape [2, 4].',
    );
    expect(() => toClassIndices(tf.zeros([2, 4]), 3, 'predictions')).toThrow('received shape [2, 4].');
  });

  it('leaks no tensor, also when it throws', async () => {
    const scores = tf.tensor2d([[0.1, 0.9], [0.8, 0.2]]);
    const bad = tf.tensor1d([0, 5]);
    await expectNoLeak(async () => {
      toClassIndices(scores, 2, 'labels');
      await toClassIndicesAsync(scores, 2, 'labels');
      await expect(toClassIndicesAsync(bad, 2, 'labels')).rejects.toThrow();
    });
    tf.dispose([scores, bad]);
  });
});
