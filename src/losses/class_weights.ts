import { checkPositiveClassArray } from '../core/class_frequencies';
import { checkNumber, checkNumberArray } from '../core/validate';

/**
 * Per-class loss weights from class counts, for tfjs's `fit({classWeight})` (through
 * {@link toClassWeightMap}), {@link FocalLoss}'s `alpha`, or {@link LDAMLoss} class weights.
 * All are normalised to sum to numClasses, so a balanced dataset gets weight 1 everywhere.
 */

/**
 * Class-balanced weights from the effective number of samples.
 *
 * Cui et al., "Class-Balanced Loss Based on Effective Number of Samples", CVPR 2019
 * (https://arxiv.org/abs/1901.05555). The effective number of n samples is (1 - beta^n) / (1 - beta):
 *
 * ```text
 * w_j = (1 - beta) / (1 - beta^(n_j)),   then scaled so that sum_j w_j = numClasses
 * ```
 *
 * beta = 0 gives equal weights, beta -> 1 inverse-frequency weights. The default 0.9999 is the
 * value Cao et al. use for deferred re-weighting. 1 - beta^n is computed as -expm1(n log beta),
 * which keeps its precision when beta is close to 1.
 *
 * @param classCounts training samples per class, each > 0, at least 2 classes.
 * @param beta in [0, 1).
 * @returns one weight per class, in class order (larger for rarer classes).
 * @throws Error on invalid arguments (naming the argument, the value and what is allowed).
 */
export function effectiveNumberWeights(classCounts: readonly number[], beta = 0.9999): number[] {
  const counts = checkPositiveClassArray('effectiveNumberWeights: classCounts', classCounts);
  if (typeof beta !== 'number' || !(beta >= 0 && beta < 1)) {
    const received = typeof beta === 'string' ? JSON.stringify(beta) : String(beta);
    throw new Error(`effectiveNumberWeights: beta must be a finite number >= 0 and < 1; received ${received}.`);
  }
  // beta = 0: log(0) = -Infinity, expm1(-Infinity) = -1, so every weight is 1.
  const raw = counts.map((n) => (1 - beta) / -Math.expm1(n * Math.log(beta)));
  return scaleToClassCount(raw);
}

/**
 * Inverse-frequency weights w_j proportional to 1 / n_j^power, scaled so that
 * sum_j w_j = numClasses. power = 1 (default) is plain inverse frequency; 0.5 the milder
 * inverse square root.
 *
 * @param classCounts training samples per class, each > 0, at least 2 classes.
 * @param power >= 0.
 * @throws Error on invalid arguments (naming the argument, the value and what is allowed).
 */
export function inverseFrequencyWeights(classCounts: readonly number[], power = 1): number[] {
  const counts = checkPositiveClassArray('inverseFrequencyWeights: classCounts', classCounts);
  checkNumber('inverseFrequencyWeights: power', power, { min: 0 });
  return scaleToClassCount(counts.map((n) => Math.pow(n, -power)));
}

/**
 * Turns per-class weights into the object tfjs's `fit` / `fitDataset` option `classWeight`
 * wants: `{0: w_0, 1: w_1, ...}`. tfjs multiplies each per-sample loss by the weight of its
 * class before the batch mean (the loss must return `[batch]`, as every loss here does).
 *
 * ```js
 * await model.fit(xs, ys, { classWeight: toClassWeightMap(effectiveNumberWeights(classCounts)) });
 * ```
 *
 * @throws Error when `weights` is not an array of finite numbers >= 0.
 */
export function toClassWeightMap(weights: readonly number[]): { [classIndex: number]: number } {
  const values = checkNumberArray('toClassWeightMap: weights', weights, null, 0);
  const map: { [classIndex: number]: number } = {};
  values.forEach((w, j) => {
    map[j] = w;
  });
  return map;
}

function scaleToClassCount(raw: number[]): number[] {
  const total = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => (w * raw.length) / total);
}
