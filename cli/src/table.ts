/** The results tables of the demo and the benchmark, rendered with cli-table3. */

import Table from 'cli-table3';

import { ANCHOR_TOLERANCE_POINTS } from './bench/anchors';
import { SUMMARY_HEADER, fixedOverallCell, formatAnchor, formatDifference, summaryCells } from './bench/markdown';
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
  return summaryTextTable(
    reference ? [...SUMMARY_HEADER, 'reference', 'Δ', `> ${ANCHOR_TOLERANCE_POINTS}`] : SUMMARY_HEADER,
    comparisons.map(({ row, anchor, difference, flagged }) => ({
      row,
      cells: [...summaryCells(row), ...(reference ? [formatAnchor(anchor?.overall), formatDifference(difference?.overall), flagged ? 'yes' : ''] : [])],
    })),
  );
}

/**
 * The tuned summary as a text table, like {@link renderBenchTable} without reference columns,
 * with the fixed protocol's overall accuracy of the same row ("fixed"; "–" when absent).
 */
export function renderTunedTable(tuned: readonly SummaryRow[], fixed: readonly SummaryRow[]): string {
  return summaryTextTable(
    [...SUMMARY_HEADER, 'fixed'],
    tuned.map((row) => ({ row, cells: [...summaryCells(row), fixedOverallCell(row, fixed)] })),
  );
}

/** A compact text table of summary rows with a blank line between imbalance factors. */
function summaryTextTable(head: readonly string[], rows: readonly { readonly row: SummaryRow; readonly cells: readonly string[] }[]): string {
  // Numbers right, the method and the flag column left.
  const colAligns = head.map((name, i): Table.HorizontalAlignment => (i === 1 || name.startsWith('> ') ? 'left' : 'right'));
  const table = new Table({ head: [...head], colAligns, style: { head: [], border: [], compact: true } });
  let previous: number | null = null;
  for (const { row, cells } of rows) {
    if (previous !== null && row.imbalanceFactor !== previous) table.push([{ colSpan: head.length, content: '' }]);
    previous = row.imbalanceFactor;
    table.push([...cells]);
  }
  return table.toString();
}
