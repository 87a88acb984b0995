import * as tf from '@tensorflow/tfjs-core';

import { ClassificationLoss, type LossBatch } from './classification_loss';
import { registerLoss } from './register_loss';
import { checkPositiveClassArray } from '../core/class_frequencies';
import type { ClassWeightedLoss } from '../core/class_weighted_loss';
import { resolveArgs } from '../core/args';
import { checkKnownKeys } from '../core/known_keys';
import { predictionsToLogits } from '../core/logits';
import { softmaxCrossEntropy } from './softmax_cross_entropy';
import { checkBoolean, checkNumber, checkNumberArray } from '../core/validate';

/** Arguments of {@link LDAMLoss} / {@link ldamLoss}. */
export interface LDAMLossArgs {
  /** Training samples per class n_j, each > 0; length = numClasses. */
  readonly classCounts: readonly number[];
  /** Margin of the rarest class (>= 0, default 0.5, the authors' setting); 0 gives scaled cross-entropy. */
  readonly maxMargin?: number;
  /**
   * Factor s on the logits after the margin (> 0, default 30, the authors' setting). It assumes
   * cosine logits in [-1, 1] (normalised features and class vectors); with a plain dense output
   * layer use a small scale such as 1.
   */
  readonly scale?: number;
  /**
   * Per-class loss weights w_j (>= 0, length numClasses), or null (default) for none. Deferred
   * re-weighting changes them during training: see {@link LDAMLoss.setClassWeights}.
   */
  readonly classWeights?: readonly number[] | null;
  /** Whether `yPred` are logits (default true). When false they are probabilities. */
  readonly fromLogits?: boolean;
}

const DEFAULTS = { maxMargin: 0.5, scale: 30, classWeights: null as readonly number[] | null, fromLogits: true };
const ARGUMENTS = ['classCounts', ...Object.keys(DEFAULTS)];

/**
 * Label-distribution-aware margin (LDAM) loss.
 *
 * Cao et al., "Learning Imbalanced Datasets with Label-Distribution-Aware Margin Loss",
 * NeurIPS 2019 (https://arxiv.org/abs/1906.07413). Rarer classes get larger margins. For a sample
 * with label y and logits z:
 *
 * ```text
 * m_j = K / n_j^(1/4),   K such that max_j m_j = maxMargin
 * L   = w_y * -log softmax(s * (z - m_y e_y))_y        (e_y: one-hot of y)
 * ```
 *
 * The margin is subtracted from the target logit only; w_y = 1 without class weights. With
 * maxMargin = 0 and scale = 1 this is softmax cross-entropy. At inference use the raw logits.
 *
 * Class weights are held in a non-trainable variable and can be switched between epochs, which
 * is how the paper's deferred re-weighting (LDAM-DRW) runs inside one `fit` call: see
 * `DeferredReweighting`. Each per-sample loss is multiplied by w_y and `fit` takes the
 * batch mean, sum_i w_i L_i / B, as tfjs's `classWeight` does. The authors' PyTorch code
 * divides by sum_i w_i instead; the two differ by a per-batch factor on the step size.
 *
 * Call signature `(yTrue, yPred) => Tensor1D`:
 * - `yTrue`: one-hot `[batch, numClasses]` or sparse class indices `[batch]` / `[batch, 1]`.
 * - `yPred`: float32 logits `[batch, numClasses]` (probabilities when `fromLogits` is false).
 * - returns float32 per-sample losses `[batch]`, so tfjs's `classWeight` keeps working.
 *
 * ```js
 * const loss = ldamLoss({ classCounts: [500, 120, 9], scale: 1 });
 * model.compile({ optimizer: 'adam', loss });
 * ```
 *
 * Like every loss of the package (see {@link ClassificationLoss}): label rows that are not a
 * valid class get zero loss and zero gradient (training rows with them are counted and reported
 * with `console.warn`), and the function is named `ldam_loss`, so listing the loss in `metrics` too
 * keeps tfjs's `loss` / `val_loss` entries.
 *
 * @throws Error on invalid or unknown arguments (naming the argument, the value and what is
 *   allowed), on a `yTrue` or `yPred` that is not a numeric tensor, on a `yPred` that is not
 *   `[batch, numClasses]`, on labels of another layout or batch size, and when called after
 *   {@link LDAMLoss.dispose}.
 */
export class LDAMLoss extends ClassificationLoss implements ClassWeightedLoss {
  static override className = 'tfjs-gala.LDAMLoss';

  /** Training samples per class n_j (a copy; each > 0): they set the margins. */
  readonly classCounts: readonly number[];
  /** Margin of the rarest class (>= 0; default 0.5). */
  readonly maxMargin: number;
  /** Factor s on the margined logits (> 0; default 30, meant for cosine logits). */
  readonly scale: number;
  /** Whether `yPred` is read as logits (true, default) or as probabilities (false). */
  readonly fromLogits: boolean;
  /** Number of classes C = `classCounts.length`: `yPred` must be `[batch, C]`. */
  readonly numClasses: number;
  /** Per-class margins m_j (length numClasses; the rarest class has maxMargin). */
  readonly margins: readonly number[];

  private readonly marginValues: Float32Array;
  // Host copy of the weights in use (null: none) and the variable the loss reads them from.
  // The variable is created on first use, so an unweighted loss holds no tensor.
  private weights: number[] | null = null;
  private weightVariable: tf.Variable | null = null;

  constructor(args: LDAMLossArgs) {
    super();
    const merged = resolveArgs('LDAMLoss', args, DEFAULTS, '{classCounts: [500, 120, 9]}');
    checkKnownKeys('LDAMLoss', merged, ARGUMENTS);
    this.classCounts = checkPositiveClassArray('LDAMLoss: classCounts', merged.classCounts);
    this.maxMargin = checkNumber('LDAMLoss: maxMargin', merged.maxMargin, { min: 0 });
    this.scale = checkNumber('LDAMLoss: scale', merged.scale, { min: 0, exclusiveMin: true });
    this.fromLogits = checkBoolean('LDAMLoss: fromLogits', merged.fromLogits);
    this.numClasses = this.classCounts.length;
    const rarest = Math.min(...this.classCounts);
    // K / n_j^(1/4) with K = maxMargin * rarest^(1/4): the rarest class gets maxMargin.
    this.margins = this.classCounts.map((n) => this.maxMargin * Math.pow(rarest / n, 0.25));
    this.marginValues = Float32Array.from(this.margins);
    if (merged.classWeights != null) this.setClassWeights(merged.classWeights);
  }

  /** w_y * -log softmax(s (z - m_y e_y))_y per row (see the class docs). */
  protected perSampleLosses({ labels, yPred, numClasses }: LossBatch): tf.Tensor1D {
    const oneHot = labels().oneHot;
    const logits = predictionsToLogits(yPred, this.fromLogits);
    const margined = tf.sub(logits, tf.mul(oneHot, tf.tensor2d(this.marginValues, [1, numClasses])));
    const losses = softmaxCrossEntropy(oneHot, tf.mul(margined, this.scale) as tf.Tensor2D);
    if (this.weights === null) return losses;
    return tf.mul(losses, tf.sum(tf.mul(oneHot, this.weightVariable!), 1)) as tf.Tensor1D;
  }

  /** The length of `classCounts`. */
  protected expectedNumClasses(): number {
    return this.numClasses;
  }

  /**
   * Sets the per-class weights w_j, or removes them with null. Safe to call between batches
   * or epochs during `fit` (the next batch uses the new weights); this is what
   * `DeferredReweighting` does.
   * @throws Error when `weights` is not null or an array of numClasses finite numbers >= 0.
   */
  setClassWeights(weights: readonly number[] | null): void {
    this.assertUsable();
    this.stateChanged();
    if (weights === null) {
      this.weights = null;
      return;
    }
    const values = checkNumberArray('LDAMLoss: classWeights', weights, this.numClasses, 0);
    tf.tidy(() => {
      // Unnamed and non-trainable: variable names are global and optimizers must not touch it.
      if (this.weightVariable === null) this.weightVariable = tf.variable(tf.tensor1d(values), false);
      else this.weightVariable.assign(tf.tensor1d(values));
    });
    this.weights = values;
  }

  /** The per-class weights in use (a copy), or null when none. */
  getClassWeights(): number[] | null {
    return this.weights === null ? null : this.weights.slice();
  }

  /** Frees the class-weight variable, if any, and the invalid-row counter (through `StatefulLoss.dispose`). */
  protected override disposeState(): void {
    super.disposeState();
    this.weightVariable?.dispose();
    this.weightVariable = null;
  }

  /** Constructor arguments, all defaults filled in; `classWeights` are the weights in use now. */
  getConfig(): tf.serialization.ConfigDict {
    return {
      classCounts: this.classCounts.slice(),
      maxMargin: this.maxMargin,
      scale: this.scale,
      classWeights: this.getClassWeights(),
      fromLogits: this.fromLogits,
    };
  }
}
registerLoss(LDAMLoss);

/**
 * Creates an {@link LDAMLoss} (function form): `compile({loss: ldamLoss({classCounts})})`.
 * @throws Error on invalid arguments; see {@link LDAMLossArgs}.
 */
export function ldamLoss(args: LDAMLossArgs): LDAMLoss {
  return new LDAMLoss(args);
}
