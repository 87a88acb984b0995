import type * as tf from '@tensorflow/tfjs-core';

import { SHOT_GROUPS, type ShotGroup } from '../../eval/shot_groups';
import { OWNER } from './errors';
import type { LongTailEvaluationEpoch, LongTailScores } from './scores';

/** Logs as tfjs passes them to class callbacks: numbers, or scalars not yet read. */
export type UnresolvedLogs = { [key: string]: number | tf.Scalar };

/** Classes of each shot group. */
export type Groups = Readonly<Record<ShotGroup, readonly number[]>>;

/** `[key, field]` pairs of the plain or re-balanced scores, without empty groups. */
export function keysOf(prefix: string, groups: Groups, rebalanced: boolean): [string, 'balancedAccuracy' | ShotGroup][] {
  const stem = `${prefix}${rebalanced ? 'rebalanced_' : ''}`;
  const pairs: [string, 'balancedAccuracy' | ShotGroup][] = [[`${stem}balanced_acc`, 'balancedAccuracy']];
  for (const group of SHOT_GROUPS) if (groups[group].length > 0) pairs.push([`${stem}${group}_acc`, group]);
  return pairs;
}

/** The keys that can be written, plain first, then re-balanced (with `rebalance`); empty groups left out. */
export function logKeys(prefix: string, groups: Groups, rebalance: boolean): string[] {
  const keys = [...keysOf(prefix, groups, false).map(([key]) => key)];
  if (rebalance) keys.push(...keysOf(prefix, groups, true).map(([key]) => key));
  return keys;
}

/** Writes the scores of one evaluation into `logs`, leaving out groups without a value. */
export function writeLogs(record: LongTailEvaluationEpoch, logs: UnresolvedLogs, prefix: string, groups: Groups): void {
  const write = (scores: LongTailScores, rebalanced: boolean): void => {
    for (const [key, field] of keysOf(prefix, groups, rebalanced)) {
      const value = scores[field];
      if (value !== null) logs[key] = value;
    }
  };
  write(record.scores, false);
  if (record.rebalanced !== null) write(record.rebalanced, true);
}

/**
 * Checks that `monitor`, when it names one of this callback's keys, is one that can be written.
 * @throws Error for the key of an empty group, or a re-balanced key without `rebalance`.
 */
export function checkMonitorCanBeWritten(monitor: string, prefix: string, groups: Groups, rebalance: boolean): void {
  for (const rebalanced of [false, true]) {
    const stem = `${prefix}${rebalanced ? 'rebalanced_' : ''}`;
    for (const group of SHOT_GROUPS) {
      if (monitor === `${stem}${group}_acc` && groups[group].length === 0) {
        throw new Error(`${OWNER}: monitor must name a key this callback writes; received '${monitor}', but the ${group}-shot group is empty for these classCounts.`);
      }
    }
    if (rebalanced && !rebalance && monitor.startsWith(stem) && monitor.endsWith('_acc')) {
      throw new Error(`${OWNER}: monitor must name a key this callback writes; received '${monitor}', which needs rebalance: true.`);
    }
  }
}
