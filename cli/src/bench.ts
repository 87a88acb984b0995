/**
 * `tfjs-gala bench`: GALA against the usual long-tail methods on Fashion-MNIST-LT, same model,
 * schedule and seeds for all; mean ± std over seeds per imbalance factor, beside the PyTorch
 * reference numbers when the run follows their protocol on their data. Resumable: every
 * finished run is appended to `<out>/runs.jsonl` at once and a rerun skips it. `--perf`
 * measures GALA's cost instead (see `bench_perf.ts`).
 */

import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import { Command, Option } from 'commander';

import { mulberry32, renderSvg } from 'tfjs-gala';
import { ANCHOR_LDAM_SCALE, ANCHOR_TOLERANCE_POINTS, findAnchor, REFERENCE_PAGE, referenceMismatches, scheduleMismatches } from './bench/anchors';
import { accuracyChartSpec } from './bench/chart';
import { anchorComparisonMarkdown, displayName, summaryMarkdown } from './bench/markdown';
import { RunStore, RUNS_FILE, type BenchRun } from './bench/runs';
import {
  choicesMarkdown,
  estimateTunedSeconds,
  planTunedRuns,
  selectTuned,
  TUNING_GRIDS,
  tunedSummaryMarkdown,
  tuningGrid,
  type PlannedTunedRun,
  type TunedChoice,
} from './bench/tuned';
import { compareWithAnchors, summarizeRuns, type AnchorComparison, type SummaryRow } from './bench/summary';
import { BACKEND_CHOICES, checkBackendTrains, formatBackend, selectBackend } from './backend';
import { runPerf } from './bench_perf';
import {
  applyQuickPreset,
  BENCH_DEFAULTS,
  checkBenchOptions,
  estimateSeconds,
  formatDuration,
  planRuns,
  QUICK_PRESETS,
  type BenchOptions,
  type PlannedRun,
} from './bench_plan';
import { FASHION_MNIST_NUM_CLASSES, loadFashionMnist } from './data/fashion_mnist';
import { fingerprintImages, identifyReferenceData, type ReferenceDataName } from './data/reference_data';
import { drawValidation, longTailedIndices, type ValidationDraw } from './data/splits';
import { describeDataSource, resolveDataSource } from './data_source';
import type { CliEnvironment } from './environment';
import { describeMachine, formatMachine, loadWarning, type MachineDescription } from './machine';
import { BENCHMARK_METHOD_NAMES, benchmarkMethods, CROSS_ENTROPY } from './methods';
import { describeArchitecture } from './models';
import { choiceOption, integerOption, listOption, numberOption } from './options';
import { checkWritable } from './output_paths';
import { INITIALIZATIONS, MODELS, REFERENCE_PROTOCOL, scheduleOf, type ProtocolGrid } from './protocol';
import { renderBenchTable, renderTunedTable } from './table';
import { trainModel } from './trainer';
import { trainPending, trainTunedPending } from './bench/train_pending';

/** How a benchmark relates to the PyTorch reference numbers. */
export interface ReferenceCheck {
  /** Which reference data set the data folder holds (by content); null for other data. */
  readonly data: ReferenceDataName | null;
  /** Whether the summary is compared with the reference numbers (data and schedule of the reference protocol). */
  readonly compared: boolean;
  /** Why it is not compared; empty when it is. */
  readonly mismatches: readonly string[];
  /** Where the reference numbers are published. */
  readonly page: string;
}

/** What a benchmark produced (also the content of `results.json`, without `runs` repeated elsewhere). */
export interface BenchReport {
  readonly mode: 'quick' | 'custom' | 'full';
  readonly machine: MachineDescription;
  readonly backend: string;
  /** What computed: the GPU adapter for webgpu, the CPU otherwise. */
  readonly device: string;
  readonly data: { readonly source: string; readonly dir: string };
  readonly protocol: ProtocolGrid & { readonly methods: readonly string[]; readonly ldamScale: number };
  /** The model's layers, e.g. "MLP 784-256-128-10". */
  readonly architecture: string;
  readonly reference: ReferenceCheck;
  /** Runs of this plan: finished now, or earlier (skipped). */
  readonly runs: readonly BenchRun[];
  readonly skippedRuns: number;
  readonly summary: readonly SummaryRow[];
  /** The summary beside the reference rows (no reference rows when `reference.compared` is false). */
  readonly anchors: readonly AnchorComparison[];
  /** With `--tuned`: the rows tuned on the validation split; null otherwise. */
  readonly tuned: TunedReport | null;
  /** Files written; `svg` is null when the chart could not be drawn (vega and vega-lite are optional). */
  readonly files: { readonly runs: string; readonly json: string; readonly markdown: string; readonly svg: string | null };
  readonly totalSeconds: number;
}

/** The tuned part of a {@link BenchReport}. */
export interface TunedReport {
  /** The validation split: images per class asked for, and drawn per imbalance factor and seed. */
  readonly validation: {
    readonly requestedPerClass: number;
    readonly draws: readonly { readonly imbalanceFactor: number; readonly seed: number; readonly perClass: number; readonly examples: number }[];
  };
  /** The knobs searched per method ("–": none, only epoch and post-hoc tau). */
  readonly grids: Readonly<Record<string, readonly string[]>>;
  /** Tuned runs of this plan (finished now or earlier), every grid point. */
  readonly runs: readonly BenchRun[];
  /** Mean ± std over seeds of the chosen rows. */
  readonly summary: readonly SummaryRow[];
  /** What was chosen per imbalance factor, seed and row. */
  readonly choices: readonly TunedChoice[];
  /** Methods whose grid is not complete at an imbalance factor and seed (no tuned row there). */
  readonly incomplete: readonly string[];
}

/** Adds the `bench` subcommand to `program`. */
export function registerBenchCommand(program: Command, env: CliEnvironment): Command {
  const methodList = listOption(choiceOption(BENCHMARK_METHOD_NAMES));
  return program
    .command('bench')
    .description(
      'Benchmark GALA against cross-entropy, focal, logit-adjusted, balanced softmax, LDAM-DRW and class-weighted CE on ' +
        'Fashion-MNIST-LT (each also with prediction re-balancing), mean ± std over seeds beside the PyTorch reference numbers ' +
        `(${REFERENCE_PAGE}); resumable. --perf measures the cost of GALA instead.`,
    )
    .addOption(new Option('--model <name>', 'the model: mlp (784-256-128-10) or cnn (conv16-pool-conv32-pool-128-10)').choices(MODELS).default(BENCH_DEFAULTS.model))
    .option('--data <dir>', 'folder with the 4 Fashion-MNIST IDX files; default: the Debian dataset-fashion-mnist folder if installed, else the committed subset')
    .addOption(
      listFlag('--imbalance, --imbalance-factors <list>', 'imbalance factors, comma-separated (each >= 1)', listOption(numberOption(1)), BENCH_DEFAULTS.imbalanceFactors),
    )
    .addOption(listFlag('--seeds <list>', 'seeds, comma-separated', listOption(integerOption(0, 0xffffffff)), BENCH_DEFAULTS.seeds))
    .addOption(listFlag('--methods <list>', `methods, comma-separated, from ${BENCHMARK_METHOD_NAMES.join(', ')}`, methodList, BENCH_DEFAULTS.methods))
    .option('--epochs <n>', 'training epochs', integerOption(1), BENCH_DEFAULTS.epochs)
    .option('--n-max <n>', 'training images of the head class (class 0)', integerOption(1), BENCH_DEFAULTS.nMax)
    .option('--batch-size <n>', 'mini-batch size', integerOption(1), BENCH_DEFAULTS.batchSize)
    .option('--lr, --learning-rate <rate>', 'Adam learning rate (> 0)', numberOption(0, true), BENCH_DEFAULTS.learningRate)
    .addOption(new Option('--init, --initialization <scheme>', 'initialisation of the layers').choices(INITIALIZATIONS).default(BENCH_DEFAULTS.initialization))
    .addOption(
      new Option('--backend <name>', 'tfjs backend for training; auto = a hardware GPU (tfjs-node-gpu, webgpu), else tfjs-node, wasm, cpu')
        .choices(BACKEND_CHOICES)
        .default(BENCH_DEFAULTS.backend),
    )
    .option('--ldam-scale <s>', `LDAM scale s (> 0); ${ANCHOR_LDAM_SCALE} as in the reference run, 1 suits plain dense logits better`, numberOption(0, true), BENCH_DEFAULTS.ldamScale)
    .option(
      '--out <dir>',
      'output folder: runs.jsonl (resumable), results.json, results.md, accuracy.svg (results-quick.* with --quick, *-cnn.* with --model cnn), perf.json',
      BENCH_DEFAULTS.out,
    )
    .option(
      '--quick',
      `quick mode: IF ${QUICK_PRESETS.mlp.imbalanceFactors.join(',')} only (~4 min on 2 cores with wasm); with --model cnn also without ` +
        `bs and cw, which have no CNN reference rows (~9 min); explicit options win; a later full run reuses its runs`,
      false,
    )
    .option(
      '--tuned',
      'also tune each method on a held-out validation split (training images the long-tailed subset did not use, balanced): ' +
        `GALA lambda1/lambda2 over ${TUNING_GRIDS.gala.map((g) => `${g.lambda1}/${g.lambda2}`).join(', ')}, LA tau over ${TUNING_GRIDS.la.join(', ')}, ` +
        `LDAM max margin over ${TUNING_GRIDS.ldamdrw.join(', ')}, the epoch kept (best validation balanced accuracy) and the post-hoc taus; ` +
        'reported once on the test split beside the fixed rows (needs the full data)',
      false,
    )
    .option('--val-per-class, --validation-per-class <n>', 'with --tuned: validation images per class (fewer when the data has fewer spare images)', integerOption(1), BENCH_DEFAULTS.validationPerClass)
    .option('--perf', 'measure training speed and the cost of GALA (CNN and MLP steps, wasm and cpu) instead of accuracy', false)
    .option('--no-progress', 'do not draw progress bars')
    .action(async (options: BenchOptions, command: Command) => {
      const resolved = applyQuickPreset(options, (name) => command.getOptionValueSource(name) === 'default');
      if (resolved.perf) await runPerf({ out: resolved.out }, env);
      else await runBench(resolved, env);
    });
}

/** An option taking a comma-separated list, its default shown as the user would type it. */
function listFlag<T>(flags: string, description: string, parse: (value: string) => T[], defaultValue: readonly T[]): Option {
  return new Option(flags, description).argParser(parse).default([...defaultValue], defaultValue.join(','));
}

/**
 * Runs the benchmark: trains every run of the plan that `<out>/runs.jsonl` does not hold yet
 * (appending each as it ends), then summarises all runs of the plan, prints the table (beside
 * the reference numbers when the run follows their protocol on their data) and writes
 * results.json, results.md and accuracy.svg.
 *
 * @throws Error for inconsistent options (naming them), an output folder that cannot be written,
 *   a missing or malformed data folder or an unavailable backend, all before training. Runs
 *   finished before a later error stay in runs.jsonl.
 */
export async function runBench(options: BenchOptions, env: CliEnvironment): Promise<BenchReport> {
  checkBenchOptions(options);
  await checkWritable('--out', 'folder', options.out);
  const started = performance.now();
  const print = (line = '') => env.stdout.write(`${line}\n`);
  const machine = describeMachine();
  const backend = await selectBackend(options.backend, { allowSoftwareGpu: options.allowSoftwareGpu });
  print(`Backend: ${formatBackend(backend)}`);
  checkBackendTrains(options.model, backend.name);
  const source = resolveDataSource(options.data, env);
  const full = await loadFashionMnist(source.dir);
  const referenceData = identifyReferenceData(fingerprintImages(full));
  const mismatches = referenceMismatches(options, referenceData);
  const reference: ReferenceCheck = { data: referenceData, compared: mismatches.length === 0, mismatches, page: REFERENCE_PAGE };

  const methods = benchmarkMethods({ ldamScale: options.ldamScale }).filter((m) => options.methods.includes(m.name as never));
  methods.sort((a, b) => options.methods.indexOf(a.name as never) - options.methods.indexOf(b.name as never));
  const plan = planRuns(options, methods, source.dir);
  const tunedPlan = options.tuned ? planTunedRuns(options, methods, source.dir, options.validationPerClass, options.ldamScale) : [];
  // The validation splits, drawn before any training so that data without spare images fails at once.
  const validationDraws = options.tuned ? drawValidationSplits(options, full) : new Map<string, ValidationDraw>();
  const out = path.resolve(options.out);
  const store = await RunStore.open(out);
  const pendingTuned = tunedPlan.filter((run) => !store.has(run.key));
  // A tuned run at the default grid point also yields the fixed run (its last epoch).
  const yielded = new Set(pendingTuned.map((run) => run.fixedKey).filter((key): key is string => key !== null));
  const pending = plan.filter((run) => !store.has(run.key) && !yielded.has(run.key));
  const fixedPending = plan.filter((run) => !store.has(run.key)).length;
  const mode = options.quick ? 'quick' : isFullProtocol(options) ? 'full' : 'custom';
  const imageShape: [number, number] = [full.train.height, full.train.width];
  const architecture = describeArchitecture(options.model, full.train.height * full.train.width, FASHION_MNIST_NUM_CLASSES, imageShape);

  print(`Benchmark (${mode} mode${options.tuned ? ', tuned' : ''}): Fashion-MNIST-LT, ${describePlan(options, methods.length, plan.length)}`);
  const dataDescription = describeDataSource(source, referenceData);
  const notReference = referenceData === null ? ' (not the reference data: no comparison with the PyTorch reference numbers)' : '';
  print(`Data: ${dataDescription}${notReference}`);
  print(`Machine: ${formatMachine(machine)}`);
  const warning = loadWarning(machine);
  if (warning !== null) print(warning);
  print(
    `Model: ${architecture} (ReLU, ${options.initialization} initialisation), Adam lr ${options.learningRate}, batch ${options.batchSize}, ` +
      `${options.epochs} epochs, n_max ${options.nMax}; LDAM scale ${options.ldamScale}`,
  );
  print(`Methods: ${methods.map((m) => `${m.name} (${m.label})`).join(', ')}; post-hoc rows: +PR (re-balancing, tau 1) for each, +LA for ce`);
  if (store.skippedLines.length > 0) print(`Warning: skipped unreadable lines ${store.skippedLines.join(', ')} of ${store.file}.`);
  if (options.tuned) {
    const perClass = [...validationDraws.values()].map((d) => d.perClass);
    const fewest = Math.min(...perClass);
    const shrunk = fewest < options.validationPerClass;
    print(
      `Tuned: validation split of ${shrunk ? `${fewest}..${Math.max(...perClass)}` : fewest} images per class (class-balanced; training images the subset ` +
        `did not use${shrunk ? `; fewer than the ${options.validationPerClass} asked for: the data has no more spare images of some class` : ''}); ` +
        `grids: ${methods.map((m) => `${m.name} ${tuningGrid(m, options.ldamScale).map((p) => p.knobs).join(', ')}`).join('; ')}; ` +
        'the epoch kept and the post-hoc taus chosen on the same split, by balanced accuracy.',
    );
  }
  print(
    `Output: ${out} (${RUNS_FILE}: ${plan.length - fixedPending} of ${plan.length}${options.tuned ? ' fixed' : ''} runs already done` +
      (options.tuned ? `, ${tunedPlan.length - pendingTuned.length} of ${tunedPlan.length} tuned runs` : '') +
      (pending.length + pendingTuned.length === 0 ? '' : `, ${pending.length + pendingTuned.length} to run`) +
      ')',
  );
  if (pending.length + pendingTuned.length > 0) {
    const msPerStep = await calibrateStepMs(options, imageShape);
    const validationExamples = Math.max(0, ...[...validationDraws.values()].map((d) => d.indices.length));
    const estimateOf = (fixed: readonly PlannedRun[], tuned: readonly PlannedTunedRun[]) =>
      estimateSeconds(fixed, msPerStep, full.test.count, options.batchSize) + estimateTunedSeconds(tuned, msPerStep, full.test.count, validationExamples, options.batchSize);
    const runCount = pending.length + pendingTuned.length;
    const totalSteps = [...pending, ...pendingTuned].reduce((sum, run) => sum + run.steps, 0);
    // From scratch, the tuned plan yields the fixed runs too.
    const whole =
      runCount < (options.tuned ? tunedPlan.length : plan.length)
        ? `; the whole plan from scratch: ${formatDuration(options.tuned ? estimateOf([], tunedPlan) : estimateOf(plan, []))}`
        : '';
    print(
      `Estimated time: ${formatDuration(estimateOf(pending, pendingTuned))} for ${runCount} runs (${totalSteps} training steps at ${msPerStep.toFixed(0)} ms per step, ` +
        `measured now on ${backend.name}${options.tuned ? `, plus a pass over the ${validationExamples} validation images after every epoch` : ''})${whole}.`,
    );
  }
  print();

  await trainPending(pending, options, full, backend.name, store, env);
  await trainTunedPending(pendingTuned, options, full, validationDraws, backend.name, store, env);

  const runs = plan.map((run) => store.get(run.key)).filter((run): run is BenchRun => run !== undefined);
  const rowNames = methods.flatMap((m) => [m.name, ...(m.postHoc ?? []).map((p) => p.name)]);
  const summary = summarizeRuns(runs, { imbalanceFactors: options.imbalanceFactors, rowNames });
  const anchors = compareWithAnchors(summary, (imbalanceFactor, name) => {
    if (!reference.compared) return undefined;
    // LDAM-DRW at another scale is another method than the reference's.
    if (name.split('+')[0] === 'ldamdrw' && options.ldamScale !== ANCHOR_LDAM_SCALE) return undefined;
    return findAnchor(options.model, imbalanceFactor, name);
  });
  let tuned: TunedReport | null = null;
  if (options.tuned) {
    const selection = selectTuned(tunedPlan, (key) => store.get(key));
    tuned = {
      validation: {
        requestedPerClass: options.validationPerClass,
        draws: [...validationDraws.entries()].map(([id, draw]) => {
          const [imbalanceFactor, seed] = id.split('/').map(Number);
          return { imbalanceFactor, seed, perClass: draw.perClass, examples: draw.indices.length };
        }),
      },
      grids: Object.fromEntries(methods.map((m) => [m.name, tuningGrid(m, options.ldamScale).map((p) => p.knobs)])),
      runs: tunedPlan.map((run) => store.get(run.key)).filter((run): run is BenchRun => run !== undefined),
      summary: summarizeRuns(selection.runs, { imbalanceFactors: options.imbalanceFactors, rowNames }),
      choices: selection.choices,
      incomplete: selection.incomplete,
    };
  }
  const totalSeconds = (performance.now() - started) / 1000;
  // Quick and full runs, tuned or not, and the two models, share runs.jsonl; their summaries are kept apart.
  const suffix = `${options.tuned ? '-tuned' : ''}${mode === 'quick' ? '-quick' : ''}${options.model === 'mlp' ? '' : `-${options.model}`}`;
  const chart = await drawChart(tuned === null ? summary : tuned.summary, options, architecture, env);
  const report: BenchReport = {
    mode,
    machine: { ...machine, loadAverage: describeMachine().loadAverage },
    backend: backend.name,
    device: backend.device,
    data: { source: dataDescription, dir: source.dir },
    protocol: { ...scheduleOf(options), imbalanceFactors: options.imbalanceFactors, seeds: options.seeds, methods: methods.map((m) => m.name), ldamScale: options.ldamScale },
    architecture,
    reference,
    runs,
    skippedRuns: plan.length - fixedPending + tunedPlan.length - pendingTuned.length,
    summary,
    anchors,
    tuned,
    files: {
      runs: store.file,
      json: path.join(out, `results${suffix}.json`),
      markdown: path.join(out, `results${suffix}.md`),
      svg: chart.svg === null ? null : path.join(out, `accuracy${suffix}.svg`),
    },
    totalSeconds,
  };
  const notes = referenceNotes(options, reference, referenceData === 'committed Fashion-MNIST-LT subset', full.test.count);
  if (chart.problem !== null) notes.push(`No chart: ${chart.problem}`);
  await writeResults(report, notes, chart.svg);

  print(renderBenchTable(anchors, { reference: reference.compared }));
  print(
    `Top-1 accuracy (%) on the balanced test split, mean ± sample std over seeds; shot groups many > 100, medium 20..100, ` +
      `few < 20 training images; "empty": no class in the group.` +
      (reference.compared
        ? ` reference: the PyTorch run of the same protocol (${REFERENCE_PAGE}), overall; Δ = ours - reference in points, flagged when above ${ANCHOR_TOLERANCE_POINTS}.`
        : ''),
  );
  if (tuned !== null) {
    print();
    print('Tuned on the validation split (knobs, epoch and post-hoc taus chosen by validation balanced accuracy; tested once):');
    print(renderTunedTable(tuned.summary, summary));
    print(`"fixed": the fixed protocol's overall accuracy of the same row (last epoch, default knobs, tau 1). Chosen knobs per IF and seed: ${report.files.markdown}.`);
    if (tuned.incomplete.length > 0) print(`Warning: no tuned row yet for ${tuned.incomplete.join(', ')} (grid not complete).`);
  }
  for (const note of notes) print(note);
  const flagged = anchors.filter((c) => c.flagged);
  if (flagged.length > 0) {
    print(
      `Rows more than ${ANCHOR_TOLERANCE_POINTS} points from the reference numbers: ` +
        `${flagged.map((c) => `IF ${c.row.imbalanceFactor} ${displayName(c.row.name)}`).join(', ')}.`,
    );
  }
  if (runs.length < plan.length) print(`Warning: ${plan.length - runs.length} runs of the plan have no result.`);
  print(`Written: ${[report.files.runs, report.files.json, report.files.markdown, report.files.svg].filter((f) => f !== null).join(', ')}`);
  print(`Total time: ${formatDuration(totalSeconds)} (${pending.length + pendingTuned.length} runs trained, ${report.skippedRuns} already done)`);
  return report;
}

/**
 * The validation split of every imbalance factor and seed of the plan, keyed "IF/seed".
 * @throws Error (from `drawValidation`) when the data has no spare image of some class.
 */
function drawValidationSplits(options: BenchOptions, full: Awaited<ReturnType<typeof loadFashionMnist>>): Map<string, ValidationDraw> {
  const draws = new Map<string, ValidationDraw>();
  for (const imbalanceFactor of options.imbalanceFactors) {
    for (const seed of options.seeds) {
      const subset = longTailedIndices(full.train, { imbalanceFactor, nMax: options.nMax, seed });
      try {
        draws.set(`${imbalanceFactor}/${seed}`, drawValidation(full.train, subset.indices, subset.numClasses, options.validationPerClass, seed));
      } catch (error) {
        throw new Error(`--tuned: at imbalance factor ${imbalanceFactor}, seed ${seed}, n_max ${options.nMax} in ${full.dir}: ${(error as Error).message}`);
      }
    }
  }
  return draws;
}

/**
 * Milliseconds per training step of the benchmark's model on the active backend, measured
 * through the benchmark's own training path (`trainModel`: batching, `fitDataset`, callbacks):
 * the median time between batch ends over 3 epochs of 4 batches of random images, after a
 * first epoch of warm-up.
 */
async function calibrateStepMs(options: BenchOptions, imageShape: [number, number]): Promise<number> {
  const batches = 4;
  const numExamples = batches * options.batchSize;
  const numFeatures = imageShape[0] * imageShape[1];
  const random = mulberry32(12345);
  const features = Float32Array.from({ length: numExamples * numFeatures }, () => random());
  const labels = Int32Array.from({ length: numExamples }, (_, i) => i % FASHION_MNIST_NUM_CLASSES);
  const classCounts = new Array<number>(FASHION_MNIST_NUM_CLASSES).fill(0);
  labels.forEach((label) => classCounts[label]++);
  const batchEnds: number[] = [];
  const trained = await trainModel(
    CROSS_ENTROPY,
    { features, labels, numExamples, numFeatures, imageShape },
    { numClasses: FASHION_MNIST_NUM_CLASSES, classCounts, epochs: 4 },
    {
      ...scheduleOf(options),
      epochs: 4,
      seed: 0,
      onBatchEnd: ({ epoch }) => {
        if (epoch > 0) batchEnds.push(performance.now());
      },
    },
  );
  trained.dispose();
  const intervals = batchEnds.slice(1).map((t, i) => t - batchEnds[i]).sort((a, b) => a - b);
  return intervals[Math.floor(intervals.length / 2)];
}

function isFullProtocol(options: BenchOptions): boolean {
  const same = (a: readonly unknown[], b: readonly unknown[]) => a.length === b.length && a.every((v, i) => v === b[i]);
  return (
    same([...options.imbalanceFactors].sort((a, b) => a - b), [...REFERENCE_PROTOCOL.imbalanceFactors]) &&
    same(options.seeds, [...REFERENCE_PROTOCOL.seeds]) &&
    options.methods.length === BENCH_DEFAULTS.methods.length &&
    scheduleMismatches(options).length === 0
  );
}

function describePlan(options: BenchOptions, methods: number, runs: number): string {
  return `IF ${options.imbalanceFactors.join(', ')} x seeds ${options.seeds.join(', ')} x ${methods} methods = ${runs} training runs`;
}

/**
 * Notes on the comparison with the reference numbers: why there is none, or where this run
 * still differs from the reference run (seeds, LDAM's scale, the test split's size), so that
 * differences are read right.
 */
function referenceNotes(options: BenchOptions, reference: ReferenceCheck, committedSubset: boolean, testExamples: number): string[] {
  if (!reference.compared) {
    return [`No comparison with the PyTorch reference numbers (${reference.page}): ${reference.mismatches.join('; ')}.`];
  }
  const differences: string[] = [];
  const seeds = options.seeds.join(',');
  if (seeds !== REFERENCE_PROTOCOL.seeds.join(',')) differences.push(`seeds ${seeds} (reference: ${REFERENCE_PROTOCOL.seeds.join(',')})`);
  if (options.ldamScale !== ANCHOR_LDAM_SCALE) differences.push(`LDAM scale ${options.ldamScale} (reference: ${ANCHOR_LDAM_SCALE}; its rows are not compared)`);
  if (committedSubset || testExamples !== 10000) {
    differences.push(`${testExamples} test images from ${committedSubset ? 'the committed subset' : 'the data folder'} (reference: the full 10,000)`);
  }
  return differences.length === 0 ? [] : [`Note: this run differs from the reference run in ${differences.join('; ')}: read the differences with that in mind.`];
}

/** The chart as SVG, or why it could not be drawn (vega and vega-lite are optional peers). */
async function drawChart(
  summary: readonly SummaryRow[],
  options: BenchOptions,
  architecture: string,
  env: CliEnvironment,
): Promise<{ svg: string | null; problem: string | null }> {
  const title = `Fashion-MNIST-LT, ${architecture}, ${options.epochs} epochs: overall top-1 accuracy (mean ± std over ${options.seeds.length} seeds)`;
  try {
    return { svg: await (env.renderSvg ?? renderSvg)(accuracyChartSpec(summary, title)), problem: null };
  } catch (error) {
    return { svg: null, problem: (error as Error).message };
  }
}

/** The tuned section of results-tuned*.md: the table beside the fixed rows, then the chosen knobs. */
function tunedMarkdown(report: BenchReport): string[] {
  const { tuned } = report;
  if (tuned === null) return [];
  const draws = tuned.validation.draws.map((d) => d.perClass);
  const perClass = Math.min(...draws) === Math.max(...draws) ? String(draws[0]) : `${Math.min(...draws)}..${Math.max(...draws)}`;
  return [
    '## Tuned on held-out data',
    '',
    `Validation split: ${perClass} images per class (asked: ${tuned.validation.requestedPerClass}), class-balanced, drawn (seeded) from the training ` +
      'images the long-tailed subset did not use: disjoint from the training subset and from the test split. On it, by balanced accuracy: ' +
      `the training knob (${Object.entries(tuned.grids)
        .filter(([, knobs]) => knobs.length > 1)
        .map(([name, knobs]) => `${name}: ${knobs.join(', ')}`)
        .join('; ')}), the epoch kept (every method) and the post-hoc taus (0, 0.25, ..., 2). ` +
      'Each row takes the grid point with the best validation score for that row; the test split is evaluated once per run. ' +
      '"fixed overall": the fixed table\'s row (default knobs, last epoch, tau 1).',
    '',
    tunedSummaryMarkdown(tuned.summary, report.summary),
    ...(tuned.incomplete.length > 0 ? [`No tuned row yet for ${tuned.incomplete.join(', ')} (grid not complete).`, ''] : []),
    '### Chosen per imbalance factor and seed',
    '',
    'knobs: the training grid point; epoch: the kept epoch (1-based); tau: the post-hoc tau of a +PR / +LA row; val balanced: its validation balanced accuracy (%).',
    '',
    choicesMarkdown(tuned.choices),
  ];
}

/** Writes results JSON, markdown and (when drawn) the chart to the files named in the report. */
async function writeResults(report: BenchReport, notes: readonly string[], svg: string | null): Promise<void> {
  const { files } = report;
  const p = report.protocol;
  await fs.writeFile(files.json, `${JSON.stringify(report, null, 2)}\n`);
  const comparison = report.reference.compared
    ? [
        `## Against the PyTorch reference run (${report.reference.page})`,
        '',
        `Δ = ours - reference, in points; flagged when |Δ overall| > ${ANCHOR_TOLERANCE_POINTS}.`,
        '',
        anchorComparisonMarkdown(report.anchors),
      ]
    : [];
  const markdown = [
    `# tfjs-gala benchmark: Fashion-MNIST-LT (${report.mode} mode)`,
    '',
    `- Machine: ${formatMachine(report.machine)}`,
    `- Backend: ${report.backend} (${report.device}); data: ${report.data.source}`,
    `- Protocol: ${report.architecture} (ReLU, ${p.initialization} initialisation), Adam lr ${p.learningRate}, batch ${p.batchSize}, ${p.epochs} epochs, ` +
      `n_max ${p.nMax}; IF ${p.imbalanceFactors.join(', ')}; seeds ${p.seeds.join(', ')}; LDAM scale ${p.ldamScale}`,
    `- Rows: each method, then "+PR" (prediction re-balancing over the whole test split, tau 1) and for ce "+LA" (post-hoc logit adjustment, tau 1), from the same trained model.`,
    '',
    'Top-1 accuracy (%) on the balanced test split, mean ± sample std over seeds.',
    '',
    summaryMarkdown(report.summary),
    ...comparison,
    ...tunedMarkdown(report),
    ...notes.map((note) => `${note}\n`),
    ...(files.svg === null ? [] : [`![overall accuracy by method](${path.basename(files.svg)})`, '']),
  ].join('\n');
  await fs.writeFile(files.markdown, markdown);
  if (files.svg !== null && svg !== null) await fs.writeFile(files.svg, svg);
}
