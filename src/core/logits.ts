import * as tf from '@tensorflow/tfjs-core';

/**
 * Smallest probability used wherever logits are recovered from probabilities (`fromLogits:
 * false` in the losses, the re-balancing math and the gradient monitor): log(0) would be
 * -Infinity. One floor for the whole package, so every part recovers the same logits.
 */
export const PROBABILITY_FLOOR = 1e-7;

/**
 * Float32 logits `[batch, numClasses]` from a model's outputs. With `fromLogits` false the
 * outputs are probabilities and their log is returned, clipped to [{@link PROBABILITY_FLOOR}, 1].
 * log p differs from the logits that produced p by one constant per row, which softmax-based
 * losses (and their per-class logit shifts) ignore, so both paths give the same loss.
 */
export function predictionsToLogits(yPred: tf.Tensor, fromLogits: boolean): tf.Tensor2D {
  return tf.tidy(() => {
    const values = (yPred.dtype === 'float32' ? yPred : tf.cast(yPred, 'float32')) as tf.Tensor2D;
    return fromLogits ? values : tf.log(tf.clipByValue(values, PROBABILITY_FLOOR, 1));
  });
}
