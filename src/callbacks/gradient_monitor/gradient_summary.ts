import { SHOT_GROUPS, SHOT_THRESHOLDS, shotGroups, type ShotGroup, type ShotThresholds } from '../../eval/shot_groups';
import { checkNumberArray } from '../../core/validate';
import { rowCoefficientOfVariation, type GradientStatistics } from './gradient_statistics';

/** Gradient ratio and negative-gradient spread of one shot group. */
export interface ShotGroupGradients {
  /** Class indices in the group (by training count, see `src/eval/shot_groups`). */
  classes: number[];
  /** Mean over the group's classes of the positive / negative gradient ratio; null when no class has one (or the group is empty). */
  meanRatio: number | null;
  /** Mean over the group's classes of the coefficient of variation of their negative-gradient row; null likewise. */
  meanRowCoefficientOfVariation: number | null;
}

/**
 * The numbers the paper's gradient analysis compares between losses (Zhang et al., ICASSP 2024,
 * Section 1): per class and per shot group, the positive / negative gradient ratio and how
 * unevenly each classifier's negative gradient is spread over the other classes.
 */
export interface GradientImbalanceSummary {
  /** Positive / negative gradient ratio per class (copied from the statistics). */
  ratio: (number | null)[];
  /** Coefficient of variation of each row of the negative-gradient matrix (off-diagonal), per class. */
  rowCoefficientOfVariation: (number | null)[];
  /** Per shot group; an empty group has `classes: []` and null means, never 0. */
  groups: Record<ShotGroup, ShotGroupGradients>;
}

/**
 * Summarises a monitor's statistics (usually `monitor.cumulative`) by shot group.
 *
 * The paper reports that under cross-entropy the few-shot classes have a far smaller ratio and
 * far more uneven negative gradients than under GALA: compare `groups.few.meanRatio` and
 * `groups.few.meanRowCoefficientOfVariation` between runs on the same data.
 *
 * @param statistics ratio and negative-gradient matrix, numClasses long.
 * @param classCounts training examples per class (non-negative integers), numClasses long.
 * @param thresholds shot-group boundaries; default many-shot > 100, few-shot < 20 training examples.
 * @throws Error when `classCounts` is not an array of numClasses non-negative integers.
 *
 * @example
 * const summary = summarizeGradientImbalance(monitor.cumulative, trainCounts);
 * console.log(summary.groups.few.meanRatio, summary.groups.few.meanRowCoefficientOfVariation);
 */
export function summarizeGradientImbalance(
  statistics: Pick<GradientStatistics, 'ratio' | 'negative'>,
  classCounts: readonly number[],
  thresholds: ShotThresholds = SHOT_THRESHOLDS,
): GradientImbalanceSummary {
  const numClasses = statistics.ratio.length;
  const counts = checkNumberArray('summarizeGradientImbalance: classCounts', classCounts, numClasses, 0);
  const spread = rowCoefficientOfVariation(statistics.negative);
  const members = shotGroups(counts, thresholds);
  const groups = {} as Record<ShotGroup, ShotGroupGradients>;
  for (const group of SHOT_GROUPS) {
    const classes = members[group];
    groups[group] = {
      classes,
      meanRatio: meanOfDefined(classes.map((j) => statistics.ratio[j])),
      meanRowCoefficientOfVariation: meanOfDefined(classes.map((j) => spread[j])),
    };
  }
  return { ratio: statistics.ratio.slice(), rowCoefficientOfVariation: spread, groups };
}

function meanOfDefined(values: readonly (number | null)[]): number | null {
  const defined = values.filter((v): v is number => v != null);
  return defined.length === 0 ? null : defined.reduce((s, v) => s + v, 0) / defined.length;
}
