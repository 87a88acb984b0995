import type * as tf from '@tensorflow/tfjs-core';

import { checkNumClasses, toClassIndices } from './class_indices';
import { SHOT_GROUPS, SHOT_THRESHOLDS, shotGroups, type ShotGroup, type ShotThresholds } from './shot_groups';

/** Accuracy of one shot group. */
export interface GroupAccuracy {
  /** Classes in the group (by training count). */
  readonly classes: readonly number[];
  /**
   * Mean of the per-class accuracies of the group's classes that have test examples, in [0, 1];
   * `null` when the group is empty (or none of its classes has a test example), never 0.
   */
  readonly accuracy: number | null;
}

/** Top-1 accuracy on a (normally balanced) test set, overall and by shot group. Fractions in [0, 1]. */
export interface LongTailAccuracy {
  /** Correct predictions / test examples. */
  readonly overall: number;
  /** Accuracy of each class on its test examples; `null` for a class with none. */
  readonly perClass: readonly (number | null)[];
  /**
   * Many-, medium- and few-shot accuracy (keys `'many'`, `'medium'`, `'few'`), each the mean of
   * its classes' per-class accuracies; an empty group has accuracy `null`.
   */
  readonly groups: Readonly<Record<ShotGroup, GroupAccuracy>>;
}

/**
 * Top-1 accuracy of each class: correct predictions among the test examples of the class.
 *
 * @param predictions predicted class indices `[N]` (array or tensor) or scores `[N, numClasses]`
 *   (logits or probabilities: their argmax is taken). Not disposed.
 * @param labels true class indices `[N]` or one-hot `[N, numClasses]`. Not disposed.
 * @returns length `numClasses`, values in [0, 1], `null` for a class without test examples.
 * @throws Error when lengths differ or a value is not a class index.
 */
export function perClassAccuracy(
  predictions: tf.Tensor | ArrayLike<number>,
  labels: tf.Tensor | ArrayLike<number>,
  numClasses: number,
): (number | null)[] {
  checkNumClasses(numClasses);
  const predicted = toClassIndices(predictions, numClasses, 'predictions');
  const actual = toClassIndices(labels, numClasses, 'labels');
  if (predicted.length !== actual.length) {
    throw new Error(`predictions has ${predicted.length} examples but labels has ${actual.length}.`);
  }
  const correct = new Array<number>(numClasses).fill(0);
  const total = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < actual.length; i++) {
    total[actual[i]]++;
    if (predicted[i] === actual[i]) correct[actual[i]]++;
  }
  return total.map((n, c) => (n === 0 ? null : correct[c] / n));
}

/**
 * Overall top-1 accuracy and many/medium/few-shot accuracy, the evaluation convention of
 * long-tailed recognition: a group's accuracy is the mean of its classes' accuracies
 * (so every class weighs the same whatever its number of test examples), and an empty
 * group is reported as `null`, not 0.
 *
 * @param predictions predicted class indices `[N]` or scores `[N, C]` (see {@link perClassAccuracy}).
 * @param labels true class indices `[N]` or one-hot `[N, C]`.
 * @param trainClassCounts TRAINING examples per class (defines the groups and C).
 * @param thresholds group boundaries; default many > 100, few < 20.
 *
 * @example
 * // Train counts 200, 50, 50 -> groups many [0], medium [1, 2], few [] (null).
 * longTailAccuracy([0, 0, 1, 0], [0, 1, 1, 2], [200, 50, 50]);
 * // {overall: 0.5, perClass: [1, 0.5, 0], groups: {many: {accuracy: 1}, medium: {accuracy: 0.25}, few: {accuracy: null}}}
 */
export function longTailAccuracy(
  predictions: tf.Tensor | ArrayLike<number>,
  labels: tf.Tensor | ArrayLike<number>,
  trainClassCounts: readonly number[],
  thresholds: ShotThresholds = SHOT_THRESHOLDS,
): LongTailAccuracy {
  const numClasses = trainClassCounts.length;
  checkNumClasses(numClasses);
  const predicted = toClassIndices(predictions, numClasses, 'predictions');
  const actual = toClassIndices(labels, numClasses, 'labels');
  const perClass = perClassAccuracy(predicted, actual, numClasses);
  let correct = 0;
  for (let i = 0; i < actual.length; i++) if (predicted[i] === actual[i]) correct++;
  if (actual.length === 0) throw new Error('labels is empty: accuracy needs at least one test example.');

  const members = shotGroups(trainClassCounts, thresholds);
  const groups = {} as Record<ShotGroup, GroupAccuracy>;
  for (const group of SHOT_GROUPS) {
    const measured = members[group].map((c) => perClass[c]).filter((a): a is number => a !== null);
    groups[group] = {
      classes: members[group],
      accuracy: measured.length === 0 ? null : measured.reduce((sum, a) => sum + a, 0) / measured.length,
    };
  }
  return { overall: correct / actual.length, perClass, groups };
}
