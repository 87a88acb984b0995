/**
 * `tfjs-gala bench --tuned`: every method's knobs chosen on a held-out, class-balanced
 * validation split (training images the long-tailed subset did not use), then reported once on
 * the test split. Pure functions: the grids, the plan of tuned runs with their keys, the choice
 * of the best run per row, and the markdown of the result.
 *
 * Chosen on the validation split, by balanced accuracy (the mean of per-class accuracies):
 * - the training knob of a method, over a small grid ({@link TUNING_GRIDS}), one run per value;
 * - the epoch to keep, in every run (`LongTailEvaluation` with `restoreBestWeights`);
 * - the post-hoc taus (re-balancing, and post-hoc LA for cross-entropy), on the kept epoch's
 *   validation logits (`tuneRebalanceTau`, `tuneLogitAdjustmentTau`, grid 0, 0.25, ..., 2).
 * Each row of the table ("gala", "gala +PR", "ce +LA") takes the run whose validation score for
 * that row is the highest, so "gala" and "gala +PR" may come from different grid points.
 */

import type { PlannedRun } from '../bench_plan';
import { FASHION_MNIST_NUM_CLASSES } from '../data/fashion_mnist';
import {
  galaMethod,
  ldamDrw,
  logitAdjustedMethod,
  postHocLogitAdjustmentOf,
  rebalancingOf,
  withPostHoc,
  type TrainingMethod,
} from '../methods';
import type { ProtocolGrid } from '../protocol';
import { longTailCounts } from 'tfjs-gala';
import { SUMMARY_HEADER, displayName, fixedOverallCell, markdownTable, summaryCells } from './markdown';
import { runKey, runSettings, type BenchRun, type RunRow } from './runs';
import type { SummaryRow } from './summary';

/**
 * Images per class of the validation split: 200, i.e. 2000 images, as many as the committed
 * subset's test split. At ~80% accuracy a class's accuracy on 200 images has a standard error of
 * about 2.8 points, the balanced accuracy over 10 classes about 0.9: small enough to tell apart
 * grid points a point or two apart, which 100 per class (1.3) barely does. Fashion-MNIST has 6000
 * training images per class and the subset uses at most n_max = 500, so the full data always has
 * them. The forward pass over 2000 images after each epoch is the price: about 0.1 s against
 * 0.24 s of training per MLP epoch at IF 10 on 2 cores (an IF 10 MLP run took 11 s instead of 7).
 */
export const VALIDATION_PER_CLASS = 200;

/**
 * The knobs searched per method, the default (the fixed protocol's setting) first, so that a tie
 * keeps the default. Methods not listed have no training knob here (cross-entropy, focal with
 * gamma 2, balanced softmax, class-weighted CE): one run each, tuned only in epoch and post-hoc tau.
 * - GALA (both variants): lambda1/lambda2 1/1 (default), 1.2/0.9 (the paper's tuned CIFAR-100-LT
 *   setting), 0.5/0.5 (a weaker adjustment). In `galaref` lambda2 has no effect.
 * - Logit adjustment: tau 1 (default), 0.5, 1.5.
 * - LDAM-DRW: maximum margin 0.5 (default, Cao et al.), 0.25, 1.0.
 */
export const TUNING_GRIDS = {
  gala: [
    { lambda1: 1, lambda2: 1 },
    { lambda1: 1.2, lambda2: 0.9 },
    { lambda1: 0.5, lambda2: 0.5 },
  ],
  la: [1, 0.5, 1.5],
  ldamdrw: [0.5, 0.25, 1.0],
} as const;

/** One point of a method's grid. */
export interface GridPoint {
  /** The method at this point, with its post-hoc rows. */
  readonly method: TrainingMethod;
  /** The knob as shown in tables, e.g. "lambda 1.2/0.9"; "–" for a method without a knob. */
  readonly knobs: string;
  /** Whether this is the fixed protocol's setting. */
  readonly isDefault: boolean;
}

/**
 * The grid of `method` (a benchmark method: its name picks the grid). Each point keeps the
 * method's post-hoc rows (re-balancing; post-hoc LA for cross-entropy).
 */
export function tuningGrid(method: TrainingMethod, ldamScale: number): GridPoint[] {
  const postHoc = (m: TrainingMethod) =>
    withPostHoc(m, ...(method.postHoc ?? []).map((p) => (p.name.endsWith('+la') ? postHocLogitAdjustmentOf(m) : rebalancingOf(m))));
  switch (method.name) {
    case 'gala':
    case 'galaref': {
      const variant = method.name === 'gala' ? 'paper' : 'reference';
      return TUNING_GRIDS.gala.map(({ lambda1, lambda2 }, i) => ({
        method: postHoc(galaMethod({ variant, lambda1, lambda2 })),
        knobs: `lambda ${lambda1}/${lambda2}`,
        isDefault: i === 0,
      }));
    }
    case 'la':
      return TUNING_GRIDS.la.map((tau, i) => ({ method: postHoc(logitAdjustedMethod(tau)), knobs: `tau ${tau}`, isDefault: i === 0 }));
    case 'ldamdrw':
      return TUNING_GRIDS.ldamdrw.map((maxMargin, i) => ({
        method: postHoc(ldamDrw({ scale: ldamScale, maxMargin })),
        knobs: `max margin ${maxMargin}`,
        isDefault: i === 0,
      }));
    default:
      return [{ method, knobs: '–', isDefault: true }];
  }
}

/** A tuned run of the plan: one grid point of one method at one imbalance factor and seed. */
export interface PlannedTunedRun extends PlannedRun {
  readonly knobs: string;
  /**
   * The key of the fixed protocol's run that this run also yields (its last epoch, evaluated
   * before the best weights are restored) when it is the default grid point; null otherwise.
   */
  readonly fixedKey: string | null;
}

/**
 * The tuned runs, in training order (imbalance factor, seed, method, grid point). Their keys
 * hold the grid point and the selection (`select`, `valPerClass`) among the method settings, so
 * they never mix with the fixed protocol's runs, nor runs tuned on another validation size.
 */
export function planTunedRuns(
  options: ProtocolGrid,
  methods: readonly TrainingMethod[],
  dataDir: string,
  validationPerClass: number,
  ldamScale: number,
): PlannedTunedRun[] {
  const plan: PlannedTunedRun[] = [];
  for (const imbalanceFactor of options.imbalanceFactors) {
    const trainExamples = longTailCounts({ numClasses: FASHION_MNIST_NUM_CLASSES, imbalanceFactor, nMax: options.nMax }).reduce((a, b) => a + b, 0);
    const steps = options.epochs * Math.ceil(trainExamples / options.batchSize);
    for (const seed of options.seeds) {
      for (const base of methods) {
        for (const point of tuningGrid(base, ldamScale)) {
          const { method } = point;
          const settings = runSettings(options, dataDir, { ...(method.settings ?? {}), select: 'val-balanced-acc', valPerClass: validationPerClass });
          const fixedKey = point.isDefault ? runKey(imbalanceFactor, method.name, seed, runSettings(options, dataDir, method.settings ?? {})) : null;
          plan.push({ imbalanceFactor, seed, method, settings, key: runKey(imbalanceFactor, method.name, seed, settings), trainExamples, steps, knobs: point.knobs, fixedKey });
        }
      }
    }
  }
  return plan;
}

/**
 * Estimated seconds of tuned runs: training steps as {@link estimateSeconds}, plus a forward
 * pass over the validation split after every epoch, one over it at the end, and one or two over
 * the test split (a forward batch costing about a third of a training step).
 */
export function estimateTunedSeconds(
  runs: readonly PlannedTunedRun[],
  msPerStep: number,
  testExamples: number,
  validationExamples: number,
  batchSize: number,
): number {
  const forward = (examples: number) => Math.ceil(examples / batchSize) / 3;
  const steps = runs.reduce(
    (sum, run) => sum + run.steps + (run.steps / Math.ceil(run.trainExamples / batchSize) + 1) * forward(validationExamples) + (run.fixedKey === null ? 1 : 2) * forward(testExamples),
    0,
  );
  return (steps * msPerStep) / 1000;
}

/** What was chosen for one row of the tuned table at one imbalance factor and seed. */
export interface TunedChoice {
  readonly imbalanceFactor: number;
  readonly seed: number;
  readonly method: string;
  /** Row name: 'gala', 'gala+pr', 'ce+la'. */
  readonly row: string;
  /** The grid point, e.g. "lambda 1.2/0.9". */
  readonly knobs: string;
  /** The kept epoch (1-based). */
  readonly epoch: number;
  /** The post-hoc tau of a "+pr" or "+la" row; null for the method's own row. */
  readonly tau: number | null;
  /** The row's validation balanced accuracy (the score maximised). */
  readonly validationBalancedAccuracy: number;
  /** Key of the run the row's test accuracies come from. */
  readonly key: string;
}

/** The tuned rows: per imbalance factor and seed, the chosen rows, and what was chosen. */
export interface TunedSelection {
  /** One entry per imbalance factor and seed, with the chosen test rows (input of `summarizeRuns`). */
  readonly runs: readonly { readonly imbalanceFactor: number; readonly seed: number; readonly rows: readonly RunRow[] }[];
  readonly choices: readonly TunedChoice[];
  /** "IF 100 seed 2 gala" for each method whose grid is not complete yet (no tuned row). */
  readonly incomplete: readonly string[];
}

/** The validation score a tuned run reports for one of its rows. */
function validationScore(run: BenchRun, row: string): { score: number; tau: number | null } {
  const v = run.validation!;
  if (row.endsWith('+pr')) return { score: v.rebalanceBalancedAccuracy, tau: v.rebalanceTau };
  if (row.endsWith('+la')) return { score: v.logitAdjustmentBalancedAccuracy ?? Number.NaN, tau: v.logitAdjustmentTau ?? null };
  return { score: v.balancedAccuracy, tau: null };
}

/**
 * Chooses, per imbalance factor, seed and row, the grid point with the highest validation
 * balanced accuracy (the first in grid order, i.e. the default, on a tie) and takes its test
 * accuracies. A method whose grid is not complete in `get` gives no rows (listed in `incomplete`).
 */
export function selectTuned(plan: readonly PlannedTunedRun[], get: (key: string) => BenchRun | undefined): TunedSelection {
  const cells = new Map<string, { imbalanceFactor: number; seed: number; rows: RunRow[] }>();
  const groups = new Map<string, PlannedTunedRun[]>();
  for (const planned of plan) {
    const id = `${planned.imbalanceFactor}\u0000${planned.seed}\u0000${planned.method.name}`;
    groups.set(id, [...(groups.get(id) ?? []), planned]);
  }
  const choices: TunedChoice[] = [];
  const incomplete: string[] = [];
  for (const grid of groups.values()) {
    const { imbalanceFactor, seed } = grid[0];
    const runs = grid.map((p) => get(p.key));
    if (runs.some((r) => r?.validation === undefined)) {
      incomplete.push(`IF ${imbalanceFactor} seed ${seed} ${grid[0].method.name}`);
      continue;
    }
    const done = runs as BenchRun[];
    const cellId = `${imbalanceFactor}\u0000${seed}`;
    if (!cells.has(cellId)) cells.set(cellId, { imbalanceFactor, seed, rows: [] });
    for (const rowName of done[0].rows.map((r) => r.name)) {
      let best = 0;
      done.forEach((run, i) => {
        if (validationScore(run, rowName).score > validationScore(done[best], rowName).score) best = i;
      });
      const run = done[best];
      const { score, tau } = validationScore(run, rowName);
      cells.get(cellId)!.rows.push(run.rows.find((r) => r.name === rowName)!);
      choices.push({
        imbalanceFactor,
        seed,
        method: grid[0].method.name,
        row: rowName,
        knobs: grid[best].knobs,
        epoch: run.validation!.epoch,
        tau,
        validationBalancedAccuracy: score,
        key: run.key,
      });
    }
  }
  return { runs: [...cells.values()], choices, incomplete };
}

/**
 * The tuned summary in the layout of the fixed table, with the fixed protocol's overall accuracy
 * of the same row beside it ("–" when the fixed table lacks it).
 */
export function tunedSummaryMarkdown(tuned: readonly SummaryRow[], fixed: readonly SummaryRow[]): string {
  return markdownTable(
    [...SUMMARY_HEADER, 'fixed overall'],
    tuned.map((row) => [...summaryCells(row), fixedOverallCell(row, fixed)]),
    [true, false, true, true, true, true, true, true],
  );
}

/** The chosen knobs per imbalance factor, seed and row. */
export function choicesMarkdown(choices: readonly TunedChoice[]): string {
  return markdownTable(
    ['IF', 'seed', 'row', 'knobs', 'epoch', 'tau', 'val balanced'],
    choices.map((c) => [
      String(c.imbalanceFactor),
      String(c.seed),
      displayName(c.row),
      c.knobs,
      String(c.epoch),
      c.tau === null ? '–' : String(c.tau),
      (100 * c.validationBalancedAccuracy).toFixed(1),
    ]),
    [true, true, false, false, true, true, true],
  );
}
