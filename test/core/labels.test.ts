/**
 * Labels: the public toOneHot always hands back a tensor the caller owns; the internal
 * oneHotView may hand back its input (no op in the losses' hot path). Both backends.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

import { describeValue, labelLayout, oneHotView, toOneHot } from '../../src/core/labels';
import { expectClose } from '../helpers';

const ONE_HOT = [
  [1, 0, 0],
  [0, 0, 1],
];

describe.each(['cpu', 'wasm'])('on the %s backend', (backend) => {
  beforeAll(async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    await tf.ready();
  });

  describe('toOneHot', () => {
    it('returns a new tensor for float32 one-hot labels: disposing it leaves the labels alive', () => {
      const labels = tf.tensor2d(ONE_HOT, undefined, 'float32');
      const oneHot = toOneHot(labels, 3);
      expect(oneHot).not.toBe(labels);
      expect(oneHot.dtype).toBe('float32');
      expectClose(oneHot, ONE_HOT.flat());
      oneHot.dispose();
      expect(labels.isDisposed).toBe(false);
      expectClose(labels, ONE_HOT.flat());
      labels.dispose();
    });

    it.each<[string, () => tf.Tensor]>([
      ['int32 one-hot', () => tf.tensor2d(ONE_HOT, undefined, 'int32')],
      ['int32 class indices [batch]', () => tf.tensor1d([0, 2], 'int32')],
      ['float32 class indices [batch, 1]', () => tf.tensor2d([[0], [2]])],
    ])('turns %s into a new float32 one-hot matrix and leaves its input alone', (_name, make) => {
      const labels = make();
      const oneHot = toOneHot(labels, 3);
      expect(oneHot).not.toBe(labels);
      expect(oneHot.dtype).toBe('float32');
      expect(oneHot.shape).toEqual([2, 3]);
      expectClose(oneHot, ONE_HOT.flat());
      tf.dispose(oneHot);
      expect(labels.isDisposed).toBe(false);
      labels.dispose();
    });

    it('creates exactly one tensor, its result', () => {
      for (const labels of [tf.tensor2d(ONE_HOT), tf.tensor1d([0, 2], 'int32')]) {
        const before = tf.memory().numTensors;
        const oneHot = toOneHot(labels, 3);
        expect(tf.memory().numTensors).toBe(before + 1);
        tf.dispose([oneHot, labels]);
      }
    });

    it.each<[string, () => unknown, unknown, RegExp]>([
      ['an array', () => [[1, 0, 0]], 3, /^toOneHot: labels must be a numeric tf\.Tensor \(one-hot or class indices\); received an array of length 1\.$/],
      ['a string', () => 'cat', 3, /^toOneHot: labels must be a numeric tf\.Tensor .*; received the string "cat"\.$/],
      ['a string tensor', () => tf.tensor1d(['a']), 3, /^toOneHot: labels must be a numeric tf\.Tensor .*; received Tensor\[1\] string\.$/],
      ['a shape of neither layout', () => tf.zeros([2, 4]), 3, /^toOneHot: labels must be one-hot \[batch, 3\] or sparse class indices \[batch\] \/ \[batch, 1\]; received shape \[2, 4\]\.$/],
      ['numClasses 0', () => tf.zeros([2]), 0, /^toOneHot: numClasses must be an integer >= 1; received number 0\.$/],
      ['numClasses as a string', () => tf.zeros([2]), '3', /^toOneHot: numClasses must be an integer >= 1; received the string "3"\.$/],
    ])('rejects %s, naming the argument and what it received', (_name, labels, numClasses, message) => {
      const value = labels();
      expect(() => toOneHot(value as tf.Tensor, numClasses as number)).toThrow(message);
    });

    it('names the argument as the caller asks', () => {
      expect(() => toOneHot(tf.zeros([2, 4]), 3, 'GalaLoss: yTrue')).toThrow(/^GalaLoss: yTrue must be one-hot \[batch, 3\]/);
    });
  });

  describe('oneHotView (internal)', () => {
    it('returns float32 one-hot labels themselves: no op, nothing to free', () => {
      const labels = tf.tensor2d(ONE_HOT);
      const before = tf.memory().numTensors;
      expect(oneHotView(labels, 3)).toBe(labels);
      expect(tf.memory().numTensors).toBe(before);
      labels.dispose();
    });

    it('returns a new tensor for any other layout, freeing its intermediates', () => {
      const labels = tf.tensor1d([0, 2], 'int32');
      const before = tf.memory().numTensors;
      const oneHot = oneHotView(labels, 3);
      expect(oneHot).not.toBe(labels);
      expect(tf.memory().numTensors).toBe(before + 1);
      expectClose(oneHot, ONE_HOT.flat());
      tf.dispose([oneHot, labels]);
    });
  });
});

describe('labelLayout and describeValue', () => {
  it('reads the layout from the shape alone', () => {
    const before = tf.memory().numTensors;
    const oneHot = tf.zeros([2, 3]);
    const sparse = tf.zeros([2, 1]);
    expect(labelLayout(oneHot, 3, 'y')).toBe('oneHot');
    expect(labelLayout(sparse, 3, 'y')).toBe('sparse');
    expect(labelLayout(tf.zeros([2, 1]), 1, 'y')).toBe('sparse');
    expect(() => labelLayout(tf.zeros([2, 2, 3]), 3, 'y')).toThrow(/^y must be one-hot/);
    expect(tf.memory().numTensors - before).toBe(4);
  });

  it('describes what was received instead of a tensor', () => {
    expect(describeValue(tf.zeros([4, 3]))).toBe('Tensor[4, 3] float32');
    expect(describeValue([1, 2])).toBe('an array of length 2');
    expect(describeValue(null)).toBe('null');
    expect(describeValue({ xs: 1 })).toBe('an object with keys {xs}');
    expect(describeValue(new Float32Array(2))).toBe('a Float32Array');
    expect(describeValue({ shape: [2], dtype: 'float32', dataId: {} })).toMatch(/^a Tensor\[2\] of another copy of tfjs/);
  });
});
