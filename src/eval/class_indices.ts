import * as tf from '@tensorflow/tfjs-core';

/**
 * Class indices from sparse labels (array, `[N]` or `[N, 1]` tensor) or, for a rank-2 tensor
 * whose last dimension is `numClasses` (> 1), from one-hot rows or scores (their argmax).
 * Reads tensors back to the host (`dataSync`); disposes nothing it did not create.
 *
 * @throws Error naming `argName` for another shape, or a value that is not an integer in
 *   [0, numClasses).
 */
export function toClassIndices(values: tf.Tensor | ArrayLike<number>, numClasses: number, argName: string): Int32Array {
  let indices: ArrayLike<number>;
  if (values instanceof tf.Tensor) {
    const shape = values.shape;
    if (shape.length === 2 && shape[1] === numClasses && numClasses > 1) {
      indices = tf.tidy(() => tf.argMax(values, -1).dataSync());
    } else if (shape.length === 1 || (shape.length === 2 && shape[1] === 1)) {
      indices = values.dataSync();
    } else {
      throw new Error(
        `${argName} must be class indices [N] / [N, 1] or one-hot / scores [N, ${numClasses}]; received shape [${shape.join(', ')}].`,
      );
    }
  } else {
    indices = values;
  }
  const out = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const value = indices[i];
    if (!Number.isInteger(value) || value < 0 || value >= numClasses) {
      throw new Error(`${argName}[${i}] is ${value}; class indices must be integers in [0, ${numClasses - 1}].`);
    }
    out[i] = value;
  }
  return out;
}

export function checkNumClasses(numClasses: number): void {
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new Error(`numClasses must be an integer >= 1; received ${numClasses}.`);
  }
}
