/**
 * The training methods the demo (and later the benchmark) compares. Each entry says how to build
 * the loss; later rows (baselines, post-hoc re-balancing) are added to this list, not to the trainer.
 */

import * as tf from '@tensorflow/tfjs';

import { galaLoss } from '../losses/gala_loss';

/** What a method may need to build its loss. */
export interface MethodContext {
  readonly numClasses: number;
  /** Training examples per class (priors for logit adjustment, weights for re-weighting...). */
  readonly classCounts: readonly number[];
}

/** A loss function as `model.compile` takes it, plus an optional clean-up. */
export type MethodLoss = ((yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor) & { dispose?: () => void };

/** An evaluation of an already-trained model with a post-hoc transform of its outputs. */
export interface PostHocEvaluation {
  /** Key in JSON output, e.g. 'gala+pr'. */
  readonly name: string;
  /** Table label, e.g. 'GALA + re-balancing'. */
  readonly label: string;
  /**
   * Scores whose argmax is the prediction, from the model's outputs on the WHOLE test split
   * `[N, numClasses]` (logits when the method's `fromLogits` is true, else probabilities).
   * Called inside `tf.tidy`.
   */
  transform(outputs: tf.Tensor2D, fromLogits: boolean, context: MethodContext): tf.Tensor2D;
}

/** A way to train the demo's model. */
export interface TrainingMethod {
  /** Key in JSON output and future `--methods` lists, e.g. 'ce'. */
  readonly name: string;
  /** Table label. */
  readonly label: string;
  /** Whether the model ends in a linear layer (logits, true) or in softmax (probabilities, false). */
  readonly fromLogits: boolean;
  /** A fresh loss for one training run; it must return per-sample losses `[batch]`. */
  createLoss(context: MethodContext): MethodLoss;
  /** Extra rows evaluated on the same trained model. */
  readonly postHoc?: readonly PostHocEvaluation[];
}

/** Softmax cross-entropy on logits, per sample (tfjs's own op, no reduction). */
export const CROSS_ENTROPY: TrainingMethod = {
  name: 'ce',
  label: 'cross-entropy',
  fromLogits: true,
  createLoss: () => (yTrue, yPred) => tf.losses.softmaxCrossEntropy(yTrue, yPred, undefined, undefined, tf.Reduction.NONE),
};

/** GALA with the paper's formula and default arguments (lambda1 = lambda2 = 1, epsilon 1e-3). */
export const GALA: TrainingMethod = {
  name: 'gala',
  label: 'GALA',
  fromLogits: true,
  createLoss: ({ numClasses }) => galaLoss({ numClasses }),
};

/** The rows of `tfjs-gala demo`, in table order. */
export const DEMO_METHODS: readonly TrainingMethod[] = [CROSS_ENTROPY, GALA];
