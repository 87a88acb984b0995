/**
 * Long-tailed subsampling of a balanced dataset, the "exponential profile" used for
 * CIFAR-10/100-LT (Cao et al., "Learning Imbalanced Datasets with Label-Distribution-Aware
 * Margin Loss", NeurIPS 2019, §4) and for Fashion-MNIST-LT in this package's demo:
 *
 *     n_c = floor(nMax * IF^(-c / (C - 1)))    for class c = 0 .. C-1
 *
 * Class 0 is the head (nMax samples) and class C-1 the tail (nMax / IF samples), so the
 * imbalance factor IF = max n / min n. Pure functions: no Node APIs, no tfjs.
 */

import { checkSeed, deriveSeed, mulberry32, shuffleInPlace } from './random';

/** Options of the long-tailed profile. */
export interface LongTailOptions {
  /** Number of classes C (integer >= 2). */
  readonly numClasses: number;
  /** Imbalance factor IF = n_0 / n_{C-1} (finite, >= 1; 1 is balanced). Conventional values: 10, 50, 100. */
  readonly imbalanceFactor: number;
  /** Samples of the head class, n_0 (integer >= 1). 500 is the CIFAR-LT convention. */
  readonly nMax: number;
}

// Relative slack before flooring, so that a profile value that is an integer in exact
// arithmetic (e.g. 500 * 8^(-1/3) = 250) is not floored to one less by rounding error.
const FLOOR_SLACK = 1e-9;

/**
 * Per-class sample counts of the exponential long-tailed profile.
 *
 * Example: `longTailCounts({numClasses: 10, imbalanceFactor: 100, nMax: 500})` is
 * `[500, 299, 179, 107, 64, 38, 23, 13, 8, 5]`.
 *
 * @returns counts, length `numClasses`, non-increasing, class 0 first.
 * @throws Error naming the argument when one is out of range, or when the tail class would
 *   get no sample (`nMax` < `imbalanceFactor`).
 */
export function longTailCounts(options: LongTailOptions): number[] {
  const { numClasses, imbalanceFactor, nMax } = options;
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new Error(`numClasses must be an integer >= 2; received ${numClasses}.`);
  }
  if (!Number.isFinite(imbalanceFactor) || imbalanceFactor < 1) {
    throw new Error(`imbalanceFactor must be a finite number >= 1; received ${imbalanceFactor}.`);
  }
  if (!Number.isInteger(nMax) || nMax < 1) {
    throw new Error(`nMax must be an integer >= 1; received ${nMax}.`);
  }
  const counts: number[] = [];
  for (let c = 0; c < numClasses; c++) {
    const exact = nMax * Math.pow(imbalanceFactor, -c / (numClasses - 1));
    counts.push(Math.floor(exact * (1 + FLOOR_SLACK)));
  }
  if (counts[numClasses - 1] < 1) {
    throw new Error(
      `nMax ${nMax} with imbalanceFactor ${imbalanceFactor} leaves the tail class with no sample ` +
        `(floor(${nMax} / ${imbalanceFactor}) = 0): nMax must be >= imbalanceFactor.`,
    );
  }
  return counts;
}

/**
 * Chooses `counts[c]` examples of each class c at random, reproducibly from `seed`.
 *
 * Each class draws from its own stream (derived from `seed` and c): the examples of a class
 * are a prefix of a fixed random permutation of that class, so the choice does not depend on
 * the other classes, and a smaller count picks a subset of a larger one (IF 100 is nested in
 * IF 10 at the same seed and nMax).
 *
 * @param labels class index of every example, integers in [0, counts.length).
 * @param counts examples wanted per class.
 * @param seed integer in [0, 2^32).
 * @returns indices into `labels`, ascending (the source order is kept).
 * @throws Error when a label is out of range, or a class has fewer examples than it needs
 *   (naming the class, what it has and what it needs).
 */
export function sampleClassIndices(labels: ArrayLike<number>, counts: readonly number[], seed: number): Int32Array {
  checkSeed(seed);
  const byClass = indicesByClass(labels, counts.length);
  const chosen: number[] = [];
  counts.forEach((wanted, c) => {
    if (!Number.isInteger(wanted) || wanted < 0) {
      throw new Error(`counts[${c}] must be a non-negative integer; received ${wanted}.`);
    }
    const available = byClass[c];
    if (available.length < wanted) {
      throw new Error(`Class ${c} has ${available.length} examples but ${wanted} are needed.`);
    }
    shuffleInPlace(available, mulberry32(deriveSeed(seed, c)));
    for (let i = 0; i < wanted; i++) chosen.push(available[i]);
  });
  return Int32Array.from(chosen).sort();
}

/** Indices of the examples of each class, in source order. */
function indicesByClass(labels: ArrayLike<number>, numClasses: number): number[][] {
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (!Number.isInteger(label) || label < 0 || label >= numClasses) {
      throw new Error(`labels[${i}] is ${label}; class indices must be integers in [0, ${numClasses - 1}].`);
    }
    byClass[label].push(i);
  }
  return byClass;
}
