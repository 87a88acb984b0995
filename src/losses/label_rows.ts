import * as tf from '@tensorflow/tfjs-core';

import { type LabelLayout, labelLayout, oneHotView } from '../core/labels';

/**
 * A one-hot row may differ from summing to 1 by this much (float32 sums of soft labels over
 * many classes carry rounding error) and still count as valid.
 */
export const ONE_HOT_SUM_TOLERANCE = 1e-3;

/** One batch of labels as the package's losses use them. */
export interface LabelRows {
  /** `'oneHot'` or `'sparse'`: the layout `yTrue` arrived in. */
  readonly layout: LabelLayout;
  /**
   * float32 `[batch, numClasses]`, each invalid row all zero: a tensor of the caller's tidy
   * scope. The caller's `yTrue` is only read, never copied or freed.
   */
  readonly oneHot: tf.Tensor2D;
  /** float32 `[batch]`: 1 for a valid row, 0 for an invalid one. */
  readonly valid: tf.Tensor1D;
}

/**
 * Reads `yTrue` as one-hot rows and marks the invalid ones. Call inside `tf.tidy`.
 *
 * Valid rows:
 * - sparse (`[batch]` or `[batch, 1]`): an integer class index in `[0, numClasses)`;
 * - one-hot (`[batch, numClasses]`): entries >= 0 that sum to 1 within
 *   {@link ONE_HOT_SUM_TOLERANCE} (soft labels included).
 *
 * Invalid rows (an index out of range, negative, fractional or NaN; a one-hot row with a
 * negative or NaN entry, or not summing to 1) come back as all-zero rows of `oneHot` with
 * `valid` 0, so every softmax loss gives them zero loss and zero gradient.
 *
 * Cost: sparse labels need no extra op (the one-hot comparison already gives an all-zero row
 * for an invalid index, so `valid` is the row sum); one-hot labels need two row sums and a
 * select. `yTrue` itself is never copied or freed (ownership rule of `core/labels.ts`).
 *
 * @throws Error as `labelLayout` (not a numeric tensor, or a shape of neither layout), naming `argName`.
 */
export function labelRows(yTrue: tf.Tensor, numClasses: number, argName: string): LabelRows {
  const layout = labelLayout(yTrue, numClasses, argName);
  const view = oneHotView(yTrue, numClasses, argName);
  if (layout === 'sparse') {
    // equal(index, range) matches at most one class, so the row sum is exactly 0 or 1.
    return { layout, oneHot: view, valid: tf.sum(view, 1) as tf.Tensor1D };
  }
  // A row of entries >= 0 summing to 1 has sum |y| = sum y = 1; a negative entry makes
  // sum |y| exceed sum y by twice its size. NaN fails both comparisons.
  const total = tf.sum(view, 1);
  const absoluteTotal = tf.sum(tf.abs(view), 1);
  const isValid = tf.logicalAnd(
    tf.greaterEqual(total, 1 - ONE_HOT_SUM_TOLERANCE),
    tf.lessEqual(absoluteTotal, 1 + ONE_HOT_SUM_TOLERANCE),
  );
  const valid = tf.cast(isValid, 'float32') as tf.Tensor1D;
  // where, not a product: 0 * NaN would keep a NaN label in the row. The condition and the
  // zeros are built at full [batch, numClasses] shape by broadcasting arithmetic: a where that
  // broadcasts its arguments tiles a bool tensor, about 10x slower on wasm.
  const zeros = tf.zerosLike(view);
  const keep = tf.greater(tf.add(zeros, tf.reshape(valid, [-1, 1])), 0.5);
  const oneHot = tf.where(keep, view, zeros) as tf.Tensor2D;
  return { layout, oneHot, valid };
}

/** What a valid label row is, for messages: `one-hot rows of 10 entries >= 0 summing to 1 ...`. */
export function allowedLabels(numClasses: number): string {
  return (
    `one-hot rows of ${numClasses} entries >= 0 summing to 1 (within ${ONE_HOT_SUM_TOLERANCE}), ` +
    `or sparse class indices, integers in [0, ${numClasses})`
  );
}
