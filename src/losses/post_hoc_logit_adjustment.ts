import * as tf from '@tensorflow/tfjs-core';

import { checkPositiveClassArray, logs, priorsFrom } from '../core/class_frequencies';
import { resolveArgs } from '../core/args';
import { checkNumber } from '../core/validate';

/** Arguments of {@link adjustLogitsPostHoc}. Give exactly one of `classCounts` and `priors`. */
export interface PostHocAdjustmentArgs {
  /** Temperature tau (>= 0, default 1; Menon et al. also tune it on a held-out set). */
  readonly tau?: number;
  /** Training samples per class, each > 0; length = numClasses. */
  readonly classCounts?: readonly number[] | null;
  /** Class priors pi_j (training label frequencies), each > 0; normalised to sum 1. */
  readonly priors?: readonly number[] | null;
}

/**
 * Post-hoc logit adjustment of a model trained with plain cross-entropy.
 *
 * Menon et al., "Long-tail learning via logit adjustment", ICLR 2021 (https://arxiv.org/abs/2007.07314):
 *
 * ```text
 * adjusted_j = z_j - tau * log(pi_j)        prediction = argmax_j adjusted_j
 * ```
 *
 * Subtracting the log prior removes the training label distribution from the logits, so the
 * argmax targets balanced error. Priors are normalised first; that only shifts each row by a
 * constant, so softmax and argmax of the result are the same either way.
 *
 * @param logits float32 `[batch, numClasses]` (raw logits, not probabilities).
 * @returns float32 `[batch, numClasses]`, a new tensor (the caller disposes it).
 * @throws Error on invalid arguments (naming the argument, the value and what is allowed) and
 *   on logits that are not `[batch, numClasses]`.
 */
export function adjustLogitsPostHoc(logits: tf.Tensor, args: PostHocAdjustmentArgs): tf.Tensor2D {
  const merged = resolveArgs('adjustLogitsPostHoc', args, { tau: 1, classCounts: null, priors: null }, '{classCounts: [500, 120, 9]}');
  const tau = checkNumber('adjustLogitsPostHoc: tau', merged.tau, { min: 0 });
  // Checked here first so that the messages name the function (priorsFrom checks them unnamed).
  if (merged.classCounts != null) checkPositiveClassArray('adjustLogitsPostHoc: classCounts', merged.classCounts);
  if (merged.priors != null) checkPositiveClassArray('adjustLogitsPostHoc: priors', merged.priors);
  const priors = priorsFrom('adjustLogitsPostHoc', merged.classCounts, merged.priors);
  const c = priors.length;
  if (!(logits instanceof tf.Tensor) || logits.rank !== 2 || logits.shape[1] !== c) {
    const got = logits instanceof tf.Tensor ? `shape [${logits.shape.join(', ')}]` : String(logits);
    throw new Error(`adjustLogitsPostHoc: logits must be a [batch, ${c}] tensor (${c} classes, from the counts or priors); received ${got}.`);
  }
  const shift = logs(priors).map((v) => -tau * v);
  return tf.tidy(() => tf.add(tf.cast(logits, 'float32'), tf.tensor2d(shift, [1, c])) as tf.Tensor2D);
}
