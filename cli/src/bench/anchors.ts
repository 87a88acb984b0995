/**
 * Reference numbers from a PyTorch run of the benchmark's protocol: what a PyTorch user gets on
 * Fashion-MNIST-LT with the same model, schedule, data and seeds (a PyTorch 1.13 run of the same
 * protocol, 3 seeds, made for this project; published in docs/guide/07-reference-numbers.md).
 * A tfjs result more than {@link ANCHOR_TOLERANCE_POINTS} away (mean of 3 seeds) needs an
 * explanation, but only when the run follows that protocol on that data: see
 * {@link referenceMismatches}.
 *
 * Protocol: training split subsampled to n_c = floor(500 * IF^(-c/9)), seeds 0, 1, 2 (subsample
 * and init); balanced 10k test split; the MLP 784-256-ReLU-128-ReLU-10 or the CNN
 * conv16-pool-conv32-pool-128-10 (PyTorch default init); Adam 1e-3, batch 128, 30 epochs; GALA
 * lambda1 = lambda2 = 1, epsilon 1e-3; LA tau 1; LDAM-DRW max margin 0.5, scale 30,
 * effective-number weights (beta 0.9999) from epoch 24; focal gamma 2; "+pr" prediction
 * re-balancing over the whole test set, tau 1. The CNN table has no balanced-softmax rows (the
 * same loss as LA at tau 1).
 */

import { REFERENCE_PROTOCOL, type ModelName, type TrainingSchedule } from '../protocol';

/** Where the reference numbers and their protocol are published, for the command's output. */
export const REFERENCE_PAGE = 'docs/guide/07-reference-numbers.md';

/** Mean and standard deviation over seeds, top-1 accuracy in percent. */
export interface AnchorStatistic {
  readonly mean: number;
  readonly std: number;
}

/** One row of a reference table. */
export interface AnchorRow {
  readonly model: ModelName;
  readonly imbalanceFactor: number;
  /** Row name as the benchmark writes it: method key, '+pr' for re-balancing ('gala+pr'). */
  readonly name: string;
  readonly overall: AnchorStatistic;
  readonly many: AnchorStatistic | null;
  readonly medium: AnchorStatistic | null;
  /** null: empty group (IF 10 has no few-shot class). */
  readonly few: AnchorStatistic | null;
  /** Seeds averaged. */
  readonly runs: number;
}

/** A difference larger than this (in points of overall accuracy) is flagged. */
export const ANCHOR_TOLERANCE_POINTS = 1.5;

/** LDAM's scale in the reference run: LDAM-DRW rows of another scale have no reference. */
export const ANCHOR_LDAM_SCALE = 30;

type Cell = readonly [number, number] | null;
type TableRow = readonly [number, string, Cell, Cell, Cell, Cell];

// [IF, row, overall, many, medium, few]; [mean, std] in percent; null = empty group.
const MLP_TABLE: readonly TableRow[] = [
  [100, 'ce', [69.1, 1.2], [86.0, 0.9], [56.0, 3.7], [59.5, 4.6]],
  [100, 'ce+pr', [72.8, 1.1], [85.2, 1.2], [61.1, 1.1], [68.1, 3.0]],
  [100, 'focal', [69.3, 1.5], [84.4, 1.6], [58.2, 3.9], [60.3, 6.0]],
  [100, 'focal+pr', [73.5, 1.2], [83.1, 1.1], [61.8, 0.9], [72.3, 3.7]],
  [100, 'la', [74.9, 1.0], [82.3, 1.6], [64.0, 0.8], [75.7, 2.3]],
  [100, 'la+pr', [75.3, 0.8], [82.3, 1.1], [64.0, 0.8], [77.4, 1.7]],
  [100, 'bs', [75.1, 1.0], [82.7, 1.3], [63.4, 0.7], [76.6, 3.3]],
  [100, 'bs+pr', [75.6, 0.9], [82.4, 1.0], [64.1, 0.8], [78.1, 2.4]],
  [100, 'ldamdrw', [70.3, 3.9], [75.5, 8.2], [61.1, 5.1], [72.5, 8.4]],
  [100, 'ldamdrw+pr', [73.8, 2.5], [79.1, 5.1], [62.1, 3.8], [78.6, 4.8]],
  [100, 'gala', [73.3, 1.8], [84.9, 0.9], [57.8, 3.6], [73.2, 3.7]],
  [100, 'gala+pr', [74.7, 1.3], [83.6, 1.3], [61.9, 1.1], [75.7, 3.0]],
  [100, 'galaref', [73.8, 1.8], [84.9, 1.0], [58.1, 2.6], [74.6, 4.0]],
  [100, 'galaref+pr', [75.3, 1.4], [84.0, 1.0], [62.1, 0.8], [76.7, 3.2]],
  [50, 'ce', [74.8, 2.9], [87.0, 0.5], [65.0, 4.0], [69.6, 6.9]],
  [50, 'ce+pr', [76.9, 1.5], [85.9, 0.4], [69.6, 1.2], [73.7, 6.4]],
  [50, 'focal', [74.8, 2.1], [87.2, 0.9], [65.3, 3.5], [68.9, 4.7]],
  [50, 'focal+pr', [77.2, 1.0], [84.2, 0.8], [71.0, 1.2], [75.7, 4.7]],
  [50, 'la', [77.8, 1.1], [84.4, 1.5], [68.5, 2.9], [82.8, 4.8]],
  [50, 'la+pr', [78.2, 0.7], [83.3, 0.4], [70.6, 0.9], [83.3, 4.1]],
  [50, 'bs', [77.8, 1.1], [84.4, 1.5], [68.5, 2.9], [82.8, 4.8]],
  [50, 'bs+pr', [78.2, 0.7], [83.3, 0.4], [70.6, 0.9], [83.3, 4.1]],
  [50, 'ldamdrw', [76.8, 1.2], [81.9, 0.6], [69.1, 3.8], [81.9, 4.1]],
  [50, 'ldamdrw+pr', [77.7, 1.0], [83.1, 0.2], [69.9, 2.7], [82.5, 1.4]],
  [50, 'gala', [77.3, 2.1], [86.1, 0.4], [65.9, 3.1], [82.6, 6.5]],
  [50, 'gala+pr', [78.3, 1.1], [84.7, 0.3], [69.4, 0.6], [83.2, 5.6]],
  [50, 'galaref', [77.1, 2.1], [86.6, 0.3], [65.6, 2.9], [81.0, 5.3]],
  [50, 'galaref+pr', [78.1, 1.1], [85.1, 0.4], [69.3, 0.5], [81.6, 4.7]],
  [10, 'ce', [81.1, 0.3], [77.8, 0.5], [88.9, 0.8], null],
  [10, 'ce+pr', [81.5, 0.2], [78.3, 0.1], [89.0, 0.8], null],
  [10, 'focal', [80.6, 0.4], [77.5, 0.5], [88.0, 0.3], null],
  [10, 'focal+pr', [81.3, 0.2], [78.2, 0.3], [88.7, 0.3], null],
  [10, 'la', [81.5, 0.3], [77.8, 0.6], [90.3, 0.8], null],
  [10, 'la+pr', [81.6, 0.1], [77.9, 0.4], [90.2, 0.8], null],
  [10, 'bs', [81.5, 0.3], [77.8, 0.6], [90.2, 0.7], null],
  [10, 'bs+pr', [81.6, 0.1], [77.9, 0.4], [90.2, 0.7], null],
  [10, 'ldamdrw', [80.9, 0.2], [77.3, 1.2], [89.6, 2.2], null],
  [10, 'ldamdrw+pr', [82.0, 0.5], [78.1, 0.5], [90.9, 1.2], null],
  [10, 'gala', [81.6, 0.1], [77.6, 0.2], [90.9, 0.7], null],
  [10, 'gala+pr', [81.8, 0.2], [78.0, 0.3], [90.7, 0.6], null],
  [10, 'galaref', [81.6, 0.3], [77.7, 0.1], [90.7, 0.7], null],
  [10, 'galaref+pr', [81.9, 0.3], [78.1, 0.2], [90.7, 0.7], null],
];

// Population std over 3 seeds.
const CNN_TABLE: readonly TableRow[] = [
  [100, 'ce', [70.4, 1.3], [87.9, 2.0], [49.0, 3.9], [68.5, 4.0]],
  [100, 'ce+pr', [73.8, 1.0], [84.5, 1.8], [57.2, 1.3], [76.3, 1.9]],
  [100, 'focal', [70.6, 0.9], [87.2, 2.8], [50.1, 5.9], [69.0, 5.0]],
  [100, 'focal+pr', [74.2, 1.6], [82.2, 3.1], [58.4, 1.5], [79.4, 3.0]],
  [100, 'la', [76.4, 1.0], [81.4, 4.6], [59.9, 4.6], [86.1, 1.7]],
  [100, 'la+pr', [76.8, 0.7], [82.5, 2.1], [59.7, 1.5], [86.3, 0.9]],
  [100, 'ldamdrw', [75.7, 1.0], [79.5, 2.2], [66.6, 2.1], [79.7, 3.9]],
  [100, 'ldamdrw+pr', [76.9, 0.6], [82.2, 0.9], [62.3, 1.1], [84.3, 1.7]],
  [100, 'gala', [75.4, 0.5], [86.5, 3.0], [53.0, 4.4], [83.2, 2.0]],
  [100, 'gala+pr', [76.3, 1.0], [83.9, 2.2], [58.3, 1.5], [84.1, 1.9]],
  [100, 'galaref', [75.6, 0.6], [85.9, 3.1], [54.4, 3.2], [83.0, 1.1]],
  [100, 'galaref+pr', [76.3, 0.9], [83.9, 2.0], [58.7, 1.2], [83.8, 1.4]],
  [50, 'ce', [73.7, 3.5], [88.1, 1.3], [58.2, 6.2], [76.1, 7.6]],
  [50, 'ce+pr', [76.4, 2.0], [84.9, 0.0], [65.9, 2.3], [80.3, 5.3]],
  [50, 'focal', [73.6, 3.4], [87.5, 1.7], [58.8, 6.8], [75.4, 6.7]],
  [50, 'focal+pr', [76.8, 1.6], [83.3, 0.6], [67.2, 2.0], [82.9, 4.4]],
  [50, 'la', [77.3, 0.3], [81.3, 5.4], [68.2, 4.0], [87.7, 4.0]],
  [50, 'la+pr', [78.6, 0.8], [83.0, 0.8], [69.0, 2.0], [88.8, 3.2]],
  [50, 'ldamdrw', [79.4, 0.3], [83.4, 1.8], [69.8, 2.2], [90.8, 3.0]],
  [50, 'ldamdrw+pr', [79.6, 0.4], [84.9, 0.1], [69.0, 0.5], [89.9, 1.5]],
  [50, 'gala', [76.1, 2.0], [86.9, 2.4], [59.9, 5.4], [87.0, 3.9]],
  [50, 'gala+pr', [77.5, 1.3], [84.3, 0.3], [65.7, 1.7], [87.5, 3.5]],
  [50, 'galaref', [76.3, 1.7], [86.5, 3.0], [61.0, 5.1], [86.6, 4.1]],
  [50, 'galaref+pr', [77.9, 1.1], [84.3, 0.3], [66.6, 1.4], [87.5, 3.4]],
  [10, 'ce', [79.0, 0.6], [75.7, 1.3], [86.8, 1.5], null],
  [10, 'ce+pr', [80.8, 0.4], [77.8, 0.9], [87.9, 0.9], null],
  [10, 'focal', [79.0, 0.5], [76.5, 1.1], [84.9, 1.8], null],
  [10, 'focal+pr', [80.9, 0.6], [77.6, 0.9], [88.4, 0.5], null],
  [10, 'la', [81.6, 0.3], [78.1, 1.0], [89.7, 1.2], null],
  [10, 'la+pr', [81.9, 0.3], [78.3, 0.8], [90.1, 0.9], null],
  [10, 'ldamdrw', [83.0, 0.8], [79.4, 1.2], [91.5, 0.7], null],
  [10, 'ldamdrw+pr', [83.1, 0.8], [79.3, 1.2], [92.1, 0.3], null],
  [10, 'gala', [80.4, 0.4], [76.5, 1.1], [89.4, 1.3], null],
  [10, 'gala+pr', [81.3, 0.6], [77.6, 1.1], [90.0, 0.8], null],
  [10, 'galaref', [80.5, 0.4], [76.7, 1.1], [89.5, 1.4], null],
  [10, 'galaref+pr', [81.4, 0.6], [77.7, 1.1], [90.0, 0.9], null],
];

const statistic = (cell: Cell): AnchorStatistic | null => (cell === null ? null : { mean: cell[0], std: cell[1] });

const rows = (model: ModelName, table: readonly TableRow[]): AnchorRow[] =>
  table.map(([imbalanceFactor, name, overall, many, medium, few]) => ({
    model,
    imbalanceFactor,
    name,
    overall: statistic(overall)!,
    many: statistic(many),
    medium: statistic(medium),
    few: statistic(few),
    runs: 3,
  }));

/** The reference rows of each model, in the published order (IF 100, 50, 10). */
export const REFERENCE_ROWS: Readonly<Record<ModelName, readonly AnchorRow[]>> = { mlp: rows('mlp', MLP_TABLE), cnn: rows('cnn', CNN_TABLE) };

/** The reference row of a model for an imbalance factor and a row name ('ce', 'gala+pr'...), if there is one. */
export function findAnchor(model: ModelName, imbalanceFactor: number, name: string): AnchorRow | undefined {
  return REFERENCE_ROWS[model].find((row) => row.imbalanceFactor === imbalanceFactor && row.name === name);
}

/**
 * Why a benchmark is not comparable with the reference numbers: its data is not the reference
 * data (`referenceData` null: not the full Fashion-MNIST nor the committed subset), or its
 * schedule differs from {@link REFERENCE_PROTOCOL}'s. Empty when it is comparable.
 */
export function referenceMismatches(schedule: TrainingSchedule, referenceData: string | null): string[] {
  const data = referenceData === null ? ['the data is not Fashion-MNIST (neither the full set nor the committed subset)'] : [];
  return [...data, ...scheduleMismatches(schedule)];
}

/** Where a schedule differs from {@link REFERENCE_PROTOCOL}'s (n_max, epochs, batch, learning rate, initialisation); empty when it does not. */
export function scheduleMismatches(schedule: TrainingSchedule): string[] {
  const reasons: string[] = [];
  const expected = REFERENCE_PROTOCOL;
  if (schedule.nMax !== expected.nMax) reasons.push(`n_max ${schedule.nMax} (reference: ${expected.nMax})`);
  if (schedule.epochs !== expected.epochs) reasons.push(`${schedule.epochs} epochs (reference: ${expected.epochs})`);
  if (schedule.batchSize !== expected.batchSize) reasons.push(`batch ${schedule.batchSize} (reference: ${expected.batchSize})`);
  if (schedule.learningRate !== expected.learningRate) reasons.push(`lr ${schedule.learningRate} (reference: ${expected.learningRate})`);
  if (schedule.initialization !== expected.initialization) {
    reasons.push(`${schedule.initialization} initialisation (reference: ${expected.initialization})`);
  }
  return reasons;
}
