/**
 * What `tfjs-gala bench` will run: its options, the quick preset, the list of runs with their
 * keys, and time estimates. Pure functions (no tfjs, no files) apart from the run key's hash.
 */

import { runKey, type RunSettings } from './bench/runs';
import { checkSeed, longTailCounts } from 'tfjs-gala';
import { FASHION_MNIST_NUM_CLASSES } from './data/fashion_mnist';
import type { BackendChoice } from './backend';
import { BENCHMARK_METHOD_NAMES, type BenchmarkMethodName, type TrainingMethod } from './methods';
import { INITIALIZATIONS, type Initialization } from './trainer';

/** Options of `tfjs-gala bench`, as parsed from the command line. */
export interface BenchOptions {
  /** Folder with the four Fashion-MNIST IDX files; default: Debian's full dataset, else the committed subset. */
  readonly data?: string;
  /** Imbalance factors, each >= 1, in table order. */
  readonly imbalance: readonly number[];
  /** Seeds of subsample, initialisation and batch order. */
  readonly seeds: readonly number[];
  /** Methods to train, in table order (each adds its post-hoc rows). */
  readonly methods: readonly BenchmarkMethodName[];
  readonly nMax: number;
  readonly epochs: number;
  readonly batchSize: number;
  /** Adam learning rate. */
  readonly lr: number;
  readonly init: Initialization;
  readonly backend: BackendChoice;
  /** LDAM's scale s (> 0). */
  readonly ldamScale: number;
  /** Output folder (runs.jsonl, results.json, results.md, accuracy.svg, perf.json). */
  readonly out: string;
  /** Quick mode: see {@link QUICK_PRESET}. */
  readonly quick: boolean;
  /** Measure GALA's cost instead of accuracy. */
  readonly perf: boolean;
  /** Backends of `--perf`. */
  readonly perfBackends: readonly ('cpu' | 'wasm')[];
  /** Draw a progress bar (on a terminal). */
  readonly progress: boolean;
}

/** The full protocol of ANCHORS.md: IF 10, 50, 100; every method; seeds 0, 1, 2; 30 epochs of Adam 1e-3 at batch 128. */
export const BENCH_DEFAULTS = {
  imbalance: [10, 50, 100],
  seeds: [0, 1, 2],
  methods: BENCHMARK_METHOD_NAMES,
  nMax: 500,
  epochs: 30,
  batchSize: 128,
  lr: 1e-3,
  init: 'pytorch',
  backend: 'auto',
  ldamScale: 30,
  out: 'bench-results',
  quick: false,
  perf: false,
  perfBackends: ['cpu', 'wasm'],
  progress: true,
} as const satisfies Omit<BenchOptions, 'data'>;

/**
 * Quick mode (`--quick`): the full protocol (every method, seeds 0, 1, 2, 30 epochs) at IF 100
 * only: 24 runs instead of 72, about 3.5 minutes on 2 cores with wasm (measured with other
 * processes loading the machine). IF 100 is where the methods differ most, and its rows stay
 * comparable with the anchors'. Its runs have the same keys as the full protocol's, in the same
 * output folder, so a later full run reuses them; its summary goes to `results-quick.*`.
 * Options given explicitly win over the preset.
 */
export const QUICK_PRESET = {
  imbalance: [100],
} as const satisfies Partial<BenchOptions>;

/**
 * Applies {@link QUICK_PRESET} when `options.quick`, to every option the user did not give
 * (`isDefault(name)` true: the value is commander's default).
 */
export function applyQuickPreset(options: BenchOptions, isDefault: (name: keyof BenchOptions) => boolean): BenchOptions {
  if (!options.quick) return options;
  const preset: Partial<Record<keyof BenchOptions, unknown>> = {};
  for (const [name, value] of Object.entries(QUICK_PRESET) as [keyof BenchOptions, unknown][]) {
    if (isDefault(name)) preset[name] = value;
  }
  return { ...options, ...preset } as BenchOptions;
}

/**
 * Checks what the option parsers cannot see alone (also guards calls from code).
 * @throws Error naming the option, the value and what is allowed.
 */
export function checkBenchOptions(options: BenchOptions): void {
  const { imbalance, seeds, methods, nMax, epochs, batchSize, lr, ldamScale } = options;
  if (!Array.isArray(imbalance) || imbalance.length === 0) throw new Error('--imbalance must list at least one imbalance factor.');
  for (const factor of imbalance) {
    if (!Number.isFinite(factor) || factor < 1) throw new Error(`--imbalance entries must be finite numbers >= 1; received ${factor}.`);
  }
  if (!Number.isInteger(nMax) || nMax < 1) throw new Error(`--n-max must be an integer >= 1; received ${nMax}.`);
  const largest = Math.max(...imbalance);
  if (nMax < largest) {
    throw new Error(`--n-max (${nMax}) must be at least the largest --imbalance (${largest}): the rarest class would get no training image.`);
  }
  if (!Array.isArray(seeds) || seeds.length === 0) throw new Error('--seeds must list at least one seed.');
  for (const seed of seeds) checkSeed(seed, '--seeds entries');
  if (!Array.isArray(methods) || methods.length === 0) throw new Error('--methods must list at least one method.');
  for (const method of methods) {
    if (!(BENCHMARK_METHOD_NAMES as readonly string[]).includes(method)) {
      throw new Error(`--methods: unknown method '${method}'; allowed: ${BENCHMARK_METHOD_NAMES.join(', ')}.`);
    }
  }
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`--epochs must be an integer >= 1; received ${epochs}.`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`--batch-size must be an integer >= 1; received ${batchSize}.`);
  if (!Number.isFinite(lr) || lr <= 0) throw new Error(`--lr must be a finite number > 0; received ${lr}.`);
  if (!Number.isFinite(ldamScale) || ldamScale <= 0) throw new Error(`--ldam-scale must be a finite number > 0; received ${ldamScale}.`);
  if (!(INITIALIZATIONS as readonly string[]).includes(options.init)) {
    throw new Error(`--init must be one of ${INITIALIZATIONS.join(', ')}; received ${options.init}.`);
  }
  if (typeof options.out !== 'string' || options.out.trim() === '') throw new Error('--out must name a folder; received an empty string.');
  if (options.data !== undefined && options.data.trim() === '') throw new Error('--data must name a folder; received an empty string.');
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
export function planRuns(options: BenchOptions, methods: readonly TrainingMethod[], dataDir: string): PlannedRun[] {
  const plan: PlannedRun[] = [];
  for (const imbalanceFactor of options.imbalance) {
    const trainExamples = longTailCounts({ numClasses: FASHION_MNIST_NUM_CLASSES, imbalanceFactor, nMax: options.nMax }).reduce((a, b) => a + b, 0);
    const steps = options.epochs * Math.ceil(trainExamples / options.batchSize);
    for (const seed of options.seeds) {
      for (const method of methods) {
        const settings: RunSettings = {
          data: dataDir,
          nMax: options.nMax,
          epochs: options.epochs,
          batchSize: options.batchSize,
          learningRate: options.lr,
          initialization: options.init,
          method: method.settings ?? {},
        };
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
