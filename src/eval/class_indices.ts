import * as tf from '@tensorflow/tfjs-core';

/**
 * Class indices from sparse labels (array, `[N]` or `[N, 1]` tensor) or, for a rank-2 tensor
 * whose last dimension is `numClasses` (> 1), from one-hot rows or scores (their argmax).
 * Reads tensors back to the host (`dataSync`: needs a backend with synchronous reads, which
 * tfjs's webgpu backend in Node is not; async code uses {@link toClassIndicesAsync}); disposes
 * nothing it did not create.
 *
 * @throws Error naming `argName` for another shape, or a value that is not an integer in
 *   [0, numClasses).
 */
export function toClassIndices(values: tf.Tensor | ArrayLike<number>, numClasses: number, argName: string): Int32Array {
  if (!(values instanceof tf.Tensor)) return checkIndices(values, numClasses, argName);
  const source = indexSource(values, numClasses, argName);
  try {
    return checkIndices(source.dataSync(), numClasses, argName);
  } finally {
    if (source !== values) source.dispose();
  }
}

/**
 * {@link toClassIndices} with an asynchronous read (`await data()`): for async code, and for
 * backends without synchronous reads (tfjs's webgpu backend in Node). Same result and errors.
 */
export async function toClassIndicesAsync(values: tf.Tensor | ArrayLike<number>, numClasses: number, argName: string): Promise<Int32Array> {
  if (!(values instanceof tf.Tensor)) return checkIndices(values, numClasses, argName);
  const source = indexSource(values, numClasses, argName);
  try {
    return checkIndices(await source.data(), numClasses, argName);
  } finally {
    if (source !== values) source.dispose();
  }
}

/** The tensor whose values are the class indices: `values` itself, or a new argMax of its rows. */
function indexSource(values: tf.Tensor, numClasses: number, argName: string): tf.Tensor {
  const shape = values.shape;
  if (shape.length === 2 && shape[1] === numClasses && numClasses > 1) return tf.tidy(() => tf.argMax(values, -1));
  if (shape.length === 1 || (shape.length === 2 && shape[1] === 1)) return values;
  throw new Error(
    `${argName} must be class indices [N] / [N, 1] or one-hot / scores [N, ${numClasses}]; received shape [${shape.join(', ')}].`,
  );
}

function checkIndices(indices: ArrayLike<number>, numClasses: number, argName: string): Int32Array {
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
