import * as tf from '@tensorflow/tfjs-core';

import { ClassificationLoss, type LossBatch } from './classification_loss';
import { registerLoss } from './register_loss';
import { resolveArgs } from '../core/args';
import { checkKnownKeys } from '../core/known_keys';
import { PROBABILITY_FLOOR, predictionsToLogits } from '../core/logits';
import { checkBoolean, checkNumber, checkNumberArray } from '../core/validate';

/** Arguments of {@link FocalLoss} / {@link focalLoss}. */
export interface FocalLossArgs {
  /**
   * Focusing parameter gamma (>= 0, default 2, the value Lin et al. found best). 0 gives
   * cross-entropy; larger values down-weight samples the model already classifies well.
   */
  readonly gamma?: number;
  /**
   * Class weight alpha: a number >= 0 applied to every sample, or one number >= 0 per class
   * (alpha_y of the sample's class). Default null: no weighting. Keras's default 0.25 comes from
   * the paper's binary (sigmoid) form, where it weighs positives against negatives; in this
   * softmax form a single number only rescales the loss, like a learning-rate factor.
   */
  readonly alpha?: number | readonly number[] | null;
  /** Whether `yPred` are logits (default true). When false they are probabilities. */
  readonly fromLogits?: boolean;
}

const DEFAULTS = { gamma: 2, alpha: null as number | readonly number[] | null, fromLogits: true };
const ARGUMENTS = Object.keys(DEFAULTS);

/**
 * Focal loss, softmax (multi-class) form.
 *
 * Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017 (https://arxiv.org/abs/1708.02002),
 * with the sigmoid replaced by a softmax over the classes. For a sample with label y and
 * p = softmax(z):
 *
 * ```text
 * L = -alpha_y * (1 - p_y)^gamma * log p_y
 * ```
 *
 * log p_y comes from `logSoftmax`. 1 - p_y is computed as sum_{j != y} p_j, which keeps its
 * precision when p_y is close to 1 (no cancellation), and is floored at 1e-7 so that
 * (1 - p_y)^gamma keeps a finite gradient for 0 < gamma < 1.
 *
 * Call signature `(yTrue, yPred) => Tensor1D`:
 * - `yTrue`: one-hot `[batch, numClasses]` or sparse class indices `[batch]` / `[batch, 1]`.
 * - `yPred`: float32 logits `[batch, numClasses]` (probabilities when `fromLogits` is false).
 * - returns float32 per-sample losses `[batch]`, so tfjs's `classWeight` keeps working.
 *
 * ```js
 * model.compile({ optimizer: 'adam', loss: focalLoss({ gamma: 2 }) });
 * ```
 *
 * Like every loss of the package (see {@link ClassificationLoss}): label rows that are not a
 * valid class get zero loss and zero gradient (training rows with them are counted and reported
 * with `console.warn`), and the function is named `focal_loss`, so listing the loss in `metrics` too
 * keeps tfjs's `loss` / `val_loss` entries.
 *
 * @throws Error on invalid or unknown arguments (naming the argument, the value and what is
 *   allowed), on a `yTrue` or `yPred` that is not a numeric tensor, on a `yPred` that is not
 *   `[batch, numClasses]`, on an `alpha` array whose length is not numClasses, and on labels of
 *   another layout or batch size.
 */
export class FocalLoss extends ClassificationLoss {
  static override className = 'tfjs-gala.FocalLoss';

  /** Focusing parameter gamma (>= 0; default 2; 0 gives cross-entropy). */
  readonly gamma: number;
  /** Class weight: one number for every sample, one number per class (alpha_y), or null for none (default). */
  readonly alpha: number | readonly number[] | null;
  /** Whether `yPred` is read as logits (true, default) or as probabilities (false). */
  readonly fromLogits: boolean;

  constructor(args?: FocalLossArgs) {
    super();
    const merged = resolveArgs('FocalLoss', args, DEFAULTS, '{gamma: 2}');
    checkKnownKeys('FocalLoss', merged, ARGUMENTS);
    this.gamma = checkNumber('FocalLoss: gamma', merged.gamma, { min: 0 });
    const alpha = merged.alpha;
    if (alpha === null) this.alpha = null;
    else if (Array.isArray(alpha)) this.alpha = checkNumberArray('FocalLoss: alpha', alpha, null, 0);
    else this.alpha = checkNumber('FocalLoss: alpha (a number or one number per class)', alpha, { min: 0 });
    this.fromLogits = checkBoolean('FocalLoss: fromLogits', merged.fromLogits);
  }

  /** -alpha_y (1 - p_y)^gamma log p_y per row (see the class docs). */
  protected perSampleLosses({ labels, yPred, numClasses }: LossBatch): tf.Tensor1D {
    const alpha = this.alpha;
    if (Array.isArray(alpha) && alpha.length !== numClasses) {
      throw new Error(`FocalLoss: alpha must have one entry per class (${numClasses}, from yPred); received ${alpha.length} entries.`);
    }
    const oneHot = labels().oneHot;
    const logProbabilities = tf.logSoftmax(predictionsToLogits(yPred, this.fromLogits));
    const logTarget = tf.sum(tf.mul(oneHot, logProbabilities), 1); // log p_y, [batch] (0 for an invalid row)
    let losses: tf.Tensor = tf.neg(logTarget);
    if (this.gamma !== 0) {
      const rest = tf.sum(tf.mul(tf.sub(1, oneHot), tf.exp(logProbabilities)), 1); // 1 - p_y
      losses = tf.mul(losses, tf.pow(tf.maximum(rest, PROBABILITY_FLOOR), this.gamma));
    }
    if (typeof alpha === 'number') {
      losses = tf.mul(losses, alpha);
    } else if (alpha !== null) {
      losses = tf.mul(losses, tf.sum(tf.mul(oneHot, tf.tensor1d(alpha as number[])), 1));
    }
    return losses as tf.Tensor1D;
  }

  /** Any number of classes >= 2, read from `yPred` (an `alpha` array must match it). */
  protected expectedNumClasses(): null {
    return null;
  }

  /** Constructor arguments, all defaults filled in. */
  getConfig(): tf.serialization.ConfigDict {
    return {
      gamma: this.gamma,
      alpha: Array.isArray(this.alpha) ? this.alpha.slice() : (this.alpha as number | null),
      fromLogits: this.fromLogits,
    };
  }
}
registerLoss(FocalLoss);

/**
 * Creates a {@link FocalLoss} (Keras-style function form): `model.compile({loss: focalLoss({gamma: 2})})`.
 * @throws Error on invalid arguments; see {@link FocalLossArgs}.
 */
export function focalLoss(args?: FocalLossArgs): FocalLoss {
  return new FocalLoss(args);
}
