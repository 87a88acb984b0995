import * as tf from '@tensorflow/tfjs-core';

import { priorsFrom } from '../core/class_frequencies';
import { predictionsToLogits } from '../core/logits';
import { formatShape } from '../core/shapes';
import { checkBoolean, checkNumberArray } from '../core/validate';
import { PredictionRebalance, predictionRebalance, type PredictionRebalanceArgs } from '../layers/prediction_rebalance';
import {
  checkPredictionValues,
  logClassMass,
  rebalanceLogProbabilities,
  toLogProbabilities,
} from '../layers/rebalance_math';
import { adjustLogitsPostHoc } from '../losses/post_hoc_logit_adjustment';
import { accuracyFromTally, type ClassBalancedAccuracy } from './balanced_accuracy';
import { toClassIndices } from './class_indices';
import { SHOT_THRESHOLDS, type ShotThresholds } from './shot_groups';

/**
 * Choosing tau on held-out predictions, for prediction re-balancing (Zhang et al., ICASSP 2024)
 * and post-hoc logit adjustment (Menon et al., ICLR 2021): each value of a grid is scored by
 * balanced accuracy and the best is kept.
 */

/**
 * Default tau grid: 0, 0.25, ..., 2.0 (9 values).
 *
 * - 0 means "no adjustment", so the chosen tau is never worse than the unadjusted model on the
 *   held-out set.
 * - 2.0 lies above every published value: re-balancing 1 (CIFAR), 1.4 (Places-LT), 1.5
 *   (iNaturalist 2018), 1.7 (ImageNet-LT) in the GALA paper; logit adjustment 1 in Menon et al.
 * - A step of 0.25 resolves those values to within 0.125 while keeping the search to 9
 *   evaluations; a finer grid mostly fits the noise of a small held-out set.
 */
export const DEFAULT_TAU_GRID: readonly number[] = Object.freeze([0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2]);

/** One row of a tau search. Accuracies are fractions in [0, 1]. */
export interface TauSearchRow {
  /** The tau evaluated. */
  readonly tau: number;
  /** Mean per-class accuracy on the held-out set (classes without examples left out): the score maximised. */
  readonly balancedAccuracy: number;
  /** Pooled top-1 accuracy (correct / examples). */
  readonly accuracy: number;
  /** Many-shot accuracy; `null` for an empty group or when no `classCounts` were given. */
  readonly many: number | null;
  /** Medium-shot accuracy; `null` for an empty group or when no `classCounts` were given. */
  readonly medium: number | null;
  /** Few-shot accuracy; `null` for an empty group or when no `classCounts` were given. */
  readonly few: number | null;
}

/** Result of a tau search. */
export interface TauSearchResult {
  /** The tau with the highest balanced accuracy; the smallest such tau on a tie. */
  readonly tau: number;
  /** Balanced accuracy at that tau. */
  readonly balancedAccuracy: number;
  /** Every tau of the grid, in increasing order. */
  readonly table: readonly TauSearchRow[];
}

/** Result of {@link tuneRebalanceTau}: what {@link calibratedRebalance} needs to build the layer. */
export interface RebalanceTauResult extends TauSearchResult {
  /** How the predictions were read (logits or probabilities): the layer must read its input the same way. */
  readonly fromLogits: boolean;
  /**
   * Mean predicted probability of each class over the held-out set (sums to 1): the class mass
   * a `PredictionRebalance` in mode `'calibrated'` stores after `adapt` on the same predictions.
   */
  readonly classMass: readonly number[];
}

/** Options of {@link tuneRebalanceTau}. */
export interface TuneRebalanceTauOptions {
  /** TRAINING examples per class (length numClasses): adds many/medium/few to the table. Optional. */
  readonly classCounts?: readonly number[] | null;
  /** Values of tau to try, each finite and >= 0 (0: no re-balancing). Default {@link DEFAULT_TAU_GRID}. */
  readonly grid?: readonly number[];
  /** Whether `predictions` are logits (true, default) or probabilities (false). */
  readonly fromLogits?: boolean;
  /** Shot-group boundaries (default many-shot > 100, few-shot < 20). */
  readonly thresholds?: ShotThresholds;
}

/** Options of {@link tuneLogitAdjustmentTau}. Give exactly one of `classCounts` and `priors`. */
export interface TuneLogitAdjustmentTauOptions {
  /** TRAINING examples per class, each > 0: the priors, and the shot groups of the table. */
  readonly classCounts?: readonly number[] | null;
  /** Class priors (training label frequencies), each > 0. With priors the table has no shot groups. */
  readonly priors?: readonly number[] | null;
  /** Values of tau to try, each finite and >= 0 (0: no adjustment). Default {@link DEFAULT_TAU_GRID}. */
  readonly grid?: readonly number[];
  /**
   * Whether `logits` are logits (true, default) or probabilities (false: their log is used, which
   * differs from the logits by one constant per row and so gives the same predictions).
   */
  readonly fromLogits?: boolean;
  /** Shot-group boundaries (default many-shot > 100, few-shot < 20). */
  readonly thresholds?: ShotThresholds;
}

/**
 * Picks tau for prediction re-balancing on held-out predictions by balanced accuracy.
 *
 * For each tau of the grid the whole set is re-balanced as in the paper,
 * `argmax_j p_ij / m_j^tau` with `m_j = sum_n p_nj` over the set (the same computation as
 * `rebalancedArgMax`; tau = 0 is the plain argmax), and scored by balanced accuracy. Ties go to
 * the smallest tau (the least adjustment that reaches the score).
 *
 * Use predictions of a held-out split (not the test set): the tuned tau is then applied to new
 * data through a `PredictionRebalance` layer in mode `'calibrated'`, built in one call with
 * {@link calibratedRebalance}.
 *
 * Source: Zhang et al., "Gradient-Aware Logit Adjustment Loss for Long-tailed Classifier",
 * ICASSP 2024, arXiv 2403.09036, prediction re-balancing (tau tuned per dataset: 1, 1.4, 1.5, 1.7).
 *
 * @param predictions logits (default) or probabilities `[N, numClasses]`, any float dtype. Not disposed.
 * @param labels class indices `[N]` / `[N, 1]` (array or tensor) or one-hot `[N, numClasses]`. Not disposed.
 * @param options `classCounts`, `grid`, `fromLogits`, `thresholds`.
 * @returns the best tau, its balanced accuracy, the table over the grid (increasing tau), how the
 *   predictions were read, and the class mass over the set. Reads back one `[N]` vector per tau.
 * @throws Error when `predictions` is not a non-empty `[N, C]` tensor or holds invalid values
 *   (as `rebalancePredictions`), labels are not N class indices in [0, C), the grid is empty or
 *   holds a value that is not a finite number >= 0, or `classCounts` does not have C entries.
 *
 * @example
 * ```ts
 * const heldOut = model.predict(valImages) as tf.Tensor2D;          // logits [N, C]
 * const result = tuneRebalanceTau(heldOut, valLabels, { classCounts: trainCounts });
 * console.table(result.table);
 * const layer = await calibratedRebalance(result);                 // mode 'calibrated', tau = result.tau
 * ```
 */
export function tuneRebalanceTau(
  predictions: tf.Tensor,
  labels: tf.Tensor | ArrayLike<number>,
  options: TuneRebalanceTauOptions = {},
): RebalanceTauResult {
  const caller = 'tuneRebalanceTau';
  const fromLogits = checkBoolean(`${caller}: fromLogits`, options.fromLogits ?? true);
  const { numClasses, grid, actual, classCounts, thresholds } = readCommon(caller, predictions, labels, options);
  checkPredictionValues(predictions as tf.Tensor2D, fromLogits, `${caller}: predictions`);

  const logP = toLogProbabilities(predictions, fromLogits);
  const logMass = logClassMass(logP);
  try {
    const table = grid.map((tau) => {
      const predicted = tf.tidy(() => tf.argMax(rebalanceLogProbabilities(logP, logMass, tau), 1));
      return row(tau, predicted, actual, numClasses, classCounts, thresholds);
    });
    const classMass = tf.tidy(() => tf.div(tf.exp(logMass), tf.sum(tf.exp(logMass))));
    const mass = Array.from(classMass.dataSync());
    classMass.dispose();
    return { ...best(table), table, fromLogits, classMass: mass };
  } finally {
    tf.dispose([logP, logMass]);
  }
}

/**
 * Picks tau for post-hoc logit adjustment on held-out logits by balanced accuracy.
 *
 * For each tau of the grid the prediction is `argmax_j (z_j - tau * log pi_j)`
 * ({@link adjustLogitsPostHoc}; tau = 0 is the plain argmax), scored by balanced accuracy. Ties
 * go to the smallest tau.
 *
 * Source: Menon et al., "Long-tail learning via logit adjustment", ICLR 2021
 * (https://arxiv.org/abs/2007.07314), Section 4 (post-hoc correction; tau tuned on held-out data).
 *
 * @param logits `[N, numClasses]` logits (or probabilities with `fromLogits: false`), any float dtype. Not disposed.
 * @param labels class indices `[N]` / `[N, 1]` (array or tensor) or one-hot `[N, numClasses]`. Not disposed.
 * @param options exactly one of `classCounts` / `priors`; `grid`, `fromLogits`, `thresholds`.
 * @returns the best tau, its balanced accuracy and the table over the grid (increasing tau).
 * @throws Error when both or neither of `classCounts` and `priors` are given or one is invalid
 *   (each entry must be > 0), `logits` is not a non-empty `[N, C]` tensor or holds NaN / +Infinity,
 *   labels are not N class indices in [0, C), or the grid is empty or holds a value that is not a
 *   finite number >= 0.
 *
 * @example
 * ```ts
 * const result = tuneLogitAdjustmentTau(valLogits, valLabels, { classCounts: trainCounts });
 * const adjusted = adjustLogitsPostHoc(testLogits, { classCounts: trainCounts, tau: result.tau });
 * ```
 */
export function tuneLogitAdjustmentTau(
  logits: tf.Tensor,
  labels: tf.Tensor | ArrayLike<number>,
  options: TuneLogitAdjustmentTauOptions,
): TauSearchResult {
  const caller = 'tuneLogitAdjustmentTau';
  if (options == null || typeof options !== 'object') {
    throw new Error(`${caller}: options must be an object like {classCounts: [500, 120, 9]}; received ${String(options)}.`);
  }
  const fromLogits = checkBoolean(`${caller}: fromLogits`, options.fromLogits ?? true);
  const { numClasses, grid, actual, thresholds } = readCommon(caller, logits, labels, { ...options, classCounts: null });
  checkPredictionValues(logits as tf.Tensor2D, fromLogits, `${caller}: logits`);
  const frequencies = { classCounts: options.classCounts ?? null, priors: options.priors ?? null };
  const priors = priorsFrom(caller, frequencies.classCounts, frequencies.priors);
  if (priors.length !== numClasses) {
    const name = frequencies.classCounts != null ? 'classCounts' : 'priors';
    throw new Error(`${caller}: ${name} must have one entry per class of logits (${numClasses}); received ${priors.length}.`);
  }
  const classCounts = frequencies.classCounts == null ? null : frequencies.classCounts.slice();

  const z = predictionsToLogits(logits, fromLogits);
  try {
    const table = grid.map((tau) => {
      const predicted = tf.tidy(() => tf.argMax(adjustLogitsPostHoc(z, { ...frequencies, tau }), 1));
      return row(tau, predicted, actual, numClasses, integerCounts(classCounts), thresholds);
    });
    return { ...best(table), table };
  } finally {
    if (z !== logits) z.dispose();
  }
}

/**
 * A `PredictionRebalance` layer in mode `'calibrated'` with the tuned tau and the class mass of
 * the held-out set, in one call.
 *
 * The layer's mass is set through `adapt` with a single row whose probabilities are
 * `result.classMass` (given as logits `log m` when `result.fromLogits`), which stores exactly that
 * mass: the same as adapting on the held-out predictions themselves, without keeping them. The
 * layer reads its input as the predictions were read (`result.fromLogits`).
 *
 * @param result the output of {@link tuneRebalanceTau}.
 * @param layerArgs other layer arguments (`name`, ...); `mode`, `tau`, `fromLogits` and the mass come from `result`.
 * @returns an adapted layer: `layer.apply(logits)` gives re-balanced probabilities `[batch, C]`.
 * @throws Error when `result.tau` is 0 (re-balancing did not help on the held-out set: use the
 *   model's outputs as they are), or when a class has mass 0 (the model never predicts it there).
 */
export async function calibratedRebalance(
  result: RebalanceTauResult,
  layerArgs: Omit<PredictionRebalanceArgs, 'mode' | 'tau' | 'fromLogits' | 'classPriors'> = {},
): Promise<PredictionRebalance> {
  if (result == null || !Array.isArray(result.classMass) || typeof result.tau !== 'number') {
    throw new Error(`calibratedRebalance: result must be the output of tuneRebalanceTau; received ${describe(result)}.`);
  }
  if (!(result.tau > 0)) {
    throw new Error(
      `calibratedRebalance: result.tau must be > 0; received ${result.tau} (no re-balancing scored best on the held-out ` +
        `set, so use the model's outputs as they are, or tune on a larger held-out set).`,
    );
  }
  const layer = predictionRebalance({ ...layerArgs, mode: 'calibrated', tau: result.tau, fromLogits: result.fromLogits });
  const mass = result.classMass;
  const row = result.fromLogits ? mass.map((m) => Math.log(m)) : mass.slice();
  const data = tf.tensor2d([row], [1, mass.length], 'float32');
  try {
    await layer.adapt(data);
  } finally {
    data.dispose();
  }
  return layer;
}

function readCommon(
  caller: string,
  predictions: tf.Tensor,
  labels: tf.Tensor | ArrayLike<number>,
  options: { classCounts?: readonly number[] | null; grid?: readonly number[]; thresholds?: ShotThresholds },
): { numClasses: number; grid: number[]; actual: Int32Array; classCounts: number[] | null; thresholds: ShotThresholds } {
  if (!(predictions instanceof tf.Tensor) || predictions.rank !== 2 || predictions.shape[0] === 0 || (predictions.shape[1] as number) < 2) {
    const got = predictions instanceof tf.Tensor ? `shape ${formatShape(predictions.shape)}` : describe(predictions);
    throw new Error(`${caller}: predictions must be a tf.Tensor [N, numClasses] with N >= 1 and numClasses >= 2; received ${got}.`);
  }
  const [n, numClasses] = predictions.shape;
  const grid = checkNumberArray(`${caller}: grid`, options.grid ?? DEFAULT_TAU_GRID.slice(), null, 0);
  if (grid.length === 0) throw new Error(`${caller}: grid must hold at least one tau; received [].`);
  const sorted = Array.from(new Set(grid)).sort((a, b) => a - b);
  const actual = toClassIndices(labels as tf.Tensor | ArrayLike<number>, numClasses, `${caller}: labels`);
  if (actual.length !== n) {
    throw new Error(`${caller}: labels must have one entry per row of predictions (${n}); received ${actual.length}.`);
  }
  const classCounts = options.classCounts == null ? null : checkNumberArray(`${caller}: classCounts`, options.classCounts, numClasses, 0);
  return { numClasses, grid: sorted, actual, classCounts: integerCounts(classCounts), thresholds: options.thresholds ?? SHOT_THRESHOLDS };
}

/** Shot groups need integer counts; non-integer counts (e.g. pseudo-counts) give no groups. */
function integerCounts(counts: number[] | null): number[] | null {
  return counts != null && counts.every(Number.isInteger) ? counts : null;
}

function row(
  tau: number,
  predicted: tf.Tensor,
  actual: Int32Array,
  numClasses: number,
  classCounts: number[] | null,
  thresholds: ShotThresholds,
): TauSearchRow {
  const indices = predicted.dataSync();
  predicted.dispose();
  const correct = new Array<number>(numClasses).fill(0);
  const total = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < actual.length; i++) {
    total[actual[i]]++;
    if (indices[i] === actual[i]) correct[actual[i]]++;
  }
  const scores: ClassBalancedAccuracy = accuracyFromTally({ correct, total }, classCounts, thresholds);
  return {
    tau,
    balancedAccuracy: scores.balanced,
    accuracy: scores.overall,
    many: scores.groups?.many.accuracy ?? null,
    medium: scores.groups?.medium.accuracy ?? null,
    few: scores.groups?.few.accuracy ?? null,
  };
}

/** Highest balanced accuracy; `table` is in increasing tau, so a strict comparison keeps the smallest tau on a tie. */
function best(table: readonly TauSearchRow[]): { tau: number; balancedAccuracy: number } {
  let chosen = table[0];
  for (const candidate of table) if (candidate.balancedAccuracy > chosen.balancedAccuracy) chosen = candidate;
  return { tau: chosen.tau, balancedAccuracy: chosen.balancedAccuracy };
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') return `an object with keys [${Object.keys(value as object).slice(0, 8).join(', ')}]`;
  return `${typeof value} ${String(value)}`;
}
