/** The results tables of the demo and the benchmark, rendered with cli-table3. */

import Table from 'cli-table3';

import { ANCHOR_TOLERANCE_POINTS } from './bench/anchors';
import { displayName, formatAnchor, formatDifference, formatStatistic } from './bench/markdown';
import type { AnchorComparison, SummaryRow } from './bench/summary';
import { type ShotGroup } from 'tfjs-gala';

/** One row: a method evaluated on the test split. Accuracies are fractions in [0, 1]; null = empty group. */
export interface ResultRow {
  readonly label: string;
  readonly overall: number;
  readonly groups: Readonly<Record<ShotGroup, number | null>>;
  readonly secondsPerEpoch: number;
}

/**
 * Renders rows as a text table: method, overall top-1, many/medium/few-shot accuracy (in %,
 * one decimal; an empty group shows "empty") with the number of classes per group in the
 * header, and seconds per training epoch.
 */
export function renderResultsTable(rows: readonly ResultRow[], groupSizes: Readonly<Record<ShotGroup, number>>): string {
  const table = new Table({
    head: ['method', 'overall', `many (${groupSizes.many})`, `medium (${groupSizes.medium})`, `few (${groupSizes.few})`, 's/epoch'],
    colAligns: ['left', 'right', 'right', 'right', 'right', 'right'],
    style: { head: [], border: [] }, // no colours: the table is also read from logs and files
  });
  for (const row of rows) {
    table.push([
      row.label,
      percent(row.overall),
      percent(row.groups.many),
      percent(row.groups.medium),
      percent(row.groups.few),
      row.secondsPerEpoch.toFixed(2),
    ]);
  }
  return table.toString();
}

/** A fraction as a percentage with one decimal; null (an empty group) as "empty". */
export function percent(fraction: number | null): string {
  return fraction === null ? 'empty' : (100 * fraction).toFixed(1);
}

/**
 * The benchmark's summary as a text table: IF, method, overall / many / medium / few (mean ±
 * std over runs, in %) and runs; with `reference` (the run is comparable with the PyTorch
 * reference numbers) also the reference's overall accuracy, the difference in points and a
 * flag when it exceeds the tolerance.
 */
export function renderBenchTable(comparisons: readonly AnchorComparison[], { reference = true }: { readonly reference?: boolean } = {}): string {
  const head = ['IF', 'method', 'overall', 'many', 'medium', 'few', 'runs', ...(reference ? ['reference', 'Δ', `> ${ANCHOR_TOLERANCE_POINTS}`] : [])];
  const table = new Table({
    head,
    colAligns: ['right', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'left'].slice(0, head.length) as Table.HorizontalAlignment[],
    style: { head: [], border: [], compact: true },
  });
  let previous: number | null = null;
  for (const { row, anchor, difference, flagged } of comparisons) {
    if (previous !== null && row.imbalanceFactor !== previous) table.push([{ colSpan: head.length, content: '' }]);
    previous = row.imbalanceFactor;
    const cells = [
      String(row.imbalanceFactor),
      displayName(row.name),
      formatStatistic(row.overall),
      formatStatistic(row.many),
      formatStatistic(row.medium),
      formatStatistic(row.few),
      String(row.runs),
    ];
    if (reference) cells.push(formatAnchor(anchor?.overall), formatDifference(difference?.overall), flagged ? 'yes' : '');
    table.push(cells);
  }
  return table.toString();
}

/**
 * The tuned summary as a text table, like {@link renderBenchTable} without reference columns,
 * with the fixed protocol's overall accuracy of the same row ("fixed"; "–" when absent).
 */
export function renderTunedTable(tuned: readonly SummaryRow[], fixed: readonly SummaryRow[]): string {
  const head = ['IF', 'method', 'overall', 'many', 'medium', 'few', 'runs', 'fixed'];
  const table = new Table({
    head,
    colAligns: ['right', 'left', 'right', 'right', 'right', 'right', 'right', 'right'],
    style: { head: [], border: [], compact: true },
  });
  let previous: number | null = null;
  for (const row of tuned) {
    if (previous !== null && row.imbalanceFactor !== previous) table.push([{ colSpan: head.length, content: '' }]);
    previous = row.imbalanceFactor;
    const same = fixed.find((f) => f.imbalanceFactor === row.imbalanceFactor && f.name === row.name);
    table.push([
      String(row.imbalanceFactor),
      displayName(row.name),
      formatStatistic(row.overall),
      formatStatistic(row.many),
      formatStatistic(row.medium),
      formatStatistic(row.few),
      String(row.runs),
      same === undefined ? '–' : formatStatistic(same.overall),
    ]);
  }
  return table.toString();
}
