/** Markdown tables of the benchmark summary and of its comparison with the anchors. */

import { ANCHOR_TOLERANCE_POINTS, type AnchorStatistic } from './anchors';
import type { AnchorComparison, Statistic, SummaryRow } from './summary';

/**
 * How a row name reads in tables, in the style of the reference tables: 'gala+pr' -> 'gala +PR',
 * 'ce+la' -> 'ce +LA'; method names stay as they are.
 */
export function displayName(name: string): string {
  const plus = name.indexOf('+');
  return plus < 0 ? name : `${name.slice(0, plus)} +${name.slice(plus + 1).toUpperCase()}`;
}

/**
 * A statistic in percent with one decimal, "mean ± std" ("mean" alone for a single run);
 * "empty" for an empty group (null).
 */
export function formatStatistic(statistic: Statistic | null): string {
  if (statistic === null) return 'empty';
  const mean = (100 * statistic.mean).toFixed(1);
  return statistic.std === null ? mean : `${mean} ± ${(100 * statistic.std).toFixed(1)}`;
}

/** An anchor cell, already in percent: "mean ± std", or "empty". */
export function formatAnchor(statistic: AnchorStatistic | null | undefined): string {
  if (statistic === undefined) return '–';
  return statistic === null ? 'empty' : `${statistic.mean.toFixed(1)} ± ${statistic.std.toFixed(1)}`;
}

/** A difference in points with its sign ("+1.2", "-0.4"); "–" when there is none. */
export function formatDifference(points: number | null | undefined): string {
  if (points === null || points === undefined) return '–';
  const rounded = points.toFixed(1);
  return points >= 0 || rounded === '-0.0' ? `+${rounded.replace('-', '')}` : rounded;
}

/** The header cells of a summary row, in the order of {@link summaryCells}. */
export const SUMMARY_HEADER = ['IF', 'method', 'overall', 'many', 'medium', 'few', 'runs'] as const;

/** A summary row's cells: IF, method, overall / many / medium / few ("mean ± std" in %), runs. */
export function summaryCells(row: SummaryRow): string[] {
  return [
    String(row.imbalanceFactor),
    displayName(row.name),
    formatStatistic(row.overall),
    formatStatistic(row.many),
    formatStatistic(row.medium),
    formatStatistic(row.few),
    String(row.runs),
  ];
}

/** The fixed protocol's overall accuracy of the row with `row`'s IF and name; "–" when `fixed` lacks it. */
export function fixedOverallCell(row: SummaryRow, fixed: readonly SummaryRow[]): string {
  const same = fixed.find((f) => f.imbalanceFactor === row.imbalanceFactor && f.name === row.name);
  return same === undefined ? '–' : formatStatistic(same.overall);
}

/** A markdown table; `rightAligned[i]` right-aligns column i (numbers). */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[], rightAligned: readonly boolean[]): string {
  const lines = [
    `| ${header.join(' | ')} |`,
    `|${rightAligned.map((right) => (right ? '---:' : '---')).join('|')}|`,
    ...rows.map((cells) => `| ${cells.join(' | ')} |`),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * The summary as a markdown table in the layout of the reference tables (docs/guide/07-reference-numbers.md):
 * `| IF | method | overall | many | medium | few | runs |`, accuracies in percent as
 * "mean ± std" over runs, "empty" for an empty shot group.
 */
export function summaryMarkdown(summary: readonly SummaryRow[]): string {
  return markdownTable(SUMMARY_HEADER, summary.map(summaryCells), [true, false, true, true, true, true, true]);
}

/**
 * Our overall accuracy beside the PyTorch reference's, with the differences (ours - reference, in points) of
 * overall and each shot group; rows more than {@link ANCHOR_TOLERANCE_POINTS} away overall are
 * flagged. Rows without an anchor show "–".
 */
export function anchorComparisonMarkdown(comparisons: readonly AnchorComparison[]): string {
  return markdownTable(
    ['IF', 'method', 'overall (ours)', 'overall (reference)', 'Δ overall', 'Δ many', 'Δ medium', 'Δ few', `> ${ANCHOR_TOLERANCE_POINTS} points`],
    comparisons.map(({ row, anchor, difference, flagged }) => [
      String(row.imbalanceFactor),
      displayName(row.name),
      formatStatistic(row.overall),
      formatAnchor(anchor?.overall),
      formatDifference(difference?.overall),
      formatDifference(difference?.many),
      formatDifference(difference?.medium),
      formatDifference(difference?.few),
      flagged ? '**yes**' : anchor === undefined ? 'no reference' : '',
    ]),
    [true, false, true, true, true, true, true, true, false],
  );
}
