import * as tf from '@tensorflow/tfjs';

import { classCounts } from '../../src/eval/class_counts';
import { longTailAccuracy, perClassAccuracy } from '../../src/eval/long_tail_accuracy';
import { expectNoLeak } from '../helpers';

describe('perClassAccuracy', () => {
  it('is correct / total per class, null for a class without test examples', () => {
    //            class 0: 2 of 3 right; class 1: 0 of 1; class 2: none; class 3: 1 of 1
    const labels = [0, 0, 0, 1, 3];
    const predictions = [0, 2, 0, 0, 3];
    expect(perClassAccuracy(predictions, labels, 4)).toEqual([2 / 3, 0, null, 1]);
  });

  it('rejects predictions and labels of different lengths', () => {
    expect(() => perClassAccuracy([0, 1], [0], 2)).toThrow('predictions has 2 examples but labels has 1.');
  });

  it('rejects an out-of-range prediction, naming it', () => {
    expect(() => perClassAccuracy([0, 5], [0, 1], 2)).toThrow('predictions[1] is 5; class indices must be integers in [0, 1].');
  });
});

describe('longTailAccuracy', () => {
  // Training counts -> groups: many [0, 1] (> 100), medium [2] (20..100), few [] (empty).
  const trainCounts = [300, 150, 40];
  //                 class 0 (2 test) | class 1 (4 test)  | class 2 (2 test)
  const labels = [0, 0, 1, 1, 1, 1, 2, 2];
  const predictions = [0, 1, 1, 1, 1, 0, 0, 0];
  // per class: 1/2, 3/4, 0/2; overall 4/8

  it('averages per-class accuracies within each group and reports an empty group as null', () => {
    const result = longTailAccuracy(predictions, labels, trainCounts);
    expect(result.overall).toBe(0.5);
    expect(result.perClass).toEqual([0.5, 0.75, 0]);
    expect(result.groups.many).toEqual({ classes: [0, 1], accuracy: (0.5 + 0.75) / 2 }); // not 4/6, the pooled rate
    expect(result.groups.medium).toEqual({ classes: [2], accuracy: 0 }); // a real 0 stays 0
    expect(result.groups.few).toEqual({ classes: [], accuracy: null });
  });

  it('gives 1 everywhere when all predictions are right and 0 when all are wrong', () => {
    const right = longTailAccuracy(labels, labels, [300, 50, 5]);
    expect([right.overall, right.groups.many.accuracy, right.groups.medium.accuracy, right.groups.few.accuracy]).toEqual([1, 1, 1, 1]);
    const wrong = longTailAccuracy(labels.map((l) => (l + 1) % 3), labels, [300, 50, 5]);
    expect([wrong.overall, wrong.groups.many.accuracy, wrong.groups.medium.accuracy, wrong.groups.few.accuracy]).toEqual([0, 0, 0, 0]);
  });

  it('reports a group whose classes have no test example as null', () => {
    const result = longTailAccuracy([0, 0], [0, 0], [300, 5]);
    expect(result.perClass).toEqual([1, null]);
    expect(result.groups.few).toEqual({ classes: [1], accuracy: null });
  });

  it('takes logits and one-hot labels as tensors, and leaks nothing', async () => {
    const logits = tf.tensor2d([[2, 1, 0], [0, 3, 1], [5, 0, 0], [0, 0, -1]]); // argmax 0, 1, 0, 0
    const oneHot = tf.oneHot(tf.tensor1d([0, 1, 2, 2], 'int32'), 3);
    await expectNoLeak(() => {
      const result = longTailAccuracy(logits, oneHot, trainCounts);
      expect(result.perClass).toEqual([1, 1, 0]);
      expect(result.overall).toBe(0.5);
    });
    tf.dispose([logits, oneHot]);
  });

  it('rejects empty labels', () => {
    expect(() => longTailAccuracy([], [], [300, 5])).toThrow('labels is empty');
  });
});

describe('classCounts', () => {
  it('counts sparse labels from an array, including absent classes', () => {
    expect(classCounts([0, 2, 2, 1, 2], 4)).toEqual([1, 1, 3, 0]);
  });

  it('counts sparse [N] and [N, 1] tensors and one-hot [N, C] tensors alike, leaking nothing', async () => {
    const sparse = tf.tensor1d([3, 0, 3, 3], 'int32');
    const column = tf.tensor2d([[3], [0], [3], [3]], [4, 1], 'float32');
    const oneHot = tf.oneHot(sparse, 4);
    await expectNoLeak(() => {
      expect(classCounts(sparse, 4)).toEqual([1, 0, 0, 3]);
      expect(classCounts(column, 4)).toEqual([1, 0, 0, 3]);
      expect(classCounts(oneHot, 4)).toEqual([1, 0, 0, 3]);
    });
    tf.dispose([sparse, column, oneHot]);
  });

  it('rejects labels outside [0, numClasses) and tensors of another shape', () => {
    expect(() => classCounts([0, 4], 4)).toThrow('labels[1] is 4; class indices must be integers in [0, 3].');
    expect(() => classCounts([0, 1.5], 4)).toThrow('labels[1] is 1.5');
    const cube = tf.zeros([2, 2, 2]);
    expect(() => classCounts(cube, 4)).toThrow('labels must be class indices [N] / [N, 1] or one-hot / scores [N, 4]; received shape [2, 2, 2].');
    cube.dispose();
    expect(() => classCounts([0], 0)).toThrow('numClasses must be an integer >= 1; received 0.');
  });
});
