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
import { BACKEND_CHOICES, checkBackendTrains, formatBackend, selectBackend, type BackendChoice, type SelectedBackend } from './backend';
import { resolveDataSource } from './data_source';
import type { CliEnvironment } from './environment';
import { DEMO_METHODS, type MethodContext, type TrainingMethod } from './methods';
import { describeArchitecture } from './models';
import { integerOption, numberOption } from './options';
import { checkWritable } from './output_paths';
import { checkImbalanceFactors, checkSchedule, DEFAULT_PROTOCOL, INITIALIZATIONS, MODELS, type TrainingProtocol } from './protocol';
import type { AccuracyRow } from './bench/runs';
import { createProgressBar, trackEpochs } from './progress';
import { saveAndReload, type ReloadCheck } from './save_reload';
import { renderResultsTable } from './table';
import { accuracyRow, evaluateModel, trainModel, type MethodResult, type TrainedModel } from './trainer';

/** Options of the demo, as parsed from the command line: the training protocol, and where to read and write. */
export interface DemoOptions extends TrainingProtocol {
  /** Folder with the four Fashion-MNIST IDX files; default: Debian's full dataset, else the committed subset. */
  readonly data?: string;
  readonly backend: BackendChoice;
  /** With `backend: 'webgpu'`: also accept a software adapter (SwiftShader); see `BackendOptions`. */
  readonly allowSoftwareGpu?: boolean;
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

/** The reference protocol's MLP at IF 100, seed 0, on the fastest backend installed. */
export const DEMO_DEFAULTS = {
  ...DEFAULT_PROTOCOL,
  backend: 'auto',
  progress: true,
} as const satisfies Omit<DemoOptions, 'data' | 'json' | 'save' | 'monitor'>;

/** One row of the report. Accuracies are fractions in [0, 1]; null = empty shot group. */
export interface DemoRow extends AccuracyRow {
  readonly method: string;
  readonly secondsPerEpoch: number;
  /** Median seconds of a training epoch (the first epoch includes warm-up such as shader compilation). */
  readonly medianSecondsPerEpoch: number;
  /** Training steps per epoch (batches). */
  readonly stepsPerEpoch: number;
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
  /** What computed: the GPU adapter for webgpu, the CPU otherwise. */
  readonly device: string;
  readonly protocol: TrainingProtocol;
  /** The model's layers, e.g. "MLP 784-256-128-10". */
  readonly architecture: string;
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
    .description('Train the same model with softmax cross-entropy and with GALA on long-tailed Fashion-MNIST; print accuracy by shot group, for GALA also with prediction re-balancing.')
    .addOption(new Option('--model <name>', 'the model: mlp (784-256-128-10) or cnn (conv16-pool-conv32-pool-128-10)').choices(MODELS).default(DEMO_DEFAULTS.model))
    .option('--data <dir>', 'folder with the 4 Fashion-MNIST IDX files (.gz or not); default: the Debian dataset-fashion-mnist folder if installed, else the committed subset')
    .option('--imbalance, --imbalance-factor <factor>', 'imbalance factor IF = n_max / n_min of the training split (>= 1)', numberOption(1), DEMO_DEFAULTS.imbalanceFactor)
    .option('--n-max <n>', 'training images of the head class (class 0)', integerOption(1), DEMO_DEFAULTS.nMax)
    .option('--epochs <n>', 'training epochs', integerOption(1), DEMO_DEFAULTS.epochs)
    .option('--batch-size <n>', 'mini-batch size', integerOption(1), DEMO_DEFAULTS.batchSize)
    .option('--seed <n>', 'seed of the subsample, the initialisation and the batch order', integerOption(0, 0xffffffff), DEMO_DEFAULTS.seed)
    .addOption(
      new Option('--backend <name>', 'tfjs backend; auto = a hardware GPU (tfjs-node-gpu, webgpu), else tfjs-node, wasm, cpu').choices(BACKEND_CHOICES).default(DEMO_DEFAULTS.backend),
    )
    .option('--lr, --learning-rate <rate>', 'Adam learning rate (> 0)', numberOption(0, true), DEMO_DEFAULTS.learningRate)
    .addOption(
      new Option('--init, --initialization <scheme>', 'initialisation: glorot (tfjs default) or pytorch (PyTorch default, as in the reference run of docs/guide/07-reference-numbers.md)')
        .choices(INITIALIZATIONS)
        .default(DEMO_DEFAULTS.initialization),
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
 * Runs the demo: checks the options and that the output paths can be written, selects the
 * backend, loads and subsamples the data, trains each method of `methods` with the same seed,
 * prints the backend (first line), the data used, the class counts and the results table, and
 * writes the JSON report when asked.
 *
 * @throws Error for inconsistent options (naming them), an output path that cannot be written,
 *   a missing or malformed data folder, an unavailable backend, or a data folder with too few
 *   images for the profile; all before any training.
 */
export async function runDemo(options: DemoOptions, env: CliEnvironment, methods: readonly TrainingMethod[] = DEMO_METHODS): Promise<DemoReport> {
  checkDemoOptions(options);
  await checkOutputs(options);
  const started = performance.now();
  const print = (line = '') => env.stdout.write(`${line}\n`);

  // The backend first: an unavailable one fails before the data is read.
  const backend = await selectBackend(options.backend, { allowSoftwareGpu: options.allowSoftwareGpu, needsSynchronousReads: options.monitor !== undefined });
  print(`Backend: ${formatBackend(backend)}`);
  checkBackendTrains(options.model, backend.name);
  checkAsyncBackendOutputs(options, backend);
  const report = await runDemoOn(backend, options, env, methods);
  const totalSeconds = (performance.now() - started) / 1000;
  print(`Total time: ${totalSeconds.toFixed(1)} s`);
  const withTime = { ...report, totalSeconds };
  if (options.json !== undefined) {
    await fs.mkdir(path.dirname(path.resolve(options.json)), { recursive: true });
    await fs.writeFile(options.json, `${JSON.stringify(withTime, null, 2)}\n`);
    print(`Results written to ${options.json}`);
  }
  return withTime;
}

/**
 * The demo on an already selected backend: data, training, evaluation and the table (no JSON
 * file, no total time). `gpu-check` runs it once per backend.
 */
export async function runDemoOn(
  backend: SelectedBackend,
  options: DemoOptions,
  env: CliEnvironment,
  methods: readonly TrainingMethod[] = DEMO_METHODS,
): Promise<Omit<DemoReport, 'totalSeconds'>> {
  const { imbalanceFactor, nMax, epochs, batchSize, seed, learningRate, initialization } = options;
  const print = (line = '') => env.stdout.write(`${line}\n`);
  const source = resolveDataSource(options.data, env);
  const data = await loadFashionMnistLT({ dir: source.dir, imbalanceFactor, nMax, seed });
  const groups = shotGroups(data.classCounts);
  print(`Data: ${source.description}`);
  print(
    `Fashion-MNIST-LT: imbalance factor ${imbalanceFactor}, n_max ${nMax}, seed ${seed}: ` +
      `${data.train.numExamples} training images, ${data.test.numExamples} test images (balanced)`,
  );
  print(`Training images per class: ${data.classCounts.join(' ')}`);
  print(`Shot groups (by training images): ${SHOT_GROUPS.map((g) => `${g} [${groups[g].join(' ')}]`).join(', ')}`);
  const architecture = describeArchitecture(options.model, data.train.numFeatures, data.numClasses, data.train.imageShape);
  print(`Model: ${architecture} (ReLU, ${initialization} initialisation), Adam lr ${learningRate}, batch ${batchSize}, ${epochs} epochs`);
  print();

  const context: MethodContext = { numClasses: data.numClasses, classCounts: data.classCounts, epochs };
  const training = { model: options.model, epochs, batchSize, learningRate, seed, initialization };
  if (options.save !== undefined) print(`Saving each trained model to ${path.resolve(options.save)}/<method> and evaluating the reloaded model.`);
  if (options.monitor !== undefined) print(`Measuring logit gradients of each run; pictures and JSON in ${path.resolve(options.monitor)}/<method>.`);
  const results: (MethodResult & { medianSecondsPerEpoch: number })[] = [];
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
      const { secondsPerEpoch, medianSecondsPerEpoch, finalLoss } = trained;
      const rows = await evaluateModel(evaluated, method, data.test, context);
      results.push(...rows.map((row) => ({ ...row, secondsPerEpoch, medianSecondsPerEpoch, finalLoss })));
    } finally {
      bar?.stop();
      reloaded?.dispose();
      trained?.dispose();
    }
  }
  if (options.save !== undefined) print();

  const stepsPerEpoch = Math.ceil(data.train.numExamples / batchSize);
  const rows: DemoRow[] = results.map((r) => ({
    method: r.name,
    ...accuracyRow(r),
    secondsPerEpoch: r.secondsPerEpoch,
    medianSecondsPerEpoch: r.medianSecondsPerEpoch,
    stepsPerEpoch,
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
  print(
    `Top-1 accuracy (%) on the balanced test split. Shot groups by training images: many > ${MANY_SHOT_ABOVE}, ` +
      `medium ${FEW_SHOT_BELOW}..${MANY_SHOT_ABOVE}, few < ${FEW_SHOT_BELOW} (number of classes in the headers).`,
  );

  return {
    data: {
      source: source.description,
      dir: source.dir,
      trainExamples: data.train.numExamples,
      testExamples: data.test.numExamples,
      classCounts: data.classCounts,
      shotGroups: groups,
    },
    backend: backend.name,
    device: backend.device,
    protocol: { model: options.model, imbalanceFactor, nMax, epochs, batchSize, learningRate, seed, initialization },
    architecture,
    rows,
    ...(options.save === undefined ? {} : { saved: reloadChecks }),
    ...(options.monitor === undefined ? {} : { gradients }),
  };
}

/** The files and folders the demo writes must be writable before it trains. */
async function checkOutputs(options: DemoOptions): Promise<void> {
  if (options.json !== undefined) await checkWritable('--json', 'file', options.json);
  if (options.save !== undefined) await checkWritable('--save', 'folder', options.save);
  if (options.monitor !== undefined) await checkWritable('--monitor', 'folder', options.monitor);
}

/**
 * `--monitor` reads gradients synchronously while training, which tfjs's webgpu backend cannot
 * do in Node: refuse it there before training (`auto` does not pick webgpu with it).
 */
function checkAsyncBackendOutputs(options: DemoOptions, backend: SelectedBackend): void {
  if (backend.name === 'webgpu' && options.monitor !== undefined) {
    throw new Error(
      '--monitor: the backend must read tensors synchronously while training (the gradient monitor does); received webgpu, which cannot in Node. ' +
        'Choose --backend wasm or cpu for this option.',
    );
  }
}

/** Checks what the option parsers cannot see alone (also guards calls from code). */
function checkDemoOptions(options: DemoOptions): void {
  checkSchedule(options);
  checkImbalanceFactors([options.imbalanceFactor], options.nMax);
  checkSeed(options.seed, '--seed: the seed');
  if (options.data !== undefined && options.data.trim() === '') throw new Error('--data: the folder must be a path; received an empty string.');
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
