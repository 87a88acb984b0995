import * as tf from '@tensorflow/tfjs-core';

import { ClassificationLoss, type LossBatch } from './classification_loss';
import { registerLoss } from './register_loss';
import { checkPositiveClassArray, logs, priorsFrom } from '../core/class_frequencies';
import { resolveArgs } from '../core/args';
import { checkKnownKeys } from '../core/known_keys';
import { predictionsToLogits } from '../core/logits';
import { shiftedSoftmaxCrossEntropy } from './softmax_cross_entropy';
import { checkBoolean, checkNumber } from '../core/validate';

/** Arguments of {@link LogitAdjustedLoss} / {@link logitAdjustedLoss}. Give exactly one of `classCounts` and `priors`. */
export interface LogitAdjustedLossArgs {
  /** Temperature tau (>= 0, default 1, the paper's choice; 0 gives plain cross-entropy). */
  readonly tau?: number;
  /** Training samples per class, each > 0; length = numClasses. */
  readonly classCounts?: readonly number[] | null;
  /** Class priors pi_j (training label frequencies), each > 0; normalised to sum 1. Length = numClasses. */
  readonly priors?: readonly number[] | null;
  /** Whether `yPred` are logits (default true). When false they are probabilities. */
  readonly fromLogits?: boolean;
}

const DEFAULTS = {
  tau: 1,
  classCounts: null as readonly number[] | null,
  priors: null as readonly number[] | null,
  fromLogits: true,
};
const ARGUMENTS = Object.keys(DEFAULTS);

/**
 * Logit-adjusted softmax cross-entropy.
 *
 * Menon et al., "Long-tail learning via logit adjustment", ICLR 2021 (https://arxiv.org/abs/2007.07314).
 * With class priors pi (training label frequencies), for a sample with label y and logits z:
 *
 * ```text
 * L = -log softmax(z + tau * log(pi))_y
 * ```
 *
 * Training with the prior added makes the raw logits z estimate the balanced (prior-free)
 * posterior, so predict with argmax z as usual. With tau = 1 this is the balanced softmax
 * loss (Ren et al. 2020): log(pi_j) and log(n_j) differ by one constant per row. The post-hoc
 * form, for a model trained with plain cross-entropy, is {@link adjustLogitsPostHoc}.
 *
 * Call signature `(yTrue, yPred) => Tensor1D`:
 * - `yTrue`: one-hot `[batch, numClasses]` or sparse class indices `[batch]` / `[batch, 1]`.
 * - `yPred`: float32 logits `[batch, numClasses]` (probabilities when `fromLogits` is false).
 * - returns float32 per-sample losses `[batch]`, so tfjs's `classWeight` keeps working.
 *
 * ```js
 * model.compile({ optimizer: 'adam', loss: logitAdjustedLoss({ classCounts: [500, 120, 9] }) });
 * ```
 *
 * Like every loss of the package (see {@link ClassificationLoss}): label rows that are not a
 * valid class get zero loss and zero gradient (training rows with them are counted and reported
 * with `console.warn`), and the function is named `logit_adjusted_loss`, so listing the loss in `metrics` too
 * keeps tfjs's `loss` / `val_loss` entries.
 *
 * @throws Error on invalid or unknown arguments (naming the argument, the value and what is
 *   allowed; both or neither of `classCounts` and `priors`), on a `yTrue` or `yPred` that is not a
 *   numeric tensor, on a `yPred` that is not `[batch, numClasses]`, and on labels of another
 *   layout or batch size.
 */
export class LogitAdjustedLoss extends ClassificationLoss {
  static override className = 'tfjs-gala.LogitAdjustedLoss';

  /** Temperature tau on log(pi) (>= 0; default 1; 0 gives plain cross-entropy). */
  readonly tau: number;
  /** Training samples per class, as given (a copy), or null when `priors` were given instead. */
  readonly classCounts: readonly number[] | null;
  /** Class priors as given (a copy, not normalised), or null when `classCounts` were given instead. */
  readonly priors: readonly number[] | null;
  /** Whether `yPred` is read as logits (true, default) or as probabilities (false). */
  readonly fromLogits: boolean;
  /** Number of classes C, the length of `classCounts` or `priors`: `yPred` must be `[batch, C]`. */
  readonly numClasses: number;
  // tau * log(pi_j), float32, length numClasses.
  private readonly shift: Float32Array;

  constructor(args: LogitAdjustedLossArgs) {
    super();
    const merged = resolveArgs('LogitAdjustedLoss', args, DEFAULTS, '{classCounts: [500, 120, 9]}');
    checkKnownKeys('LogitAdjustedLoss', merged, ARGUMENTS);
    this.tau = checkNumber('LogitAdjustedLoss: tau', merged.tau, { min: 0 });
    // Checked here first so that the messages name the class (priorsFrom checks them unnamed).
    if (merged.classCounts != null) checkPositiveClassArray('LogitAdjustedLoss: classCounts', merged.classCounts);
    if (merged.priors != null) checkPositiveClassArray('LogitAdjustedLoss: priors', merged.priors);
    const priors = priorsFrom('LogitAdjustedLoss', merged.classCounts, merged.priors);
    this.classCounts = merged.classCounts == null ? null : merged.classCounts.slice();
    this.priors = merged.priors == null ? null : merged.priors.slice();
    this.fromLogits = checkBoolean('LogitAdjustedLoss: fromLogits', merged.fromLogits);
    this.numClasses = priors.length;
    this.shift = logs(priors).map((v) => this.tau * v);
  }

  /** -log softmax(z + tau log pi)_y per row (see the class docs). */
  protected perSampleLosses({ labels, yPred }: LossBatch): tf.Tensor1D {
    return shiftedSoftmaxCrossEntropy(labels().oneHot, predictionsToLogits(yPred, this.fromLogits), this.shift);
  }

  /** The length of `classCounts` or `priors`. */
  protected expectedNumClasses(): number {
    return this.numClasses;
  }

  /** Constructor arguments, all defaults filled in (the absent one of classCounts / priors is null). */
  getConfig(): tf.serialization.ConfigDict {
    return {
      tau: this.tau,
      classCounts: this.classCounts === null ? null : this.classCounts.slice(),
      priors: this.priors === null ? null : this.priors.slice(),
      fromLogits: this.fromLogits,
    };
  }
}
registerLoss(LogitAdjustedLoss);

/**
 * Creates a {@link LogitAdjustedLoss} (function form): `compile({loss: logitAdjustedLoss({classCounts})})`.
 * @throws Error on invalid arguments; see {@link LogitAdjustedLossArgs}.
 */
export function logitAdjustedLoss(args: LogitAdjustedLossArgs): LogitAdjustedLoss {
  return new LogitAdjustedLoss(args);
}
