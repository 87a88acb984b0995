import * as tf from '@tensorflow/tfjs-core';

import { describeValue } from '../core/labels';
import { formatShape } from '../core/shapes';

/**
 * Pieces shared by the softmax-based baseline losses (focal, logit-adjusted, balanced softmax,
 * LDAM): input checks and the numerically stable per-sample cross-entropy.
 */

/**
 * Checks that `yPred` and `yTrue` are numeric tensors, `yPred` is `[batch, numClasses]` and
 * `yTrue` has the same batch size. `numClasses` null accepts any class count >= 2.
 * @returns the number of classes of `yPred`.
 * @throws Error naming `owner`, the argument, what was received (type, or shapes) and what is allowed.
 */
export function checkLossInputs(owner: string, yTrue: tf.Tensor, yPred: tf.Tensor, numClasses: number | null): number {
  const expected = numClasses === null ? 'numClasses' : String(numClasses);
  if (!(yPred instanceof tf.Tensor) || yPred.dtype === 'string') {
    throw new Error(`${owner}: yPred must be a numeric tf.Tensor [batch, ${expected}] (the model's outputs); received ${describeValue(yPred)}.`);
  }
  if (!(yTrue instanceof tf.Tensor) || yTrue.dtype === 'string') {
    throw new Error(
      `${owner}: yTrue must be a numeric tf.Tensor (one-hot [batch, ${expected}] or class indices [batch]); received ${describeValue(yTrue)}.`,
    );
  }
  const classes = yPred.shape[1] as number;
  if (yPred.rank !== 2 || (numClasses !== null && classes !== numClasses) || classes < 2) {
    throw new Error(
      `${owner}: yPred must be [batch, ${expected}]${numClasses === null ? ' with numClasses >= 2' : ''}; ` +
        `received shape ${formatShape(yPred.shape)}.`,
    );
  }
  if (yTrue.rank === 0 || yTrue.shape[0] !== yPred.shape[0]) {
    throw new Error(
      `${owner}: yTrue and yPred must have the same batch size; received yTrue shape ${formatShape(yTrue.shape)} ` +
        `and yPred shape ${formatShape(yPred.shape)}.`,
    );
  }
  return classes;
}

/**
 * Per-sample softmax cross-entropy `-sum_j y_j log softmax(z)_j`, shape `[batch]`.
 * `logSoftmax` subtracts the row maximum before exponentiating, so no logit overflows.
 * @param oneHot float32 `[batch, numClasses]`.
 * @param logits float32 `[batch, numClasses]`.
 */
export function softmaxCrossEntropy(oneHot: tf.Tensor2D, logits: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1)) as tf.Tensor1D);
}

/**
 * Per-sample softmax cross-entropy on logits shifted by a fixed per-class vector,
 * `-log softmax(z + shift)_y`, shape `[batch]`: the form shared by logit adjustment
 * (shift = tau log pi) and balanced softmax (shift = log n).
 * @param oneHot float32 `[batch, numClasses]`.
 * @param logits float32 `[batch, numClasses]`.
 * @param shift float32, length numClasses.
 */
export function shiftedSoftmaxCrossEntropy(oneHot: tf.Tensor2D, logits: tf.Tensor2D, shift: Float32Array): tf.Tensor1D {
  return tf.tidy(() => softmaxCrossEntropy(oneHot, tf.add(logits, tf.tensor2d(shift, [1, shift.length])) as tf.Tensor2D));
}
