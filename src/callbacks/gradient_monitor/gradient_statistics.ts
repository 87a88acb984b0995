import * as tf from '@tensorflow/tfjs-core';

/**
 * The gradient analysis of Zhang et al., "Gradient-Aware Logit Adjustment Loss for Long-tailed
 * Classifier" (ICASSP 2024, arXiv:2403.09036, Section 1 and Fig. 1): per class, the positive
 * gradient its logit receives from its own samples, the negative gradient it receives from the
 * samples of every other class, and the similarity between its class vector and its features.
 *
 * The tensor functions here run on any backend (matMul and elementwise ops only: no gather or
 * segment ops, whose kernels some backends lack); the plain-number functions turn their results into JSON-safe records.
 */

/**
 * Gradient statistics of one measurement (an epoch, or the running total), as plain numbers.
 *
 * Units: sums over samples of per-sample logit-gradient magnitudes |dL_i/dz_ij|, where L_i is
 * the loss of sample i and z_i its logits (before softmax).
 */
export interface GradientStatistics {
  /** Number of samples of each class that were measured, length numClasses. */
  samples: number[];
  /** Positive gradient of each class j: sum over samples i of class j of |dL_i/dz_ij|. */
  positive: number[];
  /** Negative gradient received by classifier j from all other classes: row sums of {@link GradientStatistics.negative}. */
  negativeReceived: number[];
  /**
   * Negative gradient emitted by the samples of class k onto all other classifiers: column sums
   * of {@link GradientStatistics.negative}. Under softmax cross-entropy it equals `positive[k]`.
   */
  negativeEmitted: number[];
  /** `positive[j] / negativeReceived[j]`; null where nothing was received (undefined ratio). */
  ratio: (number | null)[];
  /**
   * numClasses x numClasses matrix, row = receiving classifier j, column = emitting class k:
   * `negative[j][k]` = sum over samples i of class k of |dL_i/dz_ij| (j != k). Diagonal is 0.
   */
  negative: number[][];
}

/**
 * `|G|^T Y`: entry `[j][k]` sums |dL_i/dz_ij| over the samples i of class k. Its diagonal is
 * the positive gradient of each class, its off-diagonal the negative-gradient matrix of
 * {@link GradientStatistics.negative}. One matMul `[C, B] x [B, C]`: O(B C^2) time, O(C^2) memory.
 *
 * Non-finite gradient entries count as 0, so one diverged sample cannot poison a running total.
 *
 * @param logitGradients float32 `[batch, numClasses]`, dL/dz per sample.
 * @param oneHot float32 one-hot labels `[batch, numClasses]`.
 * @returns float32 `[numClasses, numClasses]`.
 */
export function gradientMatrix(logitGradients: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const finite = tf.where(tf.isFinite(logitGradients), logitGradients, tf.zerosLike(logitGradients));
    return tf.matMul(tf.abs(finite), oneHot, true, false) as tf.Tensor2D;
  });
}

/**
 * Chain rule through softmax: given g = dL/dp for p = softmax(z) (rows of `probabilities`),
 * dL/dz = J^T g with J = diag(p) - p p^T, i.e. `p * (g - sum_j g_j p_j)` per row.
 * The Jacobian depends on p only, so the model's logits are not needed.
 *
 * @param probabilityGradients float32 `[batch, numClasses]`, dL/dp.
 * @param probabilities float32 `[batch, numClasses]`, rows summing to 1.
 * @returns float32 `[batch, numClasses]`, dL/dz.
 */
export function softmaxBackward(probabilityGradients: tf.Tensor2D, probabilities: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const p = tf.cast(probabilities, 'float32');
    const g = tf.cast(probabilityGradients, 'float32');
    return tf.mul(p, tf.sub(g, tf.sum(tf.mul(g, p), 1, true))) as tf.Tensor2D;
  });
}

/** Norms below this count as zero vectors (cosine similarity 0) instead of dividing by 0. */
const NORM_FLOOR = 1e-12;

/**
 * Per class j: sum over the samples i of class j of cos(w_j, f_i), the cosine similarity
 * between the class vector w_j (column j of the final Dense kernel) and the sample's
 * penultimate features. Divide by the class's sample count for the mean. A zero feature vector
 * (e.g. all ReLUs off) or zero class vector counts as similarity 0.
 *
 * @param features float32 `[batch, featureSize]`, input of the final Dense layer.
 * @param kernel float32 `[featureSize, numClasses]`, the Dense kernel.
 * @param oneHot float32 one-hot labels `[batch, numClasses]`.
 * @returns float32 `[numClasses]`.
 */
export function classVectorSimilaritySums(features: tf.Tensor2D, kernel: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const unitFeatures = tf.div(features, tf.maximum(tf.norm(features, 'euclidean', 1, true), NORM_FLOOR));
    const unitVectors = tf.div(kernel, tf.maximum(tf.norm(kernel, 'euclidean', 0, true), NORM_FLOOR));
    const cosines = tf.matMul(unitFeatures, unitVectors); // [batch, numClasses]
    return tf.sum(tf.mul(cosines, oneHot), 0) as tf.Tensor1D;
  });
}

/**
 * Builds a {@link GradientStatistics} record from the `|G|^T Y` matrix of {@link gradientMatrix}
 * (row-major, `[receiving j][emitting k]`) and the per-class sample counts.
 */
export function statisticsFromMatrix(matrix: readonly (readonly number[])[], samples: readonly number[]): GradientStatistics {
  const c = samples.length;
  const positive = new Array<number>(c).fill(0);
  const negativeReceived = new Array<number>(c).fill(0);
  const negativeEmitted = new Array<number>(c).fill(0);
  const negative = matrix.map((row, j) =>
    row.map((value, k) => {
      if (j === k) {
        positive[j] = value;
        return 0;
      }
      negativeReceived[j] += value;
      negativeEmitted[k] += value;
      return value;
    }),
  );
  const ratio = positive.map((p, j) => (negativeReceived[j] > 0 ? p / negativeReceived[j] : null));
  return { samples: samples.slice(), positive, negativeReceived, negativeEmitted, ratio, negative };
}

/** Splits a flat row-major `[rows * columns]` array into rows of plain numbers. */
export function toRows(values: ArrayLike<number>, columns: number): number[][] {
  const rows: number[][] = [];
  for (let start = 0; start < values.length; start += columns) rows.push(Array.from({ length: columns }, (_, i) => values[start + i]));
  return rows;
}

/** Elementwise sum of two statistics records (same numClasses); ratios are recomputed. */
export function addStatistics(a: GradientStatistics, b: GradientStatistics): GradientStatistics {
  const matrix = a.negative.map((row, j) => row.map((value, k) => (j === k ? a.positive[j] + b.positive[j] : value + b.negative[j][k])));
  return statisticsFromMatrix(
    matrix,
    a.samples.map((n, j) => n + b.samples[j]),
  );
}

/**
 * Coefficient of variation (population standard deviation / mean) of each row of the
 * negative-gradient matrix, diagonal excluded: how unevenly classifier j's negative gradient is
 * spread over the classes that emit it. 0 = perfectly even. Null where the row's mean is 0.
 *
 * The entries are sums over samples, so a class with many samples emits more: under any loss
 * the rows are uneven in proportion to class counts; compare losses on the same data.
 */
export function rowCoefficientOfVariation(negative: readonly (readonly number[])[]): (number | null)[] {
  return negative.map((row, j) => {
    const others = row.filter((_, k) => k !== j);
    if (others.length === 0) return null;
    const mean = others.reduce((s, v) => s + v, 0) / others.length;
    if (!(mean > 0)) return null;
    const variance = others.reduce((s, v) => s + (v - mean) ** 2, 0) / others.length;
    return Math.sqrt(variance) / mean;
  });
}
