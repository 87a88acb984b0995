import type * as tf from '@tensorflow/tfjs-core';

import { checkNumClasses, toClassIndices } from './class_indices';

/**
 * Number of examples of each class, for example the training class counts that define shot
 * groups and the priors of logit adjustment.
 *
 * @param labels sparse class indices (array, `[N]` or `[N, 1]` tensor, any numeric dtype) or
 *   one-hot `[N, numClasses]` (each row counts for its argmax). Not disposed.
 * @param numClasses number of classes C; classes absent from `labels` count 0.
 * @returns counts, length C, class 0 first.
 * @throws Error for a label that is not an integer in [0, C), or a tensor of another shape.
 *
 * @example
 * classCounts([0, 2, 2, 1, 2], 4); // [1, 1, 3, 0]
 */
export function classCounts(labels: tf.Tensor | ArrayLike<number>, numClasses: number): number[] {
  checkNumClasses(numClasses);
  const counts = new Array<number>(numClasses).fill(0);
  for (const label of toClassIndices(labels, numClasses, 'labels')) counts[label]++;
  return counts;
}
