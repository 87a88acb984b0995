import * as tf from '@tensorflow/tfjs-core';
import { formatShape } from '../core/shapes';
import { checkBoolean, checkNumber } from '../core/validate';

/**
 * Prediction re-balancing (Zhang et al., "Gradient-Aware Logit Adjustment Loss for Long-tailed
 * Classifier", ICASSP 2024, arXiv 2403.09036, prediction re-balancing):
 *
 *     p^_ij = p_ij / (m_j)^tau ,   m_j = sum_n p_nj  (mass of class j over the evaluation set)
 *
 * The functions here return p^ normalised per row. Normalising a row does not change its argmax,
 * and multiplying every m_j by the same constant c multiplies a row by c^-tau, which the
 * normalisation removes: only the ratios of the mass matter.
 *
 * Stable form, with l = log p:
 *     log p^_ij - log sum_k p^_ik = (l_ij - tau * log m_j) - logSumExp_k(l_ik - tau * log m_k)
 * that is softmax(l - tau * log m) along the row, and log m_j = logSumExp_n(l_nj), so nothing is
 * exponentiated before a maximum has been taken out (tiny probabilities do not underflow to 0).
 * An entry with p_ij = 0 stays 0 (0 / m^tau); keeping l_ij = -inf there also avoids
 * -inf - (-inf) = NaN when a whole column is 0.
 */

/** Options of {@link rebalancePredictions} and {@link rebalancedArgMax}. */
export interface RebalanceOptions {
  /**
   * Exponent of the class mass, finite and > 0. Default 1, the paper's value on CIFAR; its tuned
   * values are 1.7 (ImageNet-LT), 1.5 (iNaturalist 2018) and 1.4 (Places-LT).
   */
  readonly tau?: number;
  /**
   * Whether the predictions are logits (true, default: what a model trained with a `fromLogits`
   * loss outputs) or probabilities (false: non-negative rows, normalised here if they do not
   * sum to 1 exactly).
   */
  readonly fromLogits?: boolean;
}

/** Default tau: the paper's value on CIFAR-10/100-LT. */
export const DEFAULT_TAU = 1;

/** Throws unless tau is a finite number > 0 (`argName` names it in the message). */
export function checkTau(tau: unknown, argName = 'tau'): number {
  return checkNumber(argName, tau, { min: 0, exclusiveMin: true });
}

/** Throws unless `shape` is `[rows, numClasses]`; `what` names the argument in the message. */
export function checkPredictionShape(shape: readonly (number | null)[], what: string): void {
  if (shape.length !== 2) {
    throw new Error(
      `${what} must have rank 2, [batch, numClasses]; received shape ${formatShape(shape)} (rank ${shape.length}).`,
    );
  }
}

/**
 * Log-probabilities `[rows, numClasses]` of logits (log-softmax) or of probabilities (log, then
 * each row normalised to sum to 1).
 */
export function toLogProbabilities(predictions: tf.Tensor, fromLogits: boolean): tf.Tensor2D {
  return tf.tidy(() => {
    const x = tf.cast(predictions, 'float32') as tf.Tensor2D;
    if (fromLogits) return tf.logSoftmax(x);
    const logP = tf.log(x);
    return tf.sub(logP, tf.logSumExp(logP, 1, true)) as tf.Tensor2D;
  });
}

/** log m_j = log sum_n p_nj over the rows of `logProbabilities`: `[numClasses]`. */
export function logClassMass(logProbabilities: tf.Tensor2D): tf.Tensor1D {
  return tf.logSumExp(logProbabilities, 0) as tf.Tensor1D;
}

/**
 * softmax(l - tau * log m) along each row, with l = -inf kept as -inf (derivation at the top of
 * this file).
 * @param logProbabilities `[rows, numClasses]`.
 * @param logMass `[numClasses]`, log of the class mass in any scale (only ratios matter).
 */
export function rebalanceLogProbabilities(logProbabilities: tf.Tensor2D, logMass: tf.Tensor1D, tau: number): tf.Tensor2D {
  return tf.tidy(() => {
    const adjusted = tf.sub(logProbabilities, tf.mul(tau, logMass));
    const zeroProbability = tf.equal(logProbabilities, -Infinity);
    return tf.softmax(tf.where(zeroProbability, logProbabilities, adjusted)) as tf.Tensor2D;
  });
}

/**
 * Checks the values of predictions that a whole-set function or `adapt` is about to use
 * (the per-call path of the layer does not read values back). Throws when probabilities
 * (`fromLogits` false) hold a negative or non-finite entry or a row summing to 0, or when logits
 * hold NaN or +inf; warns when `fromLogits` is true but every row already looks like a
 * probability distribution (softmax of probabilities is a silent mistake).
 *
 * Synchronous: it reads two flags back with `dataSync`, which needs a backend with synchronous
 * reads (not tfjs's webgpu backend in Node, where it throws). Async code uses
 * {@link checkPredictionValuesAsync}, which checks the same with `await data()`.
 */
export function checkPredictionValues(predictions: tf.Tensor2D, fromLogits: boolean, what: string): void {
  const flags = predictionValueFlags(predictions, fromLogits);
  const isBad = flags[0].dataSync()[0] === 1;
  const isProbabilityLike = flags[1].dataSync()[0] === 1;
  tf.dispose(flags);
  reportPredictionValues(isBad, isProbabilityLike, fromLogits, what);
}

/**
 * {@link checkPredictionValues} with asynchronous reads (`await data()`): what the async paths
 * (`PredictionRebalance.adapt`) use, so that they work on every backend, tfjs's webgpu backend
 * in Node included (no synchronous reads there). Same errors and warning.
 */
export async function checkPredictionValuesAsync(predictions: tf.Tensor2D, fromLogits: boolean, what: string): Promise<void> {
  const flags = predictionValueFlags(predictions, fromLogits);
  let values: [ArrayLike<number>, ArrayLike<number>];
  try {
    values = await Promise.all([flags[0].data(), flags[1].data()]);
  } finally {
    tf.dispose(flags);
  }
  reportPredictionValues(values[0][0] === 1, values[1][0] === 1, fromLogits, what);
}

/** Two bool scalars, computed on the device: [any invalid value, every row looks like probabilities]. */
function predictionValueFlags(predictions: tf.Tensor2D, fromLogits: boolean): [tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    const x = tf.cast(predictions, 'float32');
    if (fromLogits) {
      // -inf logits are allowed (a masked class), NaN and +inf are not.
      const invalid = tf.logicalOr(tf.isNaN(x), tf.equal(x, Infinity));
      const inUnitRange = tf.logicalAnd(tf.greaterEqual(x, 0), tf.lessEqual(x, 1));
      const rowSumsToOne = tf.lessEqual(tf.abs(tf.sub(tf.sum(x, 1), 1)), 1e-3);
      return [tf.any(invalid), tf.logicalAnd(tf.all(inUnitRange), tf.all(rowSumsToOne))];
    }
    const invalid = tf.logicalOr(tf.logicalNot(tf.isFinite(x)), tf.less(x, 0));
    const emptyRow = tf.lessEqual(tf.sum(x, 1), 0);
    return [tf.logicalOr(tf.any(invalid), tf.any(emptyRow)), tf.scalar(false)];
  });
}

function reportPredictionValues(isBad: boolean, isProbabilityLike: boolean, fromLogits: boolean, what: string): void {
  if (isBad) {
    throw new Error(
      fromLogits
        ? `${what} must hold finite logits (-Infinity marks a class as impossible); received NaN or +Infinity logits.`
        : `${what} must hold probabilities (fromLogits: false): finite entries >= 0 and every row summing to more ` +
            `than 0; received negative, non-finite or all-zero rows. Pass fromLogits: true if these are logits.`,
    );
  }
  if (isProbabilityLike) {
    console.warn(
      `${what}: every row lies in [0, 1] and sums to 1, so these look like probabilities, but fromLogits is true ` +
        `(the default), which applies softmax to them again. Pass fromLogits: false if they are probabilities.`,
    );
  }
}

function readOptions(options: RebalanceOptions | undefined, caller: string): { tau: number; fromLogits: boolean } {
  const tau = checkTau(options?.tau ?? DEFAULT_TAU, `${caller}: tau`);
  const fromLogits = checkBoolean(`${caller}: fromLogits`, options?.fromLogits ?? true);
  return { tau, fromLogits };
}

/**
 * Prediction re-balancing of a whole evaluation set (the paper's transductive form).
 *
 * Divides each class column by the total probability the model puts on that class over the set,
 * raised to tau, then normalises each row:
 *
 *     out_ij = (p_ij / m_j^tau) / sum_k (p_ik / m_k^tau) ,   m_j = sum_{n=1..N} p_nj
 *
 * with p = softmax(predictions) when `fromLogits` (default) and p = predictions otherwise.
 * The argmax of each row is the paper's prediction, argmax_j p_ij / m_j^tau.
 *
 * Pass the whole set in one call: the mass is taken over the rows given. For single samples at
 * serving time, adapt a `PredictionRebalance` layer in mode `'calibrated'` instead.
 *
 * Source: Zhang et al., "Gradient-Aware Logit Adjustment Loss for Long-tailed Classifier",
 * ICASSP 2024, arXiv 2403.09036, prediction re-balancing.
 *
 * @param predictions logits or probabilities `[N, numClasses]`, any float dtype.
 * @param options `tau` (finite, > 0, default 1) and `fromLogits` (default true).
 * @returns float32 `[N, numClasses]`, rows summing to 1. The caller disposes it.
 * @throws Error when `predictions` is not a rank-2 tensor or has no rows or no classes, when tau is not a finite number
 *   > 0, when `fromLogits` is not a boolean, and for invalid values: with `fromLogits` true, a NaN or
 *   +Infinity logit (-Infinity is allowed and marks a class as impossible); with `fromLogits`
 *   false, a negative or non-finite probability or a row summing to 0. Warns (`console.warn`)
 *   when `fromLogits` is true and every row already lies in [0, 1] and sums to 1, since softmax
 *   would then be applied to probabilities.
 *
 * Synchronous: the value checks read back to the host with `dataSync`, so it needs a backend with
 * synchronous reads (cpu, wasm, webgl, webgpu in a browser; not tfjs's webgpu backend in Node,
 * where `dataSync` throws). There, adapt a `'calibrated'` `PredictionRebalance` on the same set
 * (`await layer.adapt(predictions)`, which reads asynchronously) and apply it: the same result.
 *
 * @example
 * ```ts
 * // predict() concatenates its batches: any batchSize gives the same [N, C] logits.
 * const logits = model.predict(testImages) as tf.Tensor2D;
 * const probabilities = rebalancePredictions(logits, { tau: 1 });
 * const classes = rebalancedArgMax(logits, { tau: 1 }); // int32 [N]
 * ```
 */
export function rebalancePredictions(predictions: tf.Tensor, options?: RebalanceOptions): tf.Tensor2D {
  const caller = 'rebalancePredictions';
  const { tau, fromLogits } = readOptions(options, caller);
  checkWholeSet(predictions, `${caller}: predictions`);
  checkPredictionValues(predictions as tf.Tensor2D, fromLogits, `${caller}: predictions`);
  return tf.tidy(() => {
    const logP = toLogProbabilities(predictions, fromLogits);
    return rebalanceLogProbabilities(logP, logClassMass(logP), tau);
  });
}

/**
 * The paper's re-balanced class predictions, argmax_j p_ij / m_j^tau, over a whole evaluation
 * set: `tf.argMax(rebalancePredictions(predictions, options), 1)`.
 *
 * @param predictions logits or probabilities `[N, numClasses]`.
 * @param options as for {@link rebalancePredictions}.
 * @returns int32 `[N]`, class indices. The caller disposes it.
 * @throws as {@link rebalancePredictions}.
 *
 * Synchronous reads, as {@link rebalancePredictions}.
 */
export function rebalancedArgMax(predictions: tf.Tensor, options?: RebalanceOptions): tf.Tensor1D {
  const rebalanced = rebalancePredictions(predictions, options);
  const classes = tf.argMax(rebalanced, 1) as tf.Tensor1D;
  rebalanced.dispose();
  return classes;
}

function checkWholeSet(predictions: tf.Tensor, what: string): void {
  if (!(predictions instanceof tf.Tensor)) {
    throw new Error(`${what} must be a tf.Tensor [N, numClasses]; received ${String(predictions)}.`);
  }
  checkPredictionShape(predictions.shape, what);
  if (predictions.shape[0] === 0 || predictions.shape[1] === 0) {
    throw new Error(`${what} must have at least one row and one class; received shape ${formatShape(predictions.shape)}.`);
  }
}
