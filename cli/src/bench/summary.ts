/**
 * Aggregation of benchmark runs: mean and standard deviation over seeds of overall and
 * shot-group accuracy per imbalance factor and row, and the comparison with the anchors.
 */

import { SHOT_GROUPS, type ShotGroup } from 'tfjs-gala';
import { ANCHOR_TOLERANCE_POINTS, findAnchor, type AnchorRow } from './anchors';
import type { BenchRun } from './runs';

/** Mean and standard deviation of one accuracy over runs. Fractions in [0, 1]. */
export interface Statistic {
  readonly mean: number;
  /** Sample standard deviation (n - 1 in the denominator); null for a single run. */
  readonly std: number | null;
  /** Values averaged. */
  readonly n: number;
}

/** One line of the summary: an imbalance factor and a row (method or post-hoc evaluation). */
export interface SummaryRow {
  readonly imbalanceFactor: number;
  /** 'gala', 'gala+pr'... */
  readonly name: string;
  readonly label: string;
  /** Runs (seeds) averaged. */
  readonly runs: number;
  readonly seeds: readonly number[];
  readonly overall: Statistic;
  /** null: the group is empty in every run. */
  readonly many: Statistic | null;
  readonly medium: Statistic | null;
  readonly few: Statistic | null;
}

/**
 * Mean and sample standard deviation of `values`.
 * @throws Error when `values` is empty or holds a non-finite number.
 */
export function meanAndStd(values: readonly number[]): Statistic {
  if (values.length === 0) throw new Error('meanAndStd: values is empty.');
  if (values.some((v) => !Number.isFinite(v))) throw new Error(`meanAndStd: values must be finite; received [${values.join(', ')}].`);
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, std: null, n };
  const variance = values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (n - 1);
  return { mean, std: Math.sqrt(variance), n };
}

/** Orders of the summary's lines; entries not listed come after, in order of appearance. */
export interface SummaryOrder {
  readonly imbalanceFactors?: readonly number[];
  readonly rowNames?: readonly string[];
}

/**
 * Groups the rows of `runs` by imbalance factor and row name and averages them over runs
 * (seeds). A shot group that is empty (null) in a run is left out of its mean; when it is empty
 * in every run the result is null, never 0.
 */
export function summarizeRuns(runs: readonly Pick<BenchRun, 'imbalanceFactor' | 'seed' | 'rows'>[], order: SummaryOrder = {}): SummaryRow[] {
  const groups = new Map<string, { imbalanceFactor: number; name: string; label: string; seeds: number[]; rows: BenchRun['rows'][number][] }>();
  for (const run of runs) {
    for (const row of run.rows) {
      const id = `${run.imbalanceFactor}\u0000${row.name}`;
      let group = groups.get(id);
      if (group === undefined) {
        group = { imbalanceFactor: run.imbalanceFactor, name: row.name, label: row.label, seeds: [], rows: [] };
        groups.set(id, group);
      }
      group.seeds.push(run.seed);
      group.rows.push(row);
    }
  }
  const summary: SummaryRow[] = [...groups.values()].map(({ imbalanceFactor, name, label, seeds, rows }) => {
    const shot = {} as Record<ShotGroup, Statistic | null>;
    for (const g of SHOT_GROUPS) {
      const values = rows.map((r) => r[g]).filter((v): v is number => v !== null);
      shot[g] = values.length === 0 ? null : meanAndStd(values);
    }
    return {
      imbalanceFactor,
      name,
      label,
      runs: rows.length,
      seeds: [...seeds].sort((a, b) => a - b),
      overall: meanAndStd(rows.map((r) => r.overall)),
      ...shot,
    };
  });
  // Listed entries first, in the given order, then the others in order of appearance.
  const imbalanceOrder = [...new Set([...(order.imbalanceFactors ?? []), ...summary.map((row) => row.imbalanceFactor)])];
  const nameOrder = [...new Set([...(order.rowNames ?? []), ...summary.map((row) => row.name)])];
  return summary.sort(
    (a, b) =>
      imbalanceOrder.indexOf(a.imbalanceFactor) - imbalanceOrder.indexOf(b.imbalanceFactor) || nameOrder.indexOf(a.name) - nameOrder.indexOf(b.name),
  );
}

/** Differences ours - anchor in points (percent); null where either side has no value. */
export interface AnchorDifference {
  readonly overall: number;
  readonly many: number | null;
  readonly medium: number | null;
  readonly few: number | null;
}

/** A summary row beside its anchor. */
export interface AnchorComparison {
  readonly row: SummaryRow;
  /** undefined: no anchor for this row (e.g. 'cw', an imbalance factor the reference lacks, or a run not comparable with it). */
  readonly anchor?: AnchorRow;
  readonly difference?: AnchorDifference;
  /** Whether |difference.overall| > {@link ANCHOR_TOLERANCE_POINTS}. */
  readonly flagged: boolean;
}

/**
 * Puts each summary row beside its reference row (same imbalance factor and row name) as
 * `lookup` finds it; by default the MLP's. A lookup that finds nothing (the run is not
 * comparable) leaves every row without an anchor and unflagged.
 */
export function compareWithAnchors(
  summary: readonly SummaryRow[],
  lookup: (imbalanceFactor: number, name: string) => AnchorRow | undefined = (imbalanceFactor, name) => findAnchor('mlp', imbalanceFactor, name),
): AnchorComparison[] {
  return summary.map((row) => {
    const anchor = lookup(row.imbalanceFactor, row.name);
    if (anchor === undefined) return { row, flagged: false };
    const points = (ours: Statistic | null, theirs: { mean: number } | null) => (ours === null || theirs === null ? null : 100 * ours.mean - theirs.mean);
    const difference: AnchorDifference = {
      overall: 100 * row.overall.mean - anchor.overall.mean,
      many: points(row.many, anchor.many),
      medium: points(row.medium, anchor.medium),
      few: points(row.few, anchor.few),
    };
    return { row, anchor, difference, flagged: Math.abs(difference.overall) > ANCHOR_TOLERANCE_POINTS };
  });
}
