import type * as tf from '@tensorflow/tfjs-core';

import { checkNumClasses, toClassIndices } from './class_indices';
import type { GroupAccuracy } from './long_tail_accuracy';
import { SHOT_GROUPS, SHOT_THRESHOLDS, shotGroups, type ShotGroup, type ShotThresholds } from './shot_groups';

/**
 * Balanced accuracy (mean per-class accuracy) and shot-group accuracy from per-class counts of
 * correct predictions, so that callers which count on the device (one host read per pass) and
 * callers with class indices on the host share one definition.
 */

/** Per-class counts of one evaluation pass: `correct[c]` of the `total[c]` examples of class c were predicted c. */
export interface PerClassTally {
  /** Correct predictions per class, length numClasses. */
  readonly correct: readonly number[];
  /** Evaluation examples per class, length numClasses. */
  readonly total: readonly number[];
}

/** Accuracies of one evaluation pass. Fractions in [0, 1]. */
export interface ClassBalancedAccuracy {
  /** Correct predictions / examples (pooled top-1 accuracy). */
  readonly overall: number;
  /**
   * Mean of the per-class accuracies over the classes that have evaluation examples (classes
   * without any are left out, not counted as 0). Equals `overall` on a class-balanced set.
   */
  readonly balanced: number;
  /** Accuracy of each class; `null` for a class without evaluation examples. */
  readonly perClass: readonly (number | null)[];
  /**
   * Many-, medium- and few-shot accuracy (each the mean of its classes' accuracies, `null` for an
   * empty group), or `null` when no training class counts were given.
   */
  readonly groups: Readonly<Record<ShotGroup, GroupAccuracy>> | null;
}

/**
 * Counts correct predictions per class.
 *
 * @param predictions predicted class indices `[N]` (array or tensor) or scores `[N, numClasses]`
 *   (argmax taken). Not disposed.
 * @param labels true class indices `[N]` / `[N, 1]` or one-hot `[N, numClasses]`. Not disposed.
 * @param numClasses C, integer >= 1.
 * @throws Error when lengths differ or a value is not a class index in [0, C).
 */
export function tallyByClass(
  predictions: tf.Tensor | ArrayLike<number>,
  labels: tf.Tensor | ArrayLike<number>,
  numClasses: number,
): PerClassTally {
  checkNumClasses(numClasses);
  const predicted = toClassIndices(predictions, numClasses, 'predictions');
  const actual = toClassIndices(labels, numClasses, 'labels');
  if (predicted.length !== actual.length) {
    throw new Error(`tallyByClass: predictions must have as many examples as labels (${actual.length}); received ${predicted.length}.`);
  }
  const correct = new Array<number>(numClasses).fill(0);
  const total = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < actual.length; i++) {
    total[actual[i]]++;
    if (predicted[i] === actual[i]) correct[actual[i]]++;
  }
  return { correct, total };
}

/**
 * Overall, balanced and shot-group accuracy from per-class counts.
 *
 * @param tally per-class correct and total counts (same length C).
 * @param trainClassCounts TRAINING examples per class (length C) defining the shot groups, or
 *   `null` for no groups.
 * @param thresholds shot-group boundaries (default many-shot > 100, few-shot < 20).
 * @throws Error when the lengths differ, a count is negative or correct > total, or no class
 *   has an example (accuracy is undefined).
 */
export function accuracyFromTally(
  tally: PerClassTally,
  trainClassCounts: readonly number[] | null = null,
  thresholds: ShotThresholds = SHOT_THRESHOLDS,
): ClassBalancedAccuracy {
  const { correct, total } = tally;
  const numClasses = total.length;
  if (correct.length !== numClasses || (trainClassCounts != null && trainClassCounts.length !== numClasses)) {
    throw new Error(
      `accuracyFromTally: correct, total and trainClassCounts must have one entry per class; received lengths ` +
        `${correct.length}, ${numClasses}${trainClassCounts == null ? '' : `, ${trainClassCounts.length}`}.`,
    );
  }
  let examples = 0;
  let right = 0;
  const perClass = total.map((n, c) => {
    if (!(n >= 0) || !(correct[c] >= 0) || correct[c] > n) {
      throw new Error(`accuracyFromTally: class ${c} must have 0 <= correct <= total; received correct ${correct[c]}, total ${n}.`);
    }
    examples += n;
    right += correct[c];
    return n === 0 ? null : correct[c] / n;
  });
  if (examples === 0) throw new Error('accuracyFromTally: total must count at least one example; received 0.');
  const balanced = mean(perClass.filter((a): a is number => a !== null)) as number;

  let groups: Record<ShotGroup, GroupAccuracy> | null = null;
  if (trainClassCounts != null) {
    const members = shotGroups(trainClassCounts, thresholds);
    groups = {} as Record<ShotGroup, GroupAccuracy>;
    for (const group of SHOT_GROUPS) {
      groups[group] = {
        classes: members[group],
        accuracy: mean(members[group].map((c) => perClass[c]).filter((a): a is number => a !== null)),
      };
    }
  }
  return { overall: right / examples, balanced, perClass, groups };
}

/**
 * Balanced accuracy: the mean over classes of the fraction of each class's examples predicted
 * correctly (classes without examples are left out). The usual model-selection score for
 * long-tailed recognition, where the test set is class-balanced.
 *
 * @param predictions class indices `[N]` or scores `[N, numClasses]` (argmax taken). Not disposed.
 * @param labels class indices `[N]` / `[N, 1]` or one-hot `[N, numClasses]`. Not disposed.
 * @returns a fraction in [0, 1].
 * @throws Error as {@link tallyByClass}, or when there are no examples.
 *
 * @example
 * balancedAccuracy([0, 0, 0, 0], [0, 0, 0, 1], 2); // (3/3 + 0/1) / 2 = 0.5, while plain accuracy is 0.75
 */
export function balancedAccuracy(
  predictions: tf.Tensor | ArrayLike<number>,
  labels: tf.Tensor | ArrayLike<number>,
  numClasses: number,
): number {
  return accuracyFromTally(tallyByClass(predictions, labels, numClasses)).balanced;
}

function mean(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((sum, v) => sum + v, 0) / values.length;
}
