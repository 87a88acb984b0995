/**
 * Shot groups, the evaluation convention of long-tailed recognition (Liu et al., "Large-Scale
 * Long-Tailed Recognition in an Open World", CVPR 2019, §5): classes are grouped by their
 * number of TRAINING examples into many-shot (> 100), medium-shot (20..100) and few-shot (< 20).
 */

/** Boundaries of the shot groups, in training examples per class. */
export interface ShotThresholds {
  /** A class with more than this many training examples is many-shot. */
  readonly manyShotAbove: number;
  /** A class with fewer than this many training examples is few-shot. */
  readonly fewShotBelow: number;
}

/** Many-shot: more than 100 training examples. */
export const MANY_SHOT_ABOVE = 100;
/** Few-shot: fewer than 20 training examples. */
export const FEW_SHOT_BELOW = 20;

/** The field's thresholds: many-shot > 100, medium-shot 20..100, few-shot < 20 training examples. */
export const SHOT_THRESHOLDS: ShotThresholds = { manyShotAbove: MANY_SHOT_ABOVE, fewShotBelow: FEW_SHOT_BELOW };

/** The groups, head first. */
export const SHOT_GROUPS = ['many', 'medium', 'few'] as const;
/**
 * A shot group: `'many'` (more than {@link ShotThresholds.manyShotAbove} training examples,
 * default 100), `'medium'` (between the thresholds, default 20..100) or `'few'` (fewer than
 * {@link ShotThresholds.fewShotBelow}, default 20).
 */
export type ShotGroup = (typeof SHOT_GROUPS)[number];

/** The shot group of a class with `count` training examples. */
export function shotGroupOf(count: number, thresholds: ShotThresholds = SHOT_THRESHOLDS): ShotGroup {
  checkThresholds(thresholds);
  if (count > thresholds.manyShotAbove) return 'many';
  if (count < thresholds.fewShotBelow) return 'few';
  return 'medium';
}

/**
 * Class indices of each shot group, from training class counts.
 *
 * @example
 * shotGroups([500, 299, 179, 107, 64, 38, 23, 13, 8, 5]);
 * // {many: [0, 1, 2, 3], medium: [4, 5, 6], few: [7, 8, 9]}
 */
export function shotGroups(classCounts: readonly number[], thresholds: ShotThresholds = SHOT_THRESHOLDS): Record<ShotGroup, number[]> {
  const groups: Record<ShotGroup, number[]> = { many: [], medium: [], few: [] };
  classCounts.forEach((count, c) => {
    if (!Number.isInteger(count) || count < 0) {
      throw new Error(`classCounts[${c}] must be a non-negative integer; received ${count}.`);
    }
    groups[shotGroupOf(count, thresholds)].push(c);
  });
  return groups;
}

function checkThresholds({ manyShotAbove, fewShotBelow }: ShotThresholds): void {
  if (!Number.isFinite(manyShotAbove) || !Number.isFinite(fewShotBelow) || fewShotBelow > manyShotAbove + 1) {
    throw new Error(
      `Shot thresholds must be finite with fewShotBelow <= manyShotAbove + 1; received manyShotAbove ${manyShotAbove}, fewShotBelow ${fewShotBelow}.`,
    );
  }
}
