import * as tf from '@tensorflow/tfjs-core';

import { resolveArgs } from '../core/args';
import { checkInteger } from '../core/validate';
import { toClassIndices } from '../eval/class_indices';
import { longTailCounts, sampleClassIndices } from './long_tail';

/** Options of {@link longTailSubset}. */
export interface LongTailSubsetOptions {
  /** Number of classes C (integer >= 2); labels are 0 .. C-1 and class 0 becomes the head. */
  readonly numClasses: number;
  /** Imbalance factor IF = n_0 / n_{C-1} (finite, >= 1). Default 100. */
  readonly imbalanceFactor?: number;
  /** Examples kept of the head class, n_0 (integer >= 1). Default 500 (the CIFAR-LT convention). */
  readonly nMax?: number;
  /** Seed of the subsample, integer in [0, 2^32). Default 0. */
  readonly seed?: number;
}

/** What {@link longTailSubset} returns. The tensors are new: dispose them when done. */
export interface LongTailSubset {
  /** The kept rows of `xs`, in their original order: `[sum(classCounts), ...xs.shape.slice(1)]`. */
  readonly xs: tf.Tensor;
  /** The kept rows of `labels`, same layout and dtype as given. */
  readonly labels: tf.Tensor;
  /** Examples kept per class, class 0 first: `floor(nMax * IF^(-c / (C - 1)))`. */
  readonly classCounts: readonly number[];
  /** Row indices into the inputs of the kept examples, ascending. */
  readonly indices: Int32Array;
}

/**
 * Long-tailed subset of any labelled tensors: keeps `floor(nMax * IF^(-c/(C-1)))` randomly
 * chosen examples of class c (the exponential profile of CIFAR-10/100-LT, Cao et al., NeurIPS
 * 2019, §4), reproducibly from `seed`. Each class draws from its own seeded stream, so at one
 * seed a larger imbalance factor keeps a subset of what a smaller one keeps.
 *
 * ```js
 * const lt = longTailSubset(xs, labels, { numClasses: 10, imbalanceFactor: 100 });
 * lt.classCounts; // [500, 299, 179, 107, 64, 38, 23, 13, 8, 5]
 * ```
 *
 * Reads the labels back to the host once (`dataSync`). The inputs are neither changed nor freed.
 *
 * @param xs features, any shape `[N, ...]`, any dtype.
 * @param labels sparse class indices `[N]` / `[N, 1]` or one-hot `[N, numClasses]`.
 * @throws Error naming the argument when an option is out of range, when `xs` and `labels`
 *   differ in N, when a label is not a class index, or when a class has fewer examples than
 *   its count needs.
 */
export function longTailSubset(xs: tf.Tensor, labels: tf.Tensor, options: LongTailSubsetOptions): LongTailSubset {
  const owner = 'longTailSubset';
  for (const [name, value] of [['xs', xs], ['labels', labels]] as const) {
    if (!(value instanceof tf.Tensor)) throw new Error(`${owner}: ${name} must be a tf.Tensor; received ${typeof value}.`);
  }
  const args = resolveArgs(owner, options, { imbalanceFactor: 100, nMax: 500, seed: 0 }, '{numClasses: 10, imbalanceFactor: 100}');
  const numClasses = checkInteger(`${owner}: numClasses`, args.numClasses, 2);
  if (xs.rank === 0 || labels.rank === 0 || xs.shape[0] !== labels.shape[0]) {
    throw new Error(
      `${owner}: xs and labels must have the same number of rows; received xs shape [${xs.shape.join(', ')}] and labels shape [${labels.shape.join(', ')}].`,
    );
  }
  const classCounts = longTailCounts({ numClasses, imbalanceFactor: args.imbalanceFactor, nMax: args.nMax });
  const indices = sampleClassIndices(toClassIndices(labels, numClasses, 'labels'), classCounts, args.seed);
  return tf.tidy(() => {
    const rows = tf.tensor1d(indices, 'int32');
    return { xs: tf.gather(xs, rows), labels: tf.gather(labels, rows), classCounts, indices };
  });
}
