import * as tf from '@tensorflow/tfjs-core';

import { ClassificationLoss, type LossBatch } from './classification_loss';
import { registerLoss } from './register_loss';
import { resolveArgs } from '../core/args';
import { checkKnownKeys } from '../core/known_keys';
import { predictionsToLogits } from '../core/logits';
import { softmaxCrossEntropy } from './softmax_cross_entropy';
import { checkBoolean } from '../core/validate';

/** Arguments of {@link CrossEntropyLoss} / {@link crossEntropyLoss}. */
export interface CrossEntropyLossArgs {
  /**
   * Whether `yPred` are logits (default true, as for every loss of this package: a model that
   * ends in a dense layer without activation). When false they are probabilities (a model that
   * ends in a softmax), and their log is used, clipped at 1e-7.
   */
  readonly fromLogits?: boolean;
}

const DEFAULTS = { fromLogits: true };
const ARGUMENTS = Object.keys(DEFAULTS);

/**
 * Softmax cross-entropy, the baseline every long-tail method is measured against, as a loss
 * that saves and loads with the model (a plain function loss cannot: tfjs writes it as `{}`).
 *
 * For a sample with label y and logits z (length C):
 *
 * ```text
 * L = -log softmax(z)_y = logSumExp_j(z_j) - z_y
 * ```
 *
 * computed with `logSoftmax`, which subtracts the row maximum first, so no logit overflows.
 * It equals `tf.losses.softmaxCrossEntropy` with `Reduction.NONE`, and the baselines of this
 * package at their neutral settings: `logitAdjustedLoss` with tau = 0, `focalLoss` with
 * gamma = 0, `ldamLoss` with maxMargin = 0 and scale = 1, `galaLoss` with lambda1 = lambda2 = 0.
 *
 * The number of classes is read from `yPred` on each call, so the loss takes no `numClasses`
 * (as Keras's `CategoricalCrossentropy`). Class weights come from `fit({classWeight})`
 * (see `toClassWeightMap`), which multiplies each per-sample loss by the weight of its class.
 *
 * Call signature `(yTrue, yPred) => Tensor1D`:
 * - `yTrue`: one-hot `[batch, numClasses]` or sparse class indices `[batch]` / `[batch, 1]`.
 *   `model.fit` / `trainOnBatch` in tfjs-layers 4.22 check targets against the output shape for
 *   custom losses, so pass one-hot labels there; sparse labels work with `fitDataset` and
 *   direct calls.
 * - `yPred`: float32 logits `[batch, numClasses]`, numClasses >= 2 (probabilities when
 *   `fromLogits` is false).
 * - returns float32 per-sample losses `[batch]`, so tfjs's `classWeight` keeps working.
 *
 * ```js
 * import * as tf from '@tensorflow/tfjs';
 * import { crossEntropyLoss } from 'tfjs-gala';
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 10, inputShape: [784] })] });
 * model.compile({ optimizer: tf.train.adam(1e-3), loss: crossEntropyLoss() });
 * await model.fit(xs, ys, { epochs: 5 });                  // ys one-hot [N, 10]
 * await model.save('indexeddb://ce', { includeOptimizer: true }); // the loss is saved too
 * ```
 *
 * Like every loss of the package (see {@link ClassificationLoss}): label rows that are not a
 * valid class get zero loss and zero gradient (training rows with them are counted and reported
 * with `console.warn`), and the function is named `cross_entropy_loss`, so listing the loss in `metrics` too
 * keeps tfjs's `loss` / `val_loss` entries.
 *
 * @throws Error on invalid or unknown arguments (`CrossEntropyLoss: fromLogits must be true or
 *   false; received ...`), on a `yTrue` or `yPred` that is not a numeric tensor, on a `yPred` that
 *   is not `[batch, numClasses]` with numClasses >= 2, and on labels of another layout or batch
 *   size.
 */
export class CrossEntropyLoss extends ClassificationLoss {
  static override className = 'tfjs-gala.CrossEntropyLoss';

  /** Whether `yPred` is read as logits (true, default) or as probabilities (false). */
  readonly fromLogits: boolean;

  constructor(args?: CrossEntropyLossArgs) {
    super();
    const merged = resolveArgs('CrossEntropyLoss', args, DEFAULTS, '{fromLogits: true}');
    checkKnownKeys('CrossEntropyLoss', merged, ARGUMENTS);
    this.fromLogits = checkBoolean('CrossEntropyLoss: fromLogits', merged.fromLogits);
  }

  /** -log softmax(z)_y per row (see the class docs). */
  protected perSampleLosses({ labels, yPred }: LossBatch): tf.Tensor1D {
    return softmaxCrossEntropy(labels().oneHot, predictionsToLogits(yPred, this.fromLogits));
  }

  /** Any number of classes >= 2, read from `yPred`. */
  protected expectedNumClasses(): null {
    return null;
  }

  /** Constructor arguments, all defaults filled in. */
  getConfig(): tf.serialization.ConfigDict {
    return { fromLogits: this.fromLogits };
  }
}
registerLoss(CrossEntropyLoss);

/**
 * Creates a {@link CrossEntropyLoss} (Keras-style function form):
 * `model.compile({loss: crossEntropyLoss()})`.
 * @throws Error on invalid arguments; see {@link CrossEntropyLossArgs}.
 */
export function crossEntropyLoss(args?: CrossEntropyLossArgs): CrossEntropyLoss {
  return new CrossEntropyLoss(args);
}
