/**
 * What `tfjs-gala bench` will run: its options, the quick preset, the list of runs with their
 * keys, and time estimates. Pure functions (no tfjs, no files) apart from the run key's hash.
 */

import { runKey, runSettings, type RunSettings } from './bench/runs';
import { VALIDATION_PER_CLASS } from './bench/tuned';
import { checkSeed, longTailCounts } from 'tfjs-gala';
import { FASHION_MNIST_NUM_CLASSES } from './data/fashion_mnist';
import type { BackendChoice } from './backend';
import { BENCHMARK_METHOD_NAMES, LDAM_SCALE, type BenchmarkMethodName, type TrainingMethod } from './methods';
import { checkImbalanceFactors, checkSchedule, REFERENCE_PROTOCOL, type ModelName, type ProtocolGrid } from './protocol';

/** Options of `tfjs-gala bench`, as parsed from the command line: a grid of the training protocol, methods, and where to read and write. */
export interface BenchOptions extends ProtocolGrid {
  /** Folder with the four Fashion-MNIST IDX files; default: Debian's full dataset, else the committed subset. */
  readonly data?: string;
  /** Methods to train, in table order (each adds its post-hoc rows). */
  readonly methods: readonly BenchmarkMethodName[];
  readonly backend: BackendChoice;
  /** With `backend: 'webgpu'`: also accept a software adapter (SwiftShader). */
  readonly allowSoftwareGpu?: boolean;
  /** LDAM's scale s (> 0). */
  readonly ldamScale: number;
  /** Output folder (runs.jsonl, results.json, results.md, accuracy.svg, perf.json). */
  readonly out: string;
  /** Quick mode: see {@link QUICK_PRESETS}. */
  readonly quick: boolean;
  /** Measure GALA's cost instead of accuracy. */
  readonly perf: boolean;
  /** Also the tuned rows: knobs, epoch and post-hoc taus chosen on a held-out validation split (see `bench/tuned.ts`). */
  readonly tuned: boolean;
  /** Images per class of the validation split of `tuned` (fewer when the data has fewer spare images). */
  readonly validationPerClass: number;
  /** Draw a progress bar (on a terminal). */
  readonly progress: boolean;
}

/** The reference protocol with the MLP: IF 10, 50, 100; every method; seeds 0, 1, 2; 30 epochs of Adam 1e-3 at batch 128. */
export const BENCH_DEFAULTS = {
  model: 'mlp',
  ...REFERENCE_PROTOCOL,
  methods: BENCHMARK_METHOD_NAMES,
  backend: 'auto',
  ldamScale: LDAM_SCALE,
  out: 'bench-results',
  quick: false,
  perf: false,
  tuned: false,
  validationPerClass: VALIDATION_PER_CLASS,
  progress: true,
} as const satisfies Omit<BenchOptions, 'data'>;

/**
 * Quick mode (`--quick`): the full protocol (seeds 0, 1, 2, 30 epochs) at IF 100 only, where the
 * methods differ most and the rows stay comparable with the reference numbers. Its runs have
 * the same keys as the full protocol's, in the same output folder, so a later full run reuses
 * them; its summary goes to `results-quick.*`. Options given explicitly win over the preset.
 *
 * - MLP: every method, 24 runs instead of 72, about 4 minutes on 2 cores with wasm.
 * - CNN: a step costs about 7x the MLP's on wasm (about 90 ms CPU time on 2 cores, ~30 s per
 *   run with its evaluation), so 24 runs would take about 12 minutes; quick mode leaves out the
 *   two methods without a CNN reference row, balanced softmax (the same loss as logit
 *   adjustment at tau 1) and class-weighted cross-entropy: 18 runs, about 9 minutes.
 */
export const QUICK_PRESETS = {
  mlp: { imbalanceFactors: [100] },
  cnn: { imbalanceFactors: [100], methods: ['ce', 'focal', 'la', 'ldamdrw', 'gala', 'galaref'] },
} as const satisfies Record<ModelName, Partial<BenchOptions>>;

/**
 * Applies the model's {@link QUICK_PRESETS} entry when `options.quick`, to every option the user
 * did not give (`isDefault(name)` true: the value is commander's default).
 */
export function applyQuickPreset(options: BenchOptions, isDefault: (name: keyof BenchOptions) => boolean): BenchOptions {
  if (!options.quick) return options;
  const preset: Partial<Record<keyof BenchOptions, unknown>> = {};
  for (const [name, value] of Object.entries(QUICK_PRESETS[options.model] ?? QUICK_PRESETS.mlp) as [keyof BenchOptions, unknown][]) {
    if (isDefault(name)) preset[name] = value;
  }
  return { ...options, ...preset } as BenchOptions;
}

/**
 * Checks what the option parsers cannot see alone (also guards calls from code).
 * @throws Error naming the option, what is allowed and the value received.
 */
export function checkBenchOptions(options: BenchOptions): void {
  const { imbalanceFactors, seeds, methods, nMax, ldamScale } = options;
  checkSchedule(options);
  checkImbalanceFactors(imbalanceFactors, nMax);
  if (!Array.isArray(seeds) || seeds.length === 0) throw new Error('--seeds: the list must hold at least one seed; received an empty list.');
  for (const seed of seeds) checkSeed(seed, '--seeds: each seed');
  if (!Array.isArray(methods) || methods.length === 0) throw new Error('--methods: the list must hold at least one method; received an empty list.');
  for (const method of methods) {
    if (!(BENCHMARK_METHOD_NAMES as readonly string[]).includes(method)) {
      throw new Error(`--methods: each method must be one of ${BENCHMARK_METHOD_NAMES.join(', ')}; received ${method}.`);
    }
  }
  const { validationPerClass } = options;
  if (options.tuned && (!Number.isInteger(validationPerClass) || validationPerClass < 1)) {
    throw new Error(`--val-per-class: the validation images per class must be an integer >= 1; received ${validationPerClass}.`);
  }
  if (!Number.isFinite(ldamScale) || ldamScale <= 0) throw new Error(`--ldam-scale: LDAM's scale must be a finite number > 0; received ${ldamScale}.`);
  if (typeof options.out !== 'string' || options.out.trim() === '') throw new Error('--out: the folder must be a path; received an empty string.');
  if (options.data !== undefined && options.data.trim() === '') throw new Error('--data: the folder must be a path; received an empty string.');
}

/** One training run of the plan. */
export interface PlannedRun {
  readonly imbalanceFactor: number;
  readonly seed: number;
  readonly method: TrainingMethod;
  readonly settings: RunSettings;
  /** {@link runKey}: a finished run with this key is not run again. */
  readonly key: string;
  readonly trainExamples: number;
  /** Training steps (batches over all epochs). */
  readonly steps: number;
}

/**
 * The runs of a benchmark, in the order they train: by imbalance factor, then seed, then
 * method, so that an interrupted benchmark has complete seeds to show.
 */
export function planRuns(options: ProtocolGrid, methods: readonly TrainingMethod[], dataDir: string): PlannedRun[] {
  const plan: PlannedRun[] = [];
  for (const imbalanceFactor of options.imbalanceFactors) {
    const trainExamples = longTailCounts({ numClasses: FASHION_MNIST_NUM_CLASSES, imbalanceFactor, nMax: options.nMax }).reduce((a, b) => a + b, 0);
    const steps = options.epochs * Math.ceil(trainExamples / options.batchSize);
    for (const seed of options.seeds) {
      for (const method of methods) {
        const settings: RunSettings = runSettings(options, dataDir, method.settings ?? {});
        plan.push({ imbalanceFactor, seed, method, settings, key: runKey(imbalanceFactor, method.name, seed, settings), trainExamples, steps });
      }
    }
  }
  return plan;
}

/**
 * Estimated seconds for `runs`: their training steps at `msPerStep`, plus one evaluation per run
 * on `testExamples` images (a forward pass costs about a third of a training step per batch).
 */
export function estimateSeconds(runs: readonly PlannedRun[], msPerStep: number, testExamples: number, batchSize: number): number {
  const steps = runs.reduce((sum, run) => sum + run.steps, 0);
  const evaluationSteps = runs.length * Math.ceil(testExamples / batchSize) / 3;
  return ((steps + evaluationSteps) * msPerStep) / 1000;
}

/** "45 s", "12 min", "1 h 05 min". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'unknown';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}
