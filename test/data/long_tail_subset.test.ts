import * as tf from '@tensorflow/tfjs';

import { longTailSubset } from '../../src/data/long_tail_subset';
import { sampleClassIndices } from '../../src/data/long_tail';

// 3 classes of 8 examples each, labels 0,1,2,0,1,2,...; feature = row number.
const N = 24;
const labelValues = Array.from({ length: N }, (_, i) => i % 3);
const rowValues = Array.from({ length: N }, (_, i) => i);

describe('longTailSubset', () => {
  it('keeps floor(nMax * IF^(-c/(C-1))) rows per class, the same rows sampleClassIndices picks', () => {
    const xs = tf.tensor2d(rowValues, [N, 1]);
    const labels = tf.tensor1d(labelValues, 'int32');
    const lt = longTailSubset(xs, labels, { numClasses: 3, imbalanceFactor: 4, nMax: 8, seed: 3 });
    expect(lt.classCounts).toEqual([8, 4, 2]);
    expect(Array.from(lt.indices)).toEqual(Array.from(sampleClassIndices(labelValues, [8, 4, 2], 3)));
    // Row i has feature i and label i % 3: the kept rows stay paired.
    const keptRows = Array.from(lt.xs.dataSync());
    expect(keptRows).toEqual(Array.from(lt.indices));
    expect(Array.from(lt.labels.dataSync())).toEqual(keptRows.map((r) => r % 3));
    expect(lt.labels.dtype).toBe('int32');
    tf.dispose([xs, labels, lt.xs, lt.labels]);
  });

  it('accepts one-hot labels and returns them one-hot, leaving the inputs alive', () => {
    const xs = tf.tensor2d(rowValues, [N, 1]);
    const labels = tf.oneHot(tf.tensor1d(labelValues, 'int32'), 3);
    const before = tf.memory().numTensors;
    const lt = longTailSubset(xs, labels, { numClasses: 3, imbalanceFactor: 8, nMax: 8 });
    expect(tf.memory().numTensors).toBe(before + 2);
    expect(lt.labels.shape).toEqual([8 + 2 + 1, 3]);
    expect(tf.sum(lt.labels, 0).arraySync()).toEqual([8, 2, 1]);
    expect(xs.isDisposed || labels.isDisposed).toBe(false);
    tf.dispose([xs, labels, lt.xs, lt.labels]);
  });

  it('names the problem: row mismatch, too few examples, bad numClasses', () => {
    const xs = tf.zeros([N, 1]);
    const labels = tf.tensor1d(labelValues, 'int32');
    expect(() => longTailSubset(tf.zeros([5, 1]), labels, { numClasses: 3 })).toThrow(
      'longTailSubset: xs and labels must have the same number of rows; received xs shape [5, 1] and labels shape [24].',
    );
    expect(() => longTailSubset(xs, labels, { numClasses: 3, imbalanceFactor: 2, nMax: 9 })).toThrow('Class 0 has 8 examples but 9 are needed.');
    expect(() => longTailSubset(xs, labels, { numClasses: 1 })).toThrow('longTailSubset: numClasses must be an integer >= 2; received 1.');
    tf.dispose([xs, labels]);
  });
});
