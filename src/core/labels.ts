import * as tf from '@tensorflow/tfjs-core';

/**
 * Turns labels into a float32 one-hot `[batch, numClasses]` matrix.
 *
 * Accepts one-hot `[batch, numClasses]` (returned as float32) or sparse class indices
 * `[batch]` / `[batch, 1]` (any numeric dtype). Sparse labels are compared against
 * `range(numClasses)` by broadcasting rather than `tf.oneHot`/gather, which keeps to
 * elementwise ops that every backend registers and that are cheap under a gradient tape.
 *
 * @throws Error when the shape matches neither layout, naming `argName` and the shape received.
 */
export function toOneHot(labels: tf.Tensor, numClasses: number, argName = 'yTrue'): tf.Tensor2D {
  return tf.tidy(() => {
    const shape = labels.shape;
    if (shape.length === 2 && shape[1] === numClasses && numClasses !== 1) {
      // Already float32 (tfjs casts fit's targets): no copy, one op less per step.
      return (labels.dtype === 'float32' ? labels : tf.cast(labels, 'float32')) as tf.Tensor2D;
    }
    if (shape.length === 1 || (shape.length === 2 && shape[1] === 1)) {
      // Compare in float32: labels may arrive as float32 (tfjs casts targets) or int32.
      const indices = tf.reshape(tf.cast(labels, 'float32'), [-1, 1]);
      const classes = tf.reshape(tf.range(0, numClasses, 1, 'float32'), [1, numClasses]);
      return tf.cast(tf.equal(indices, classes), 'float32') as tf.Tensor2D;
    }
    throw new Error(
      `${argName} must be one-hot [batch, ${numClasses}] or sparse class indices [batch] / [batch, 1]; ` +
        `received shape [${shape.join(', ')}].`,
    );
  });
}
