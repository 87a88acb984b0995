import * as tf from '@tensorflow/tfjs-core';

import { ClassificationLoss, type LossBatch } from './classification_loss';
import { registerLoss } from './register_loss';
import { checkPositiveClassArray, logs } from '../core/class_frequencies';
import { resolveArgs } from '../core/args';
import { checkKnownKeys } from '../core/known_keys';
import { predictionsToLogits } from '../core/logits';
import { shiftedSoftmaxCrossEntropy } from './softmax_cross_entropy';
import { checkBoolean } from '../core/validate';

/** Arguments of {@link BalancedSoftmaxLoss} / {@link balancedSoftmaxLoss}. */
export interface BalancedSoftmaxLossArgs {
  /** Training samples per class n_j, each > 0; length = numClasses. */
  readonly classCounts: readonly number[];
  /** Whether `yPred` are logits (default true). When false they are probabilities. */
  readonly fromLogits?: boolean;
}

/**
 * Balanced softmax cross-entropy.
 *
 * Ren et al., "Balanced Meta-Softmax for Long-Tailed Visual Recognition", NeurIPS 2020
 * (https://arxiv.org/abs/2007.10740). With n_j the training samples of class j, for a sample with label y
 * and logits z:
 *
 * ```text
 * L = -log( n_y exp(z_y) / sum_j n_j exp(z_j) ) = -log softmax(z + log n)_y
 * ```
 *
 * Computed as cross-entropy on `z + log(n)` through `logSoftmax`, so large counts cannot
 * overflow. It is the same loss as {@link LogitAdjustedLoss} with tau = 1: log(n_j) and
 * log(n_j / N) differ by the constant log N on every logit of a row. Predict with argmax z.
 *
 * Call signature `(yTrue, yPred) => Tensor1D`:
 * - `yTrue`: one-hot `[batch, numClasses]` or sparse class indices `[batch]` / `[batch, 1]`.
 * - `yPred`: float32 logits `[batch, numClasses]` (probabilities when `fromLogits` is false).
 * - returns float32 per-sample losses `[batch]`, so tfjs's `classWeight` keeps working.
 *
 * ```js
 * model.compile({ optimizer: 'adam', loss: balancedSoftmaxLoss({ classCounts: [500, 120, 9] }) });
 * ```
 *
 * Like every loss of the package (see {@link ClassificationLoss}): label rows that are not a
 * valid class get zero loss and zero gradient (training rows with them are counted and reported
 * with `console.warn`), and the function is named `balanced_softmax_loss`, so listing the loss in `metrics` too
 * keeps tfjs's `loss` / `val_loss` entries.
 *
 * @throws Error on invalid or unknown arguments (naming the argument, the value and what is
 *   allowed), on a `yTrue` or `yPred` that is not a numeric tensor, on a `yPred` that is not
 *   `[batch, numClasses]`, and on labels of another layout or batch size.
 */
export class BalancedSoftmaxLoss extends ClassificationLoss {
  static override className = 'tfjs-gala.BalancedSoftmaxLoss';

  /** Training samples per class n_j (a copy; each > 0). */
  readonly classCounts: readonly number[];
  /** Whether `yPred` is read as logits (true, default) or as probabilities (false). */
  readonly fromLogits: boolean;
  /** Number of classes C = `classCounts.length`: `yPred` must be `[batch, C]`. */
  readonly numClasses: number;
  private readonly logCounts: Float32Array;

  constructor(args: BalancedSoftmaxLossArgs) {
    super();
    const merged = resolveArgs('BalancedSoftmaxLoss', args, { fromLogits: true }, '{classCounts: [500, 120, 9]}');
    checkKnownKeys('BalancedSoftmaxLoss', merged, ['classCounts', 'fromLogits']);
    this.classCounts = checkPositiveClassArray('BalancedSoftmaxLoss: classCounts', merged.classCounts);
    this.fromLogits = checkBoolean('BalancedSoftmaxLoss: fromLogits', merged.fromLogits);
    this.numClasses = this.classCounts.length;
    this.logCounts = logs(this.classCounts);
  }

  /** -log softmax(z + log n)_y per row (see the class docs). */
  protected perSampleLosses({ labels, yPred }: LossBatch): tf.Tensor1D {
    return shiftedSoftmaxCrossEntropy(labels().oneHot, predictionsToLogits(yPred, this.fromLogits), this.logCounts);
  }

  /** The length of `classCounts`. */
  protected expectedNumClasses(): number {
    return this.numClasses;
  }

  /** Constructor arguments, all defaults filled in. */
  getConfig(): tf.serialization.ConfigDict {
    return { classCounts: this.classCounts.slice(), fromLogits: this.fromLogits };
  }
}
registerLoss(BalancedSoftmaxLoss);

/**
 * Creates a {@link BalancedSoftmaxLoss} (function form): `compile({loss: balancedSoftmaxLoss({classCounts})})`.
 * @throws Error on invalid arguments; see {@link BalancedSoftmaxLossArgs}.
 */
export function balancedSoftmaxLoss(args: BalancedSoftmaxLossArgs): BalancedSoftmaxLoss {
  return new BalancedSoftmaxLoss(args);
}
