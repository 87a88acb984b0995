import * as tf from '@tensorflow/tfjs-core';

/**
 * Label layouts: one-hot `[batch, numClasses]` or sparse class indices `[batch]` / `[batch, 1]`.
 *
 * Ownership rule of the package: no function frees a tensor it did not create. {@link toOneHot}
 * (public) always returns a new tensor; {@link oneHotView} (internal, for the losses' hot path)
 * may return its input.
 */

/** Which layout a label tensor of this shape has. */
export type LabelLayout = 'oneHot' | 'sparse';

/**
 * How error messages show a value that should have been a tensor: `Tensor[4, 3] float32`,
 * `an array of length 4`, `the string "abc"`, `null`, `an object with keys {xs, ys}`, or a
 * tensor of another copy of tfjs (which `instanceof` does not recognise).
 */
export function describeValue(value: unknown): string {
  if (value instanceof tf.Tensor) return `Tensor[${value.shape.join(', ')}] ${value.dtype}${value.isDisposed ? ' (disposed)' : ''}`;
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'object') {
    const v = value as { shape?: unknown; dtype?: unknown; dataId?: unknown };
    if (Array.isArray(v.shape) && typeof v.dtype === 'string' && v.dataId != null) {
      return `a Tensor[${v.shape.join(', ')}] of another copy of tfjs (import tfjs once, or let the bundler dedupe it)`;
    }
    if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
    return `an object with keys {${Object.keys(value).join(', ')}}`;
  }
  if (typeof value === 'function') return value.name ? `a function named ${value.name}` : 'a function';
  return `${typeof value} ${String(value)}`;
}

/**
 * The layout of `labels` for `numClasses` classes, read from its shape alone (no tensor is made).
 * @throws Error when `labels` is not a numeric tensor or its shape matches neither layout, naming
 *   `argName`, e.g. `GalaLoss: yTrue must be one-hot [batch, 3] or sparse class indices ...;
 *   received shape [4, 5].`
 */
export function labelLayout(labels: tf.Tensor, numClasses: number, argName: string): LabelLayout {
  if (!(labels instanceof tf.Tensor) || labels.dtype === 'string') {
    throw new Error(`${argName} must be a numeric tf.Tensor (one-hot or class indices); received ${describeValue(labels)}.`);
  }
  const shape = labels.shape;
  if (shape.length === 2 && shape[1] === numClasses && numClasses !== 1) return 'oneHot';
  if (shape.length === 1 || (shape.length === 2 && shape[1] === 1)) return 'sparse';
  throw new Error(
    `${argName} must be one-hot [batch, ${numClasses}] or sparse class indices [batch] / [batch, 1]; ` +
      `received shape [${shape.join(', ')}].`,
  );
}

/**
 * Internal: labels as a float32 one-hot `[batch, numClasses]` matrix, **which may be `labels`
 * itself** (float32 one-hot input is returned as it is: no op, nothing to free, one op less per
 * training step). Never dispose the result unless it is `!== labels`; inside `tf.tidy` (as in a
 * loss) there is nothing to do. Code outside the package uses {@link toOneHot}.
 *
 * Sparse labels are compared against `range(numClasses)` by broadcasting rather than
 * `tf.oneHot`/gather, which keeps to elementwise ops that every backend registers and that are
 * cheap under a gradient tape.
 *
 * @throws Error as {@link labelLayout}.
 */
export function oneHotView(labels: tf.Tensor, numClasses: number, argName = 'labels'): tf.Tensor2D {
  const layout = labelLayout(labels, numClasses, argName);
  if (layout === 'oneHot' && labels.dtype === 'float32') return labels as tf.Tensor2D;
  return tf.tidy(() => {
    if (layout === 'oneHot') return tf.cast(labels, 'float32') as tf.Tensor2D;
    // Compare in float32: labels may arrive as float32 (tfjs casts targets) or int32.
    const indices = tf.reshape(tf.cast(labels, 'float32'), [-1, 1]);
    const classes = tf.reshape(tf.range(0, numClasses, 1, 'float32'), [1, numClasses]);
    return tf.cast(tf.equal(indices, classes), 'float32') as tf.Tensor2D;
  });
}

/**
 * Turns labels into a float32 one-hot `[batch, numClasses]` matrix: **a new tensor the caller
 * owns** (dispose it when done), never `labels` itself, which stays the caller's too.
 *
 * Accepts one-hot `[batch, numClasses]` (any numeric dtype; float32 input is cloned, which
 * shares its memory and copies nothing) or sparse class indices `[batch]` / `[batch, 1]`.
 * Sparse indices outside `[0, numClasses)` give an all-zero row.
 *
 * @example
 * ```js
 * const oneHot = toOneHot(tf.tensor1d([0, 2], 'int32'), 3); // [[1, 0, 0], [0, 0, 1]]
 * ```
 * @param argName how errors name `labels` (default `'toOneHot: labels'`).
 * @throws Error when `labels` is not a numeric tensor, `numClasses` is not an integer >= 1, or
 *   the shape matches neither layout, naming the argument and what was received.
 */
export function toOneHot(labels: tf.Tensor, numClasses: number, argName = 'toOneHot: labels'): tf.Tensor2D {
  if (typeof numClasses !== 'number' || !Number.isInteger(numClasses) || numClasses < 1) {
    throw new Error(`toOneHot: numClasses must be an integer >= 1; received ${describeValue(numClasses)}.`);
  }
  const view = oneHotView(labels, numClasses, argName);
  return view === labels ? tf.clone(view) : view;
}
