import { accuracyFromTally } from '../../eval/balanced_accuracy';
import { SHOT_GROUPS, type ShotThresholds } from '../../eval/shot_groups';
import { OWNER } from './errors';

/** Scores of one evaluation. Fractions in [0, 1]. */
export interface LongTailScores {
  /** Mean per-class accuracy over the classes that have evaluation examples. */
  readonly balancedAccuracy: number;
  /** Pooled top-1 accuracy (correct / examples). */
  readonly accuracy: number;
  /** Accuracy of each class; `null` for a class without evaluation examples. */
  readonly perClass: readonly (number | null)[];
  /** Many-shot accuracy (mean over the group's classes); `null` when the group is empty. */
  readonly many: number | null;
  /** Medium-shot accuracy; `null` when the group is empty. */
  readonly medium: number | null;
  /** Few-shot accuracy; `null` when the group is empty. */
  readonly few: number | null;
}

/** One evaluation of {@link LongTailEvaluation.history}. Plain numbers and nulls only. */
export interface LongTailEvaluationEpoch {
  /** Epoch index as tfjs callbacks count it (0-based, `initialEpoch` included). */
  readonly epoch: number;
  /** Scores of the model's predictions (argmax of its output). */
  readonly scores: LongTailScores;
  /** Scores after prediction re-balancing; null without `rebalance`. */
  readonly rebalanced: LongTailScores | null;
  /** Wall-clock time of the evaluation, in milliseconds. */
  readonly milliseconds: number;
}

/** The scores of per-class tallies (correct and total evaluation examples of each class). */
export function scoresOf(correct: number[], total: number[], classCounts: readonly number[], thresholds: ShotThresholds): LongTailScores {
  const result = accuracyFromTally({ correct, total }, classCounts, thresholds);
  return {
    balancedAccuracy: result.balanced,
    accuracy: result.overall,
    perClass: result.perClass,
    many: result.groups!.many.accuracy,
    medium: result.groups!.medium.accuracy,
    few: result.groups!.few.accuracy,
  };
}

/** The line `verbose: 1` prints for one evaluation. */
export function describeRecord(record: LongTailEvaluationEpoch, rebalanceTau: number | null): string {
  const format = (scores: LongTailScores): string =>
    [`balanced ${fmt(scores.balancedAccuracy)}`, ...SHOT_GROUPS.map((g) => `${g} ${fmt(scores[g])}`)].join(', ');
  const rebalanced = record.rebalanced === null ? '' : `; re-balanced (tau ${rebalanceTau}): ${format(record.rebalanced)}`;
  return `${OWNER} epoch ${record.epoch}: ${format(record.scores)}${rebalanced} (${record.milliseconds} ms)`;
}

function fmt(value: number | null): string {
  return value === null ? '—' : value.toFixed(4);
}
