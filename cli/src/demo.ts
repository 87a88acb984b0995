/**
 * `tfjs-gala demo`: cross-entropy vs GALA (and GALA + prediction re-balancing) on long-tailed
 * Fashion-MNIST, same model, seed and schedule, one results table; `--save` round-trips each
 * trained model through a folder before evaluating it.
 */

import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import type * as tf from '@tensorflow/tfjs';
import { Command, Option } from 'commander';

import {
  GradientMonitor,
  summarizeGradientImbalance,
  type GradientImbalanceSummary,
  checkSeed,
  FEW_SHOT_BELOW,
  MANY_SHOT_ABOVE,
  SHOT_GROUPS,
  shotGroups,
  type ShotGroup,
} from 'tfjs-gala';
import { FASHION_MNIST_CLASS_NAMES, loadFashionMnistLT } from './data/fashion_mnist';
import { BACKEND_CHOICES, formatBackend, selectTrainingBackend, type BackendChoice } from './backend';
import { resolveDataSource } from './data_source';
import type { CliEnvironment } from './environment';
import { DEMO_METHODS, type MethodContext, type TrainingMethod } from './methods';
import { integerOption, numberOption } from './options';
import type { AccuracyRow } from './bench/runs';
import { createProgressBar, trackEpochs } from './progress';
import { saveAndReload, type ReloadCheck } from './save_reload';
import { renderResultsTable } from './table';
import {
  accuracyRow,
  evaluateModel,
  INITIALIZATIONS,
  MLP_HIDDEN_UNITS,
  trainModel,
  type Initialization,
  type MethodResult,
  type TrainedModel,
  type TrainOptions,
} from './trainer';

/** Options of the demo, as parsed from the command line. */
export interface DemoOptions {
  /** Folder with the four Fashion-MNIST IDX files; default: Debian's full dataset, else the committed subset. */
  readonly data?: string;
  /** Imbalance factor of the training split (>= 1). */
  readonly imbalance: number;
  /** Training images of the head class (integer >= 1, >= imbalance). */
  readonly nMax: number;
  readonly epochs: number;
  readonly batchSize: number;
  /** Seeds the subsample, the initialisation and the batch order. */
  readonly seed: number;
  readonly backend: BackendChoice;
  /** Adam learning rate. */
  readonly lr: number;
  /** Initialisation of the dense layers; see {@link Initialization}. */
  readonly init: Initialization;
  /** Also write the report as JSON to this file. */
  readonly json?: string;
  /**
   * Save each trained model to `<save>/<method>` (with optimizer and loss state), reload it with
   * `tf.loadLayersModel` and evaluate the reloaded model.
   */
  readonly save?: string;
  /**
   * Measure the logit gradients of each training run with a {@link GradientMonitor} and write
   * its JSON and SVG pictures to `<monitor>/<method>`.
   */
  readonly monitor?: string;
  /** Draw a progress bar (on a terminal). */
  readonly progress: boolean;
}

/** The protocol of ANCHORS.md: IF 100, nMax 500, 30 epochs of Adam 1e-3 at batch 128, seed 0. */
export const DEMO_DEFAULTS = {
  imbalance: 100,
  nMax: 500,
  epochs: 30,
  batchSize: 128,
  seed: 0,
  backend: 'auto',
  lr: 1e-3,
  init: 'pytorch', // the PyTorch protocol of ANCHORS.md: U(±1/sqrt(fanIn)) weights and biases
  progress: true,
} as const satisfies Partial<DemoOptions>;

/** One row of the report. Accuracies are fractions in [0, 1]; null = empty shot group. */
export interface DemoRow extends AccuracyRow {
  readonly method: string;
  readonly secondsPerEpoch: number;
  readonly finalTrainingLoss: number;
}

/** What the demo measured (also its JSON output). */
export interface DemoReport {
  readonly data: {
    readonly source: string;
    readonly dir: string;
    readonly trainExamples: number;
    readonly testExamples: number;
    readonly classCounts: readonly number[];
    readonly shotGroups: Readonly<Record<ShotGroup, readonly number[]>>;
  };
  readonly backend: string;
  readonly settings: {
    readonly model: string;
    readonly imbalanceFactor: number;
    readonly nMax: number;
    readonly epochs: number;
    readonly batchSize: number;
    readonly learningRate: number;
    readonly seed: number;
    readonly initialization: Initialization;
  };
  readonly rows: readonly DemoRow[];
  /** With `--save`: where each model was saved, and what was compared after reloading it. */
  readonly saved?: readonly ReloadCheck[];
  /** With `--monitor`: the gradient-imbalance summary of each trained method (cumulative over training). */
  readonly gradients?: readonly { method: string; label: string; outputDir: string; summary: GradientImbalanceSummary }[];
  readonly totalSeconds: number;
}

/** Adds the `demo` subcommand to `program`. */
export function registerDemoCommand(program: Command, env: CliEnvironment): Command {
  return program
    .command('demo')
    .description('Train the same MLP with softmax cross-entropy and with GALA on long-tailed Fashion-MNIST; print accuracy by shot group, for GALA also with prediction re-balancing.')
    .option('--data <dir>', 'folder with the 4 Fashion-MNIST IDX files (.gz or not); default: the Debian dataset-fashion-mnist folder if installed, else the committed subset')
    .option('--imbalance <factor>', 'imbalance factor IF = n_max / n_min of the training split (>= 1)', numberOption(1), DEMO_DEFAULTS.imbalance)
    .option('--n-max <n>', 'training images of the head class (class 0)', integerOption(1), DEMO_DEFAULTS.nMax)
    .option('--epochs <n>', 'training epochs', integerOption(1), DEMO_DEFAULTS.epochs)
    .option('--batch-size <n>', 'mini-batch size', integerOption(1), DEMO_DEFAULTS.batchSize)
    .option('--seed <n>', 'seed of the subsample, the initialisation and the batch order', integerOption(0, 0xffffffff), DEMO_DEFAULTS.seed)
    .addOption(
      new Option('--backend <name>', 'tfjs backend; auto = fastest installed (tensorflow, wasm, cpu)').choices(BACKEND_CHOICES).default(DEMO_DEFAULTS.backend),
    )
    .option('--lr <rate>', 'Adam learning rate (> 0)', numberOption(0, true), DEMO_DEFAULTS.lr)
    .addOption(
      new Option('--init <scheme>', 'initialisation of the dense layers: glorot (tfjs default) or pytorch (nn.Linear default, as in the PyTorch reference run of docs/guide/06-benchmark.md)')
        .choices(INITIALIZATIONS)
        .default(DEMO_DEFAULTS.init),
    )
    .option('--json <file>', 'also write the results as JSON to this file')
    .option('--save <dir>', 'save each trained model to <dir>/<method> (model.json + weights.bin, optimizer and loss state included), reload it and evaluate the reloaded model')
    .option('--monitor <dir>', 'measure per-class logit gradients while training (GradientMonitor) and write JSON and SVG pictures to <dir>/<method>')
    .option('--no-progress', 'do not draw progress bars')
    .action(async (options: DemoOptions) => {
      await runDemo(options, env);
    });
}

/**
 * Runs the demo: selects the backend, loads and subsamples the data, trains each method of
 * `methods` with the same seed, prints the data used, the class counts and the results table,
 * and writes the JSON report when asked.
 *
 * @throws Error for inconsistent options (naming them), a missing or malformed data folder,
 *   an unavailable backend, or a data folder with too few images for the profile.
 */
export async function runDemo(options: DemoOptions, env: CliEnvironment, methods: readonly TrainingMethod[] = DEMO_METHODS): Promise<DemoReport> {
  const { imbalance, nMax, epochs, batchSize, seed, lr, init } = options;
  checkDemoOptions(options);
  const started = performance.now();
  const print = (line = '') => env.stdout.write(`${line}\n`);

  // The backend first: an unavailable one fails before the data is read.
  const backend = await selectTrainingBackend(options.backend);
  const source = resolveDataSource(options.data, env);
  const data = await loadFashionMnistLT({ dir: source.dir, imbalanceFactor: imbalance, nMax, seed });
  const groups = shotGroups(data.classCounts);
  print(`Data: ${source.description}`);
  print(
    `Fashion-MNIST-LT: imbalance factor ${imbalance}, n_max ${nMax}, seed ${seed}: ` +
      `${data.train.numExamples} training images, ${data.test.numExamples} test images (balanced)`,
  );
  print(`Training images per class: ${data.classCounts.join(' ')}`);
  print(`Shot groups (by training images): ${SHOT_GROUPS.map((g) => `${g} [${groups[g].join(' ')}]`).join(', ')}`);
  print(`Backend: ${formatBackend(backend)}`);
  const model = `MLP ${[data.train.numFeatures, ...MLP_HIDDEN_UNITS, data.numClasses].join('-')}`;
  print(`Model: ${model} (ReLU, ${init} initialisation), Adam lr ${lr}, batch ${batchSize}, ${epochs} epochs`);
  print();

  const context: MethodContext = { numClasses: data.numClasses, classCounts: data.classCounts, epochs };
  const training: TrainOptions = { epochs, batchSize, learningRate: lr, seed, initialization: init };
  if (options.save !== undefined) print(`Saving each trained model to ${path.resolve(options.save)}/<method> and evaluating the reloaded model.`);
  if (options.monitor !== undefined) print(`Measuring logit gradients of each run; pictures and JSON in ${path.resolve(options.monitor)}/<method>.`);
  const results: MethodResult[] = [];
  const reloadChecks: ReloadCheck[] = [];
  const gradients: NonNullable<DemoReport['gradients']>[number][] = [];
  for (const method of methods) {
    const bar = options.progress ? createProgressBar(env.stderr, method.label) : null;
    let trained: TrainedModel | null = null;
    let reloaded: { dispose: () => void } | null = null;
    try {
      const outputDir = options.monitor === undefined ? null : path.join(options.monitor, method.name);
      const monitor =
        outputDir === null
          ? null
          : new GradientMonitor({ classCounts: data.classCounts, classNames: [...FASHION_MNIST_CLASS_NAMES], outputDir });
      try {
        trained = await trainModel(method, data.train, context, {
          ...training,
          onBatchEnd: bar ? trackEpochs(bar, epochs) : undefined,
          callbacks: monitor === null ? [] : [monitor],
        });
      } finally {
        monitor?.dispose();
      }
      bar?.stop();
      if (monitor?.cumulative != null && outputDir !== null) {
        gradients.push({ method: method.name, label: method.label, outputDir, summary: summarizeGradientImbalance(monitor.cumulative, data.classCounts) });
      }
      let evaluated: tf.LayersModel = trained.model;
      if (options.save !== undefined) {
        const saved = await saveAndReload(trained.model, trained.loss, path.join(options.save, method.name), data.test);
        reloaded = saved;
        evaluated = saved.model;
        reloadChecks.push(saved.check);
        print(describeReload(method.label, saved.check));
      }
      const { secondsPerEpoch, finalLoss } = trained;
      results.push(...evaluateModel(evaluated, method, data.test, context).map((row) => ({ ...row, secondsPerEpoch, finalLoss })));
    } finally {
      bar?.stop();
      reloaded?.dispose();
      trained?.dispose();
    }
  }
  if (options.save !== undefined) print();

  const rows: DemoRow[] = results.map((r) => ({
    method: r.name,
    ...accuracyRow(r),
    secondsPerEpoch: r.secondsPerEpoch,
    finalTrainingLoss: r.finalLoss,
  }));
  print(
    renderResultsTable(
      rows.map((r) => ({ label: r.label, overall: r.overall, groups: { many: r.many, medium: r.medium, few: r.few }, secondsPerEpoch: r.secondsPerEpoch })),
      { many: groups.many.length, medium: groups.medium.length, few: groups.few.length },
    ),
  );
  if (gradients.length > 0) {
    print();
    print(renderGradientSummary(gradients));
  }
  const totalSeconds = (performance.now() - started) / 1000;
  print(
    `Top-1 accuracy (%) on the balanced test split. Shot groups by training images: many > ${MANY_SHOT_ABOVE}, ` +
      `medium ${FEW_SHOT_BELOW}..${MANY_SHOT_ABOVE}, few < ${FEW_SHOT_BELOW} (number of classes in the headers).`,
  );
  print(`Total time: ${totalSeconds.toFixed(1)} s`);

  const report: DemoReport = {
    data: {
      source: source.description,
      dir: source.dir,
      trainExamples: data.train.numExamples,
      testExamples: data.test.numExamples,
      classCounts: data.classCounts,
      shotGroups: groups,
    },
    backend: backend.name,
    settings: { model, imbalanceFactor: imbalance, nMax, epochs, batchSize, learningRate: lr, seed, initialization: init },
    rows,
    ...(options.save === undefined ? {} : { saved: reloadChecks }),
    ...(options.monitor === undefined ? {} : { gradients }),
    totalSeconds,
  };
  if (options.json !== undefined) {
    await fs.mkdir(path.dirname(path.resolve(options.json)), { recursive: true });
    await fs.writeFile(options.json, `${JSON.stringify(report, null, 2)}\n`);
    print(`Results written to ${options.json}`);
  }
  return report;
}

/** Checks what the option parsers cannot see alone (also guards calls from code). */
function checkDemoOptions(options: DemoOptions): void {
  const { imbalance, nMax, epochs, batchSize, seed, lr } = options;
  if (!Number.isFinite(imbalance) || imbalance < 1) throw new Error(`--imbalance must be a finite number >= 1; received ${imbalance}.`);
  if (!Number.isInteger(nMax) || nMax < 1) throw new Error(`--n-max must be an integer >= 1; received ${nMax}.`);
  if (nMax < imbalance) {
    throw new Error(
      `--n-max (${nMax}) must be at least --imbalance (${imbalance}): the rarest class gets floor(n-max / imbalance) = ${Math.floor(nMax / imbalance)} training images.`,
    );
  }
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`--epochs must be an integer >= 1; received ${epochs}.`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`--batch-size must be an integer >= 1; received ${batchSize}.`);
  checkSeed(seed, '--seed');
  if (!Number.isFinite(lr) || lr <= 0) throw new Error(`--lr must be a finite number > 0; received ${lr}.`);
  if (!(INITIALIZATIONS as readonly string[]).includes(options.init)) {
    throw new Error(`--init must be one of ${INITIALIZATIONS.join(', ')}; received ${options.init}.`);
  }
  if (options.data !== undefined && options.data.trim() === '') throw new Error('--data must name a folder; received an empty string.');
  if (options.save !== undefined && options.save.trim() === '') throw new Error('--save must name a folder; received an empty string.');
}

/** One line on a reloaded model: where it is, and that loss, state, optimizer and outputs came back. */
export function describeReload(label: string, check: ReloadCheck): string {
  const state =
    check.lossState === null
      ? ''
      : `, loss state ${check.lossState.loadedSteps} steps (saved ${check.lossState.savedSteps}, max |diff| ${check.lossState.maxAbsDifference})`;
  return (
    `${label}: saved to ${check.dir} and reloaded with tf.loadLayersModel: loss ${check.lossClass ?? 'none'}${state}, ` +
    `optimizer at step ${check.optimizerIterations.loaded} (saved ${check.optimizerIterations.saved}), ` +
    `outputs on ${check.probeRows} test images max |diff| ${check.outputMaxAbsDifference}; evaluating the reloaded model.`
  );
}

/**
 * The paper's gradient analysis in one table: per method and shot group, the mean positive /
 * negative gradient ratio of the group's classes and the mean coefficient of variation of the
 * negative gradient each of them receives from the other classes (cumulative over training).
 */
function renderGradientSummary(gradients: NonNullable<DemoReport['gradients']>): string {
  const fmt = (v: number | null) => (v === null ? 'empty' : v.toFixed(3));
  const lines = ['Logit gradients (cumulative over training): mean positive/negative ratio | mean row CV of negative gradients'];
  for (const g of gradients) {
    const cells = SHOT_GROUPS.map((group) => `${group} ${fmt(g.summary.groups[group].meanRatio)} | ${fmt(g.summary.groups[group].meanRowCoefficientOfVariation)}`);
    lines.push(`  ${g.label.padEnd(14)} ${cells.join('   ')}   (${g.outputDir})`);
  }
  return lines.join('\n');
}
