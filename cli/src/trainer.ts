/**
 * Training and evaluation, shared by the demo and the benchmark: the protocol's model (MLP or
 * CNN) trained with seeded initialisation and seeded batch order, so that two methods run with
 * the same seed see the same initial weights and the same batches.
 */

import * as tf from '@tensorflow/tfjs';

import type { AccuracyRow, ValidationRecord } from './bench/runs';
import {
  adjustLogitsPostHoc,
  deriveSeed,
  LongTailEvaluation,
  mulberry32,
  rebalancePredictions,
  shuffleInPlace,
  longTailAccuracy,
  type LongTailAccuracy,
  toClassWeightMap,
  tuneLogitAdjustmentTau,
  tuneRebalanceTau,
} from 'tfjs-gala';
import type { ClassificationSplit } from './data/splits';
import { withPostHoc, type MethodContext, type MethodLoss, type PostHocEvaluation, type TrainingMethod } from './methods';
import { buildModel } from './models';
import type { TrainingProtocol } from './protocol';

// Sub-stream of the run seed for the batch order (the initialisation uses others, see models.ts).
const SEED_STREAM_SHUFFLE = 1;

/** Progress of one training batch, for progress bars. */
export interface BatchProgress {
  /** 0-based epoch. */
  readonly epoch: number;
  /** 0-based batch within the epoch. */
  readonly batch: number;
  readonly batchesPerEpoch: number;
  /** The batch's mean loss (class-weighted when the method uses class weights). */
  readonly loss: number;
}

/**
 * Options of {@link trainModel} and {@link trainAndEvaluate}: the protocol's fields that shape
 * training (the data is already subsampled), and hooks.
 */
export interface TrainOptions extends Pick<TrainingProtocol, 'model' | 'epochs' | 'batchSize' | 'learningRate' | 'seed' | 'initialization'> {
  /** Called after every batch (for progress bars). */
  readonly onBatchEnd?: (progress: BatchProgress) => void;
  /**
   * Extra callbacks of this run (for example a gradient monitor), called after the method's
   * own (deferred re-weighting) and the trainer's timing callback. Class-based only (subclasses
   * of `tf.Callback`; wrap plain objects in `tf.CustomCallback`: tfjs 4.22 breaks on a mix).
   */
  readonly callbacks?: readonly tf.Callback[];
}

/** One row of results: a trained method, or a post-hoc evaluation of one. */
export interface MethodResult {
  readonly name: string;
  readonly label: string;
  readonly accuracy: LongTailAccuracy;
  /** Mean wall-clock seconds of a training epoch (forward, backward, update; no evaluation). */
  readonly secondsPerEpoch: number;
  /** Mean training loss of the last epoch. */
  readonly finalLoss: number;
}

/** An evaluation row before timing is attached. */
export type EvaluationRow = Omit<MethodResult, 'secondsPerEpoch' | 'finalLoss'>;

/** Flattens an evaluation row's accuracies (the demo's and the benchmark's reports share this). */
export function accuracyRow(result: EvaluationRow): AccuracyRow {
  const { overall, groups, perClass } = result.accuracy;
  return { label: result.label, overall, many: groups.many.accuracy, medium: groups.medium.accuracy, few: groups.few.accuracy, perClass };
}

/** A model trained by {@link trainModel}, with what it was trained with. */
export interface TrainedModel {
  readonly model: tf.LayersModel;
  /** The loss instance the model was compiled with (a `GalaLoss` holds the accumulated state). */
  readonly loss: MethodLoss;
  /** Mean wall-clock seconds of a training epoch (batching, forward, backward, update; no evaluation). */
  readonly secondsPerEpoch: number;
  /** Median of the same: less sensitive to a slow first epoch (kernel compilation on GPUs). */
  readonly medianSecondsPerEpoch: number;
  /** Mean training loss of the last epoch. */
  readonly finalLoss: number;
  /** Frees the model, its optimizer and the loss's variables. */
  dispose(): void;
}

/**
 * Trains a fresh seeded model (`options.model`) with `method` using Adam, through `model.fitDataset`, so that
 * tfjs's `classWeight` and callbacks (deferred re-weighting, `options.callbacks`) work as in
 * user code. Mini-batches follow a seeded permutation per epoch (the same batches for every
 * method at the same seed); the last batch of an epoch may be smaller.
 *
 * @returns the trained model; the caller disposes it ({@link TrainedModel.dispose}).
 */
export async function trainModel(method: TrainingMethod, train: ClassificationSplit, runContext: MethodContext, options: TrainOptions): Promise<TrainedModel> {
  const { epochs, batchSize, learningRate, seed } = options;
  // Schedules (deferred re-weighting) follow the epochs actually trained.
  const context: MethodContext = { ...runContext, epochs };
  const model = buildModel({
    model: options.model,
    numFeatures: train.numFeatures,
    imageShape: train.imageShape,
    numClasses: context.numClasses,
    seed,
    fromLogits: method.fromLogits,
    initialization: options.initialization,
  });
  const loss = method.createLoss(context);
  const optimizer = tf.train.adam(learningRate);
  const dispose = () => {
    model.dispose();
    optimizer.dispose();
    loss.dispose?.();
  };
  model.compile({ optimizer, loss });

  const features = tf.tensor2d(train.features, [train.numExamples, train.numFeatures]);
  const targets = tf.tensor2d(oneHot(train.labels, context.numClasses), [train.numExamples, context.numClasses]);
  const nextEpochOrder = epochShuffler(train.numExamples, seed);
  const batchesPerEpoch = Math.ceil(train.numExamples / batchSize);
  // fitDataset creates one iterator per epoch (and one unused one before the first): the
  // generator body, and with it the epoch's permutation, runs only when an epoch reads it.
  const batches = tf.data.generator(function* () {
    const order = nextEpochOrder();
    for (let batch = 0; batch < batchesPerEpoch; batch++) {
      const indices = order.subarray(batch * batchSize, Math.min((batch + 1) * batchSize, order.length));
      yield tf.tidy(() => {
        const rows = tf.tensor1d(indices, 'int32');
        return { xs: tf.gather(features, rows), ys: tf.gather(targets, rows) };
      });
    }
  });
  const timing = new EpochTiming(train.numExamples, batchesPerEpoch, options.onBatchEnd);
  const classWeights = method.classWeights?.(context);
  try {
    await model.fitDataset(batches, {
      epochs,
      verbose: 0,
      classWeight: classWeights === undefined ? undefined : toClassWeightMap(classWeights),
      callbacks: [...(method.createCallbacks?.(loss, context) ?? []), timing, ...(options.callbacks ?? [])],
    });
  } catch (error) {
    dispose();
    throw error;
  } finally {
    tf.dispose([features, targets]);
  }
  return {
    model,
    loss,
    secondsPerEpoch: timing.secondsPerEpoch(),
    medianSecondsPerEpoch: timing.medianSecondsPerEpoch(),
    finalLoss: timing.finalLoss,
    dispose,
  };
}

/**
 * Trains with {@link trainModel}, evaluates on `test` ({@link evaluateModel}) and disposes
 * everything it created.
 *
 * @returns one result per row: the method, then its post-hoc evaluations.
 */
export async function trainAndEvaluate(
  method: TrainingMethod,
  train: ClassificationSplit,
  test: ClassificationSplit,
  context: MethodContext,
  options: TrainOptions,
): Promise<MethodResult[]> {
  const trained = await trainModel(method, train, context, options);
  try {
    const { secondsPerEpoch, finalLoss } = trained;
    return (await evaluateModel(trained.model, method, test, context)).map((row) => ({ ...row, secondsPerEpoch, finalLoss }));
  } finally {
    trained.dispose();
  }
}

/** What {@link trainTunedAndEvaluate} measured. */
export interface TunedResult {
  /**
   * Rows on the test split of the LAST epoch's model with the method's own post-hoc rows (tau 1):
   * exactly what {@link trainAndEvaluate} gives for the same run, since evaluating the validation
   * split changes neither the weights nor the batches. null unless `evaluateLastEpoch`.
   */
  readonly lastEpochRows: EvaluationRow[] | null;
  /**
   * Rows on the test split of the model at the best validation epoch: the method, then "+pr"
   * (re-balancing at the tau tuned on the validation split) and, when the method has a "+la"
   * row, post-hoc logit adjustment at its tuned tau.
   */
  readonly rows: EvaluationRow[];
  readonly validation: ValidationRecord;
  readonly secondsPerEpoch: number;
  readonly finalLoss: number;
}

/**
 * Trains like {@link trainAndEvaluate} while `LongTailEvaluation` scores the validation split
 * after every epoch and keeps the weights of the epoch with the best balanced accuracy
 * (`restoreBestWeights`; the first such epoch on a tie). Then, on that model, the post-hoc taus
 * are chosen on the validation logits (`tuneRebalanceTau`, `tuneLogitAdjustmentTau`, grid
 * 0, 0.25, ..., 2; 0 = no adjustment) and the test split is evaluated once. With
 * `evaluateLastEpoch`, the last epoch's model is also evaluated on the test split (before the
 * best weights are put back), which gives the fixed protocol's result of the same run.
 */
export async function trainTunedAndEvaluate(
  method: TrainingMethod,
  train: ClassificationSplit,
  validation: ClassificationSplit,
  test: ClassificationSplit,
  context: MethodContext,
  options: TrainOptions & { readonly evaluateLastEpoch: boolean },
): Promise<TunedResult> {
  const valXs = tf.tensor2d(validation.features, [validation.numExamples, validation.numFeatures]);
  const valYs = tf.tensor1d(validation.labels, 'int32');
  const evaluation = new LongTailEvaluation({ validationData: [valXs, valYs], classCounts: context.classCounts, restoreBestWeights: true, batchSize: 512 });
  // Listed before the evaluation: its onTrainEnd runs before the best weights are written back.
  const lastEpoch = new TrainEndHook((model) => evaluateModel(model, method, test, context));
  let trained: TrainedModel;
  try {
    trained = await trainModel(method, train, context, {
      ...options,
      callbacks: [...(options.callbacks ?? []), ...(options.evaluateLastEpoch ? [lastEpoch] : []), evaluation],
    });
  } catch (error) {
    evaluation.dispose();
    throw error;
  } finally {
    tf.dispose([valXs, valYs]);
  }
  try {
    if (evaluation.bestEpoch === null || evaluation.bestValue === null) throw new Error('trainTunedAndEvaluate: the validation split was never evaluated.');
    const valLogits = predictAll(trained.model, validation);
    let values: Float32Array;
    try {
      values = (await valLogits.data()) as Float32Array;
    } finally {
      valLogits.dispose();
    }
    const withLa = (method.postHoc ?? []).some((p) => p.name === `${method.name}+la`);
    const tuned = await onSynchronousBackend(() => {
      const logits = tf.tensor2d(values, [validation.numExamples, context.numClasses]);
      try {
        const options = { classCounts: context.classCounts, fromLogits: method.fromLogits };
        return { pr: tuneRebalanceTau(logits, validation.labels, options), la: withLa ? tuneLogitAdjustmentTau(logits, validation.labels, options) : null };
      } finally {
        logits.dispose();
      }
    });
    const postHoc: PostHocEvaluation[] = [tunedRebalancing(method, tuned.pr.tau)];
    if (tuned.la !== null) postHoc.push(tunedLogitAdjustment(method, tuned.la.tau));
    const rows = await evaluateModel(trained.model, withPostHoc(method, ...postHoc), test, context);
    const record: ValidationRecord = {
      examples: validation.numExamples,
      epoch: evaluation.bestEpoch + 1,
      balancedAccuracy: evaluation.bestValue,
      history: evaluation.history.map((h) => h.scores.balancedAccuracy),
      rebalanceTau: tuned.pr.tau,
      rebalanceBalancedAccuracy: tuned.pr.balancedAccuracy,
      ...(tuned.la === null ? {} : { logitAdjustmentTau: tuned.la.tau, logitAdjustmentBalancedAccuracy: tuned.la.balancedAccuracy }),
    };
    return { lastEpochRows: options.evaluateLastEpoch ? lastEpoch.result : null, rows, validation: record, secondsPerEpoch: trained.secondsPerEpoch, finalLoss: trained.finalLoss };
  } finally {
    trained.dispose();
  }
}

/** Prediction re-balancing over the whole test split at a tau chosen on the validation split (0: none). */
function tunedRebalancing(method: TrainingMethod, tau: number): PostHocEvaluation {
  return {
    name: `${method.name}+pr`,
    label: `${method.label} + re-balancing (tau ${tau}, tuned)`,
    transform: (outputs, fromLogits) => (tau === 0 ? outputs.clone() : rebalancePredictions(outputs, { tau, fromLogits })),
  };
}

/** Post-hoc logit adjustment at a tau chosen on the validation split (0: none). */
function tunedLogitAdjustment(method: TrainingMethod, tau: number): PostHocEvaluation {
  return {
    name: `${method.name}+la`,
    label: `${method.label} + post-hoc LA (tau ${tau}, tuned)`,
    transform: (outputs, fromLogits, { classCounts }) => adjustLogitsPostHoc(fromLogits ? outputs : tf.log(outputs), { classCounts, tau }),
  };
}

/** Runs an async function on the model at the end of `fit`, and keeps its result. */
class TrainEndHook<T> extends tf.Callback {
  result: T | null = null;

  constructor(private readonly run: (model: tf.LayersModel) => Promise<T>) {
    super();
  }

  override async onTrainEnd(): Promise<void> {
    this.result = await this.run(this.model as tf.LayersModel);
  }
}

/**
 * Evaluates a trained model on the whole test split: the method's row (argmax of the raw
 * outputs), then its post-hoc rows, each computed from the same `[N, numClasses]` outputs.
 * The outputs are read back with `await data()` and scored on a backend that reads synchronously
 * (the active one, or cpu when it is webgpu, whose synchronous reads fail in Node).
 */
export async function evaluateModel(model: tf.LayersModel, method: TrainingMethod, test: ClassificationSplit, context: MethodContext): Promise<EvaluationRow[]> {
  const predicted = predictAll(model, test);
  let values: Float32Array;
  try {
    values = (await predicted.data()) as Float32Array;
  } finally {
    predicted.dispose();
  }
  return onSynchronousBackend(() => {
    const outputs = tf.tensor2d(values, [test.numExamples, context.numClasses]);
    try {
      const results: EvaluationRow[] = [{ name: method.name, label: method.label, accuracy: longTailAccuracy(outputs, test.labels, context.classCounts) }];
      for (const postHoc of method.postHoc ?? []) {
        const scores = tf.tidy(() => postHoc.transform(outputs, method.fromLogits, context));
        try {
          results.push({ name: postHoc.name, label: postHoc.label, accuracy: longTailAccuracy(scores, test.labels, context.classCounts) });
        } finally {
          scores.dispose();
        }
      }
      return results;
    } finally {
      outputs.dispose();
    }
  });
}

// Backends whose tensors cannot be read synchronously in Node (dataSync needs OffscreenCanvas there).
const ASYNC_ONLY_BACKENDS = new Set(['webgpu']);

/**
 * Runs `fn` on the active backend, or, when that one cannot read tensors synchronously, on cpu
 * (switching back afterwards). `fn` must only use tensors it creates.
 */
export async function onSynchronousBackend<T>(fn: () => T): Promise<T> {
  const active = tf.getBackend();
  if (!ASYNC_ONLY_BACKENDS.has(active)) return fn();
  await tf.setBackend('cpu');
  try {
    return fn();
  } finally {
    await tf.setBackend(active);
  }
}

/** The model's outputs `[N, numClasses]` on the whole split (predicted in batches of 1024, concatenated). */
export function predictAll(model: tf.LayersModel, split: ClassificationSplit): tf.Tensor2D {
  return tf.tidy(() => {
    const x = tf.tensor2d(split.features, [split.numExamples, split.numFeatures]);
    return model.predict(x, { batchSize: 1024 }) as tf.Tensor2D;
  });
}

/** Measures epoch times and the last epoch's mean loss, and reports batch progress. */
class EpochTiming extends tf.Callback {
  private readonly epochSeconds: number[] = [];
  private epochStarted = 0;
  private epoch = 0;
  private lossSum = 0;
  private seen = 0;
  finalLoss = Number.NaN;

  constructor(
    private readonly numExamples: number,
    private readonly batchesPerEpoch: number,
    private readonly reportBatch?: (progress: BatchProgress) => void,
  ) {
    super();
  }

  override async onEpochBegin(epoch: number): Promise<void> {
    this.epoch = epoch;
    this.lossSum = 0;
    this.seen = 0;
    this.epochStarted = performance.now();
  }

  override async onBatchEnd(batch: number, logs?: tf.Logs): Promise<void> {
    // Logs hold tf.Scalars unless an earlier callback resolved them; never dispose them.
    const loss = await logValue(logs?.loss);
    const size = await logValue(logs?.size);
    this.lossSum += loss * size;
    this.seen += size;
    this.reportBatch?.({ epoch: this.epoch, batch, batchesPerEpoch: this.batchesPerEpoch, loss });
  }

  override async onEpochEnd(): Promise<void> {
    this.epochSeconds.push((performance.now() - this.epochStarted) / 1000);
    this.finalLoss = this.seen === this.numExamples ? this.lossSum / this.seen : Number.NaN;
  }

  secondsPerEpoch(): number {
    return this.epochSeconds.reduce((a, b) => a + b, 0) / Math.max(1, this.epochSeconds.length);
  }

  medianSecondsPerEpoch(): number {
    const sorted = [...this.epochSeconds].sort((a, b) => a - b);
    if (sorted.length === 0) return Number.NaN;
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  }
}

// Read asynchronously: webgpu in Node cannot read synchronously.
async function logValue(value: unknown): Promise<number> {
  if (typeof value === 'number') return value;
  if (value instanceof tf.Tensor) return (await value.data())[0];
  return Number.NaN;
}

/**
 * Returns a function that gives the example order of each successive epoch: a fresh seeded
 * permutation of 0..numExamples-1 every call (the same sequence of permutations for the same seed).
 */
export function epochShuffler(numExamples: number, seed: number): () => Int32Array {
  const random = mulberry32(deriveSeed(seed, SEED_STREAM_SHUFFLE));
  const order = Int32Array.from({ length: numExamples }, (_, i) => i);
  return () => shuffleInPlace(order, random).slice();
}

function oneHot(labels: Int32Array, numClasses: number): Float32Array {
  const matrix = new Float32Array(labels.length * numClasses);
  labels.forEach((label, i) => {
    matrix[i * numClasses + label] = 1;
  });
  return matrix;
}
