/**
 * The training protocol of the demo, the benchmark, the trainer and the stored benchmark runs:
 * which model is trained on which long-tailed subsample, and how. Declared once here; the
 * command-line options, the JSON reports and the run keys all use these field names.
 */

/** The models of the protocol: see `models.ts`. */
export const MODELS = ['mlp', 'cnn'] as const;
export type ModelName = (typeof MODELS)[number];

/**
 * How the layers start.
 * - `'glorot'`: Keras/tfjs default, kernels Glorot-uniform U(±sqrt(6 / (fanIn + fanOut))), biases 0.
 * - `'pytorch'`: PyTorch's `nn.Linear` / `nn.Conv2d` default, kernels and biases
 *   U(±1 / sqrt(fanIn)), fanIn = kernelHeight * kernelWidth * inChannels for a convolution; the
 *   initialisation of the PyTorch reference run (docs/guide/07-reference-numbers.md). It starts
 *   the MLP's first layer at about half Glorot's scale; with it cross-entropy lands near the
 *   reference at IF 100 (with Glorot about 2 points higher).
 */
export const INITIALIZATIONS = ['glorot', 'pytorch'] as const;
export type Initialization = (typeof INITIALIZATIONS)[number];

/** One training run on Fashion-MNIST-LT. */
export interface TrainingProtocol {
  readonly model: ModelName;
  /** Imbalance factor IF = n_max / n_min of the training split (>= 1). */
  readonly imbalanceFactor: number;
  /** Training images of the head class (class 0); class c keeps floor(nMax * IF^(-c/9)). */
  readonly nMax: number;
  readonly epochs: number;
  readonly batchSize: number;
  /** Adam's learning rate (`--lr`). */
  readonly learningRate: number;
  /** Seeds the subsample, the initialisation and the batch order. */
  readonly seed: number;
  readonly initialization: Initialization;
}

/** The protocol without what varies from run to run of a benchmark: the schedule every run shares. */
export type TrainingSchedule = Omit<TrainingProtocol, 'imbalanceFactor' | 'seed'>;

/** Many runs of one schedule: every imbalance factor with every seed (the benchmark). */
export interface ProtocolGrid extends TrainingSchedule {
  readonly imbalanceFactors: readonly number[];
  readonly seeds: readonly number[];
}

/**
 * The protocol of the PyTorch reference run (docs/guide/07-reference-numbers.md), for both
 * models: IF 10, 50 and 100 (table order 100, 50, 10 there), seeds 0, 1, 2, n_max 500, Adam 1e-3,
 * batch 128, 30 epochs, PyTorch initialisation. The command line's defaults.
 */
export const REFERENCE_PROTOCOL = {
  imbalanceFactors: [10, 50, 100],
  seeds: [0, 1, 2],
  nMax: 500,
  epochs: 30,
  batchSize: 128,
  learningRate: 1e-3,
  initialization: 'pytorch',
} as const satisfies Omit<ProtocolGrid, 'model'>;

/** The demo's default run: the MLP of the reference protocol at IF 100, seed 0. */
export const DEFAULT_PROTOCOL: TrainingProtocol = {
  model: 'mlp',
  imbalanceFactor: 100,
  nMax: REFERENCE_PROTOCOL.nMax,
  epochs: REFERENCE_PROTOCOL.epochs,
  batchSize: REFERENCE_PROTOCOL.batchSize,
  learningRate: REFERENCE_PROTOCOL.learningRate,
  seed: 0,
  initialization: REFERENCE_PROTOCOL.initialization,
};

/** The command-line option of each protocol field, for messages. */
export const PROTOCOL_OPTIONS: Readonly<Record<keyof TrainingProtocol | 'imbalanceFactors' | 'seeds', string>> = {
  model: '--model',
  imbalanceFactor: '--imbalance',
  imbalanceFactors: '--imbalance',
  nMax: '--n-max',
  epochs: '--epochs',
  batchSize: '--batch-size',
  learningRate: '--lr',
  seed: '--seed',
  seeds: '--seeds',
  initialization: '--init',
};

/**
 * Checks the schedule's fields (what the option parsers cannot see alone, and calls from code).
 * @throws Error naming the option, what is allowed and the value received.
 */
export function checkSchedule(schedule: TrainingSchedule): void {
  const { model, nMax, epochs, batchSize, learningRate, initialization } = schedule;
  if (!(MODELS as readonly string[]).includes(model)) throw new Error(`--model: the model must be one of ${MODELS.join(', ')}; received ${String(model)}.`);
  if (!Number.isInteger(nMax) || nMax < 1) throw new Error(`--n-max: the head class's training images must be an integer >= 1; received ${nMax}.`);
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`--epochs: the number of epochs must be an integer >= 1; received ${epochs}.`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`--batch-size: the batch size must be an integer >= 1; received ${batchSize}.`);
  if (!Number.isFinite(learningRate) || learningRate <= 0) throw new Error(`--lr: the learning rate must be a finite number > 0; received ${learningRate}.`);
  if (!(INITIALIZATIONS as readonly string[]).includes(initialization)) {
    throw new Error(`--init: the initialisation must be one of ${INITIALIZATIONS.join(', ')}; received ${String(initialization)}.`);
  }
}

/**
 * Checks imbalance factors against n_max: each must be >= 1, and the rarest class gets
 * floor(nMax / IF) images, which must be at least one for the largest factor.
 * @throws Error naming the option, what is allowed and the value received.
 */
export function checkImbalanceFactors(imbalanceFactors: readonly number[], nMax: number): void {
  if (!Array.isArray(imbalanceFactors) || imbalanceFactors.length === 0) {
    throw new Error('--imbalance: the imbalance factors must be a list of at least one number; received an empty list.');
  }
  for (const factor of imbalanceFactors) {
    if (!Number.isFinite(factor) || factor < 1) throw new Error(`--imbalance: the imbalance factor must be a finite number >= 1; received ${factor}.`);
  }
  const largest = Math.max(...imbalanceFactors);
  if (nMax < largest) {
    throw new Error(
      `--n-max: the head class's training images must be at least the imbalance factor (${largest}), or the rarest class gets ` +
        `floor(n-max / imbalance) = ${Math.floor(nMax / largest)} images; received ${nMax}.`,
    );
  }
}

/** Whether two schedules train the same way (model, n_max, epochs, batch size, learning rate, initialisation). */
export function sameSchedule(a: TrainingSchedule, b: TrainingSchedule): boolean {
  return (
    a.model === b.model &&
    a.nMax === b.nMax &&
    a.epochs === b.epochs &&
    a.batchSize === b.batchSize &&
    a.learningRate === b.learningRate &&
    a.initialization === b.initialization
  );
}

/** The schedule of a protocol or grid (drops imbalance factors and seeds). */
export function scheduleOf(protocol: TrainingSchedule): TrainingSchedule {
  const { model, nMax, epochs, batchSize, learningRate, initialization } = protocol;
  return { model, nMax, epochs, batchSize, learningRate, initialization };
}
