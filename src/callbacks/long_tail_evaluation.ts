import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import { toOneHot } from '../core/labels';
import { formatShape } from '../core/shapes';
import { checkBoolean, checkInteger, checkNumberArray, checkOneOf } from '../core/validate';
import { accuracyFromTally } from '../eval/balanced_accuracy';
import { SHOT_GROUPS, SHOT_THRESHOLDS, shotGroups, type ShotGroup, type ShotThresholds } from '../eval/shot_groups';
import { DEFAULT_TAU, checkTau, logClassMass, rebalanceLogProbabilities, toLogProbabilities } from '../layers/rebalance_math';

/** Model inputs of one batch: a tensor, one tensor per input, or tensors keyed by input name. */
export type EvaluationInputs = tf.Tensor | tf.Tensor[] | { [inputName: string]: tf.Tensor };

/** One labelled batch: `[xs, ys]` or `{xs, ys}`. */
export type LabelledBatch = readonly [EvaluationInputs, tf.Tensor] | { readonly xs: EvaluationInputs; readonly ys: tf.Tensor };

/** A `tf.data.Dataset` of labelled batches, or anything with the same `iterator()`. */
export interface LabelledDatasetLike {
  /** Starts a pass over the data, as `tf.data.Dataset.iterator()` does. */
  iterator(): Promise<{ next(): Promise<IteratorResult<LabelledBatch>> }>;
}

/** Options of {@link LongTailEvaluation}. `validationData` and `classCounts` are required. */
export interface LongTailEvaluationArgs {
  /**
   * The evaluation set, normally class-balanced and disjoint from the training data:
   * - `[xs, ys]` (or `{xs, ys}`) tensors: inputs `[N, ...]` as for `model.predict`, labels one-hot
   *   `[N, numClasses]` or class indices `[N]` / `[N, 1]`. Cut into batches of `batchSize`; the
   *   tensors belong to the caller and are never disposed;
   * - a `tf.data.Dataset` whose elements are `[xs, ys]` or `{xs, ys}` batches (as `fitDataset`
   *   takes). It is iterated once per evaluation and its elements are disposed after use.
   */
  readonly validationData: LabelledBatch | LabelledDatasetLike;
  /** TRAINING examples per class (integers >= 0, length numClasses): define the shot groups. */
  readonly classCounts: readonly number[];
  /** Evaluate every this many epochs of each `fit` (integer >= 1, default 1); the last epoch of `fit` is always evaluated. */
  readonly every?: number;
  /** Rows per forward pass for tensor data (integer >= 1, default 256): bounds peak memory. */
  readonly batchSize?: number;
  /**
   * Also report prediction re-balancing (GALA paper): `true` for tau = 1, or `{tau}` (finite, > 0).
   * Default false. The class mass is taken over the whole evaluation set (the paper's transductive form).
   */
  readonly rebalance?: boolean | { readonly tau?: number };
  /**
   * Whether the model outputs logits (true) or softmax probabilities (false), as re-balancing
   * needs to know. Default `'auto'`: read from the final layer (softmax activation or Softmax
   * layer: probabilities; linear: logits). Accuracy itself (argmax) does not depend on it.
   */
  readonly fromLogits?: boolean | 'auto';
  /**
   * The log key that decides the best epoch (default `'<prefix>balanced_acc'`, i.e.
   * `'val_balanced_acc'`). Any key of the epoch logs may be used, e.g. `'val_loss'`.
   */
  readonly monitor?: string;
  /**
   * Whether a larger monitored value is better: `'max'`, `'min'`, or `'auto'` (default: `'max'`
   * when the key contains `'acc'`, else `'min'`, the rule of `tf.callbacks.earlyStopping`).
   */
  readonly mode?: 'auto' | 'min' | 'max';
  /**
   * Keep a copy of the weights of the best epoch (by `monitor`) and put them back into the
   * model when `fit` ends (Keras `restore_best_weights`). Default false.
   */
  readonly restoreBestWeights?: boolean;
  /**
   * Stop training after this many epochs without improvement of `monitor` (integer >= 1),
   * counting only epochs whose logs hold it (with this callback's keys and `every` > 1: the
   * evaluated epochs). The rule of `tf.callbacks.earlyStopping`, with no constraint on the order
   * of the callbacks. Default null: never stops training.
   */
  readonly patience?: number | null;
  /** Many/few-shot boundaries in training examples (default many > 100, few < 20). */
  readonly thresholds?: ShotThresholds;
  /** Prefix of the log keys (default `'val_'`); e.g. `'test_'` for a second instance on another set. */
  readonly prefix?: string;
  /** 1: print one line per evaluation (`console.log`); 0 (default): silent. */
  readonly verbose?: 0 | 1;
}

/** Scores of one evaluation. Fractions in [0, 1]. */
export interface LongTailScores {
  /** Mean per-class accuracy over the classes that have evaluation examples. */
  readonly balancedAccuracy: number;
  /** Pooled top-1 accuracy (correct / examples). */
  readonly accuracy: number;
  /** Accuracy of each class; `null` for a class without evaluation examples. */
  readonly perClass: readonly (number | null)[];
  /** Many-shot accuracy (mean over the group's classes); `null` when the group is empty. */
  readonly many: number | null;
  /** Medium-shot accuracy; `null` when the group is empty. */
  readonly medium: number | null;
  /** Few-shot accuracy; `null` when the group is empty. */
  readonly few: number | null;
}

/** One evaluation of {@link LongTailEvaluation.history}. Plain numbers and nulls only. */
export interface LongTailEvaluationEpoch {
  /** Epoch index as tfjs callbacks count it (0-based, `initialEpoch` included). */
  readonly epoch: number;
  /** Scores of the model's predictions (argmax of its output). */
  readonly scores: LongTailScores;
  /** Scores after prediction re-balancing; null without `rebalance`. */
  readonly rebalanced: LongTailScores | null;
  /** Wall-clock time of the evaluation, in milliseconds. */
  readonly milliseconds: number;
}

const DEFAULT_BATCH_SIZE = 256;
const DEFAULT_PREFIX = 'val_';

const OPTION_NAMES = [
  'validationData',
  'classCounts',
  'every',
  'batchSize',
  'rebalance',
  'fromLogits',
  'monitor',
  'mode',
  'restoreBestWeights',
  'patience',
  'thresholds',
  'prefix',
  'verbose',
] as const;

/**
 * Long-tail evaluation during training: at the end of every epoch (or every `every` epochs) it
 * evaluates the model on a held-out set and adds to the epoch logs:
 *
 * | key                         | value                                                    |
 * |-----------------------------|----------------------------------------------------------|
 * | `val_balanced_acc`          | mean per-class accuracy (classes without examples left out) |
 * | `val_many_acc`              | many-shot accuracy (> 100 training examples)             |
 * | `val_medium_acc`            | medium-shot accuracy (20..100)                           |
 * | `val_few_acc`               | few-shot accuracy (< 20)                                 |
 * | `val_rebalanced_balanced_acc`, `val_rebalanced_many_acc`, `val_rebalanced_medium_acc`, `val_rebalanced_few_acc` | the same after prediction re-balancing (`rebalance` only) |
 *
 * A group's value is the mean of its classes' accuracies (the field's convention). **A key is
 * absent, not 0, when its group is empty** (no class in the group, or none with evaluation
 * examples), and on epochs that are not evaluated (`every` > 1). Values are plain numbers.
 * `'val_'` is the default `prefix`. The keys contain `'acc'`, so `tf.callbacks.earlyStopping`
 * in its default mode treats larger as better.
 *
 * **Order of callbacks.** tfjs calls the callbacks in list order with one shared logs object,
 * and `tf.callbacks.earlyStopping`, checkpoint callbacks and `tfvis.show.fitCallbacks` read it in
 * their own `onEpochEnd`: list this callback BEFORE them. `History` (what `fit` returns) is
 * always last, so it receives the keys in any order. Listed after `earlyStopping`, the keys are
 * missing when it reads the logs: it warns `Metric for EarlyStopping val_balanced_acc is not
 * available` every epoch and never stops. This callback's own `patience` and
 * `restoreBestWeights` have no such constraint. A tfjs-vis callback object must be wrapped in
 * `new tf.CustomCallback(...)` to share a list with class instances.
 *
 * **Forward pass.** `model.predict` in inference mode, batch by batch (`batchSize` rows of tensor
 * data, or the dataset's batches); per-class counts of correct predictions are accumulated on
 * the device and read back once per evaluation. With `rebalance`, the log-probabilities of the
 * whole set (`N x numClasses` floats) are kept until the class mass is known. Everything is
 * freed at the end of the evaluation.
 *
 * **Best epoch.** After each epoch the value of `monitor` (ours or any other key of the logs)
 * is compared with the best so far (strictly better, as `earlyStopping` does; the first epoch on
 * a tie); {@link LongTailEvaluation.bestEpoch} and `bestValue` follow it. With
 * `restoreBestWeights`, the weights (`model.getWeights()`: trainable and non-trainable) of each
 * new best epoch are kept as clones, which share memory with the variables until the next
 * update, and written back at `onTrainEnd`; the clones are disposed there (or by `dispose()`
 * after a `fit` that threw). Optimizer state and the state of a stateful loss are not restored.
 *
 * Source of the convention: Liu et al., "Large-Scale Long-Tailed Recognition in an Open World",
 * CVPR 2019 (shot groups); Zhang et al., ICASSP 2024, arXiv 2403.09036 (prediction re-balancing).
 *
 * @example
 * ```js
 * const evaluation = new LongTailEvaluation({
 *   validationData: [valXs, valYs], classCounts: trainCounts, rebalance: true, restoreBestWeights: true,
 * });
 * await model.fit(xs, ys, {
 *   epochs: 100,
 *   // evaluation first: earlyStopping reads the key in its own onEpochEnd.
 *   callbacks: [evaluation, tf.callbacks.earlyStopping({ monitor: 'val_balanced_acc', patience: 5 })],
 * });
 * console.log(evaluation.bestEpoch, evaluation.history.at(-1).scores.few);
 * ```
 *
 * @throws Error from the constructor on an invalid option (naming it, the value and what is
 *   allowed), or a `monitor` naming one of this callback's keys that can never be written (an
 *   empty group, or a re-balanced key without `rebalance`); from `fit` (at `onTrainBegin`) when
 *   the model does not have a single `[batch, numClasses]` output matching `classCounts`, the
 *   tensors of `validationData` disagree in rows, or `rebalance` is on with `fromLogits: 'auto'`
 *   and a final layer that is neither softmax nor linear; during an evaluation, when a label is
 *   not a class index in [0, numClasses) or a batch's inputs and labels disagree in rows.
 */
export class LongTailEvaluation extends tfl.Callback {
  /** Class name, for messages. */
  static readonly className = 'LongTailEvaluation';

  /** TRAINING examples per class (a copy). */
  readonly classCounts: readonly number[];
  /** Evaluate every this many epochs. */
  readonly every: number;
  /** Rows per forward pass for tensor data. */
  readonly batchSize: number;
  /** Re-balancing tau, or null without re-balancing. */
  readonly rebalanceTau: number | null;
  /** As given (`'auto'` by default). */
  readonly fromLogits: boolean | 'auto';
  /** Log key deciding the best epoch. */
  readonly monitor: string;
  /** Resolved direction of `monitor`. */
  readonly mode: 'min' | 'max';
  /** Whether the best epoch's weights are put back at the end of `fit`. */
  readonly restoreBestWeights: boolean;
  /** Evaluations without improvement before training stops; null: never. */
  readonly patience: number | null;
  /** Shot-group boundaries. */
  readonly thresholds: ShotThresholds;
  /** Prefix of the log keys. */
  readonly prefix: string;
  /** 0 or 1. */
  readonly verbose: 0 | 1;
  /** Classes of each shot group, from `classCounts`. */
  readonly groups: Readonly<Record<ShotGroup, readonly number[]>>;

  /** One record per evaluation, oldest first; continues over several `fit` calls. */
  readonly history: LongTailEvaluationEpoch[] = [];
  /** Epoch with the best `monitor` value in the last (or current) `fit`; null before one was seen. */
  bestEpoch: number | null = null;
  /** The best `monitor` value of the last (or current) `fit`; null before one was seen. */
  bestValue: number | null = null;
  /** Epoch at which `patience` stopped the last `fit`; null when it did not. */
  stoppedEpoch: number | null = null;

  private readonly evaluationData: LabelledBatch | LabelledDatasetLike;
  private run: { numClasses: number; outputsLogits: boolean; epochsSeen: number; wait: number; warnedMonitor: boolean } | null = null;
  private bestWeights: tf.Tensor[] | null = null;

  constructor(args: LongTailEvaluationArgs) {
    super();
    const owner = LongTailEvaluation.className;
    if (args == null || typeof args !== 'object' || Array.isArray(args)) {
      throw new Error(`${owner}: args must be an object like {validationData: [xs, ys], classCounts: [500, 120, 9]}; received ${describe(args)}.`);
    }
    for (const key of Object.keys(args)) {
      if (!(OPTION_NAMES as readonly string[]).includes(key)) {
        throw new Error(`${owner}: option must be one of ${OPTION_NAMES.join(', ')}; received '${key}'.`);
      }
    }
    this.evaluationData = checkValidationData(args.validationData);
    this.classCounts = checkNumberArray(`${owner}: classCounts`, args.classCounts, null, 0);
    if (this.classCounts.length < 2) {
      throw new Error(`${owner}: classCounts must have one entry per class, at least 2; received length ${this.classCounts.length}.`);
    }
    this.thresholds = args.thresholds ?? SHOT_THRESHOLDS;
    this.groups = shotGroups(this.classCounts, this.thresholds);
    this.every = checkInteger(`${owner}: every`, args.every ?? 1, 1);
    this.batchSize = checkInteger(`${owner}: batchSize`, args.batchSize ?? DEFAULT_BATCH_SIZE, 1);
    this.rebalanceTau = readRebalance(args.rebalance ?? false);
    const fromLogits = args.fromLogits ?? 'auto';
    this.fromLogits = fromLogits === 'auto' ? 'auto' : checkBoolean(`${owner}: fromLogits`, fromLogits);
    if (typeof args.prefix !== 'undefined' && (typeof args.prefix !== 'string' || !/^[A-Za-z0-9_]*$/.test(args.prefix))) {
      throw new Error(`${owner}: prefix must be a string of letters, digits and '_'; received ${describe(args.prefix)}.`);
    }
    this.prefix = args.prefix ?? DEFAULT_PREFIX;
    this.monitor = args.monitor ?? `${this.prefix}balanced_acc`;
    if (typeof this.monitor !== 'string' || this.monitor.length === 0) {
      throw new Error(`${owner}: monitor must be a non-empty log key such as 'val_balanced_acc'; received ${describe(args.monitor)}.`);
    }
    this.checkMonitorCanBeWritten();
    const mode = checkOneOf(`${owner}: mode`, args.mode ?? 'auto', ['auto', 'min', 'max'] as const);
    this.mode = mode !== 'auto' ? mode : this.monitor.includes('acc') ? 'max' : 'min';
    this.restoreBestWeights = checkBoolean(`${owner}: restoreBestWeights`, args.restoreBestWeights ?? false);
    this.patience = args.patience == null ? null : checkInteger(`${owner}: patience`, args.patience, 1);
    const verbose = args.verbose ?? 0;
    if (verbose !== 0 && verbose !== 1) throw new Error(`${owner}: verbose must be 0 or 1; received ${describe(verbose)}.`);
    this.verbose = verbose;
  }

  /**
   * The log keys this callback can write, in the order written: the plain scores first, then
   * the re-balanced ones. Keys of empty groups are left out.
   */
  logKeys(): string[] {
    const keys = [...this.keysOf(false).map(([key]) => key)];
    if (this.rebalanceTau !== null) keys.push(...this.keysOf(true).map(([key]) => key));
    return keys;
  }

  /** Frees the kept best weights of a `fit` that threw (which never reaches `onTrainEnd`). Harmless otherwise. */
  dispose(): void {
    if (this.bestWeights !== null) tf.dispose(this.bestWeights);
    this.bestWeights = null;
    this.run = null;
  }

  /**
   * Called by `fit` before the first step: checks the model against `classCounts`, resolves
   * `fromLogits`, and resets the best epoch.
   * @throws Error when the model has not a single `[batch, numClasses]` output with numClasses =
   *   `classCounts.length`, tensor validation data disagree in rows, or (with `rebalance` and
   *   `fromLogits: 'auto'`) the final layer is neither softmax nor linear.
   */
  override async onTrainBegin(): Promise<void> {
    this.dispose();
    const model = this.model;
    const owner = LongTailEvaluation.className;
    const outputs = model.outputs;
    if (outputs == null || outputs.length !== 1) {
      throw new Error(`${owner}: the model must have a single output [batch, numClasses]; received ${outputs?.length ?? 0} outputs.`);
    }
    const shape = outputs[0].shape;
    const numClasses = this.classCounts.length;
    if (shape.length !== 2 || shape[1] !== numClasses) {
      throw new Error(
        `${owner}: the model output must be [batch, ${numClasses}] (numClasses from classCounts); received ${formatShape(shape)}.`,
      );
    }
    if (!isDataset(this.evaluationData)) {
      const { xs, ys } = splitBatch(this.evaluationData);
      const rows = ys.shape[0];
      for (const x of inputList(model, xs)) {
        if (x.shape[0] !== rows) {
          throw new Error(`${owner}: validationData inputs must have as many rows as its labels (${rows}); received shape ${formatShape(x.shape)}.`);
        }
      }
    }
    let outputsLogits = this.fromLogits === 'auto' ? null : this.fromLogits;
    if (outputsLogits === null) outputsLogits = outputIsLogits(outputs[0].sourceLayer as tfl.layers.Layer);
    if (outputsLogits === null) {
      if (this.rebalanceTau !== null) {
        const layer = outputs[0].sourceLayer as tfl.layers.Layer;
        throw new Error(
          `${owner}: fromLogits must be true or false when the final layer '${layer.name}' (${layer.getClassName()}) is neither ` +
            `softmax nor linear; received 'auto'.`,
        );
      }
      outputsLogits = true; // unused: argmax does not depend on it
    }
    this.bestEpoch = null;
    this.bestValue = null;
    this.stoppedEpoch = null;
    this.run = { numClasses, outputsLogits, epochsSeen: 0, wait: 0, warnedMonitor: false };
  }

  /**
   * Called by `fit` after each epoch: evaluates (when due), writes the keys into `logs` (the object
   * the callbacks after this one and `History` receive), appends to {@link LongTailEvaluation.history},
   * then updates the best epoch, the kept weights and `patience`.
   * @param epoch 0-based epoch index as `fit` counts it.
   * @param logs the epoch logs, written in place.
   */
  override async onEpochEnd(epoch: number, logs?: UnresolvedLogs): Promise<void> {
    const run = this.run;
    if (run === null) return;
    run.epochsSeen++;
    const lastEpoch = typeof this.params?.epochs === 'number' && epoch === (this.params.epochs as number) - 1;
    const evaluated = run.epochsSeen % this.every === 0 || lastEpoch;
    if (evaluated) {
      const record = await this.evaluate(run, epoch);
      this.history.push(record);
      if (logs != null) this.writeLogs(record, logs);
      if (this.verbose === 1) console.log(this.describeRecord(record));
    }
    await this.track(run, epoch, logs, evaluated);
  }

  /** Called by `fit` at the end: writes the best epoch's weights back (with `restoreBestWeights`) and frees the kept copies. */
  override async onTrainEnd(): Promise<void> {
    if (this.restoreBestWeights && this.bestWeights !== null) {
      this.model.setWeights(this.bestWeights);
      if (this.verbose === 1) console.log(`${LongTailEvaluation.className}: restored the weights of epoch ${this.bestEpoch} (${this.monitor} ${this.bestValue}).`);
    }
    this.dispose();
  }

  /** Forgets the history and the best epoch. */
  reset(): void {
    this.history.length = 0;
    this.bestEpoch = null;
    this.bestValue = null;
    this.stoppedEpoch = null;
  }

  /** Evaluates the current model on the validation data now (what each due epoch end does). Needs `onTrainBegin` to have run. */
  private async evaluate(run: NonNullable<LongTailEvaluation['run']>, epoch: number): Promise<LongTailEvaluationEpoch> {
    const started = Date.now();
    const c = run.numClasses;
    const keepForRebalance = this.rebalanceTau !== null;
    let correct: tf.Tensor = tf.zeros([c]);
    let total: tf.Tensor = tf.zeros([c]);
    let rows = 0;
    const logProbabilities: tf.Tensor[] = [];
    const labelIndices: tf.Tensor[] = [];
    try {
      const add = (xs: EvaluationInputs, ys: tf.Tensor, what: string): void => {
        const inputs = inputList(this.model, xs);
        const batchRows = ys.shape[0];
        for (const x of inputs) {
          if (x.shape[0] !== batchRows) {
            throw new Error(
              `${LongTailEvaluation.className}: ${what} inputs must have as many rows as its labels (${batchRows}); received shape ${formatShape(x.shape)}.`,
            );
          }
        }
        if (batchRows === 0) return;
        const out = tf.tidy(() => {
          const outputs = this.model.predict(inputs.length === 1 ? inputs[0] : inputs, { batchSize: batchRows }) as tf.Tensor;
          const actual = labelsToIndices(ys, c, what);
          const actualOneHot = toOneHot(actual, c);
          const predictedOneHot = toOneHot(tf.argMax(outputs, 1), c);
          const kept: { [name: string]: tf.Tensor } = {
            correct: tf.add(correct, tf.sum(tf.mul(actualOneHot, predictedOneHot), 0)),
            total: tf.add(total, tf.sum(actualOneHot, 0)),
          };
          if (keepForRebalance) {
            kept.logP = toLogProbabilities(outputs, run.outputsLogits);
            kept.actual = actual;
          }
          return kept;
        });
        tf.dispose([correct, total]);
        correct = out.correct;
        total = out.total;
        if (keepForRebalance) {
          logProbabilities.push(out.logP);
          labelIndices.push(out.actual);
        }
        rows += batchRows;
      };
      await this.forEachBatch(add);

      let rebalancedCorrect: tf.Tensor | null = null;
      if (keepForRebalance && rows > 0) {
        rebalancedCorrect = tf.tidy(() => {
          const logP = logProbabilities.length === 1 ? logProbabilities[0] : tf.concat(logProbabilities, 0);
          const actual = labelIndices.length === 1 ? labelIndices[0] : tf.concat(labelIndices, 0);
          const rebalanced = rebalanceLogProbabilities(logP as tf.Tensor2D, logClassMass(logP as tf.Tensor2D), this.rebalanceTau as number);
          const predictedOneHot = toOneHot(tf.argMax(rebalanced, 1), c);
          return tf.sum(tf.mul(toOneHot(actual, c), predictedOneHot), 0);
        });
      }
      const [correctValues, totalValues, rebalancedValues] = await Promise.all([correct.data(), total.data(), rebalancedCorrect?.data()]);
      rebalancedCorrect?.dispose();
      const totals = Array.from(totalValues);
      const counted = totals.reduce((a, b) => a + b, 0);
      if (rows === 0) {
        throw new Error(`${LongTailEvaluation.className}: validationData must hold at least one example; received 0 rows.`);
      }
      if (counted !== rows) {
        throw new Error(
          `${LongTailEvaluation.className}: validationData labels must be class indices in [0, ${c - 1}] or one-hot [N, ${c}]; ` +
            `received ${rows - counted} of ${rows} labels outside that range.`,
        );
      }
      const scores = this.scoresOf(Array.from(correctValues), totals);
      const rebalanced = rebalancedValues === undefined ? null : this.scoresOf(Array.from(rebalancedValues), totals);
      return { epoch, scores, rebalanced, milliseconds: Date.now() - started };
    } finally {
      tf.dispose([correct, total, ...logProbabilities, ...labelIndices]);
    }
  }

  private async forEachBatch(add: (xs: EvaluationInputs, ys: tf.Tensor, what: string) => void): Promise<void> {
    const data = this.evaluationData;
    if (!isDataset(data)) {
      const { xs, ys } = splitBatch(data);
      const inputs = inputList(this.model, xs);
      const n = ys.shape[0];
      for (let start = 0; start < n; start += this.batchSize) {
        const size = Math.min(this.batchSize, n - start);
        const whole = start === 0 && size === n;
        const slices = whole ? null : tf.tidy(() => [tf.slice(ys, start, size), ...inputs.map((x) => tf.slice(x, start, size))]);
        try {
          if (slices === null) add(inputs, ys, 'validationData');
          else add(slices.slice(1), slices[0], 'validationData');
        } finally {
          if (slices !== null) tf.dispose(slices);
        }
      }
      return;
    }
    const iterator = await data.iterator();
    for (let index = 0; ; index++) {
      const { value, done } = await iterator.next();
      if (done) break;
      try {
        const { xs, ys } = splitBatch(value, `validationData element ${index}`);
        add(xs, ys, `validationData element ${index}`);
      } finally {
        tf.dispose(value as unknown as tf.TensorContainer);
      }
    }
  }

  private scoresOf(correct: number[], total: number[]): LongTailScores {
    const result = accuracyFromTally({ correct, total }, this.classCounts, this.thresholds);
    return {
      balancedAccuracy: result.balanced,
      accuracy: result.overall,
      perClass: result.perClass,
      many: result.groups!.many.accuracy,
      medium: result.groups!.medium.accuracy,
      few: result.groups!.few.accuracy,
    };
  }

  /** `[key, field]` pairs of the plain or re-balanced scores, without empty groups. */
  private keysOf(rebalanced: boolean): [string, 'balancedAccuracy' | ShotGroup][] {
    const stem = `${this.prefix}${rebalanced ? 'rebalanced_' : ''}`;
    const pairs: [string, 'balancedAccuracy' | ShotGroup][] = [[`${stem}balanced_acc`, 'balancedAccuracy']];
    for (const group of SHOT_GROUPS) if (this.groups[group].length > 0) pairs.push([`${stem}${group}_acc`, group]);
    return pairs;
  }

  private writeLogs(record: LongTailEvaluationEpoch, logs: UnresolvedLogs): void {
    const write = (scores: LongTailScores, rebalanced: boolean): void => {
      for (const [key, field] of this.keysOf(rebalanced)) {
        const value = scores[field];
        if (value !== null) logs[key] = value;
      }
    };
    write(record.scores, false);
    if (record.rebalanced !== null) write(record.rebalanced, true);
  }

  private async track(run: NonNullable<LongTailEvaluation['run']>, epoch: number, logs: UnresolvedLogs | undefined, evaluated: boolean): Promise<void> {
    const raw = logs?.[this.monitor];
    if (raw == null) {
      // Our own key is absent on epochs that are not evaluated; anything else is worth one warning.
      const ours = this.logKeys().includes(this.monitor);
      if ((evaluated || !ours) && !run.warnedMonitor) {
        run.warnedMonitor = true;
        console.warn(
          `${LongTailEvaluation.className}: monitor '${this.monitor}' is not in the epoch logs (keys: ${Object.keys(logs ?? {}).join(', ')}); ` +
            `no best epoch is tracked while it is missing.`,
        );
      }
      return;
    }
    // A tensor written by tfjs (val_loss): read, never dispose (History owns it).
    const current = typeof raw === 'number' ? raw : (await raw.data())[0];
    const improved = this.bestValue === null || (this.mode === 'max' ? current > this.bestValue : current < this.bestValue);
    if (improved) {
      this.bestValue = current;
      this.bestEpoch = epoch;
      run.wait = 0;
      if (this.restoreBestWeights) {
        if (this.bestWeights !== null) tf.dispose(this.bestWeights);
        // clone() shares the variable's memory until the optimizer assigns a new value.
        this.bestWeights = tf.tidy(() => this.model.getWeights().map((w) => tf.clone(w)));
      }
      return;
    }
    run.wait++;
    if (this.patience !== null && run.wait >= this.patience) {
      this.stoppedEpoch = epoch;
      this.model.stopTraining = true;
      if (this.verbose === 1) console.log(`${LongTailEvaluation.className}: epoch ${epoch}: ${this.monitor} did not improve for ${run.wait} evaluations; stopping.`);
    }
  }

  private checkMonitorCanBeWritten(): void {
    const monitor = this.monitor;
    const owner = LongTailEvaluation.className;
    for (const rebalanced of [false, true]) {
      const stem = `${this.prefix}${rebalanced ? 'rebalanced_' : ''}`;
      for (const group of SHOT_GROUPS) {
        if (monitor === `${stem}${group}_acc` && this.groups[group].length === 0) {
          throw new Error(`${owner}: monitor must name a key this callback writes; received '${monitor}', but the ${group}-shot group is empty for these classCounts.`);
        }
      }
      if (rebalanced && this.rebalanceTau === null && monitor.startsWith(stem) && monitor.endsWith('_acc')) {
        throw new Error(`${owner}: monitor must name a key this callback writes; received '${monitor}', which needs rebalance: true.`);
      }
    }
  }

  private describeRecord(record: LongTailEvaluationEpoch): string {
    const format = (scores: LongTailScores): string =>
      [`balanced ${fmt(scores.balancedAccuracy)}`, ...SHOT_GROUPS.map((g) => `${g} ${fmt(scores[g])}`)].join(', ');
    const rebalanced = record.rebalanced === null ? '' : `; re-balanced (tau ${this.rebalanceTau}): ${format(record.rebalanced)}`;
    return `${LongTailEvaluation.className} epoch ${record.epoch}: ${format(record.scores)}${rebalanced} (${record.milliseconds} ms)`;
  }
}

/**
 * Creates a {@link LongTailEvaluation} callback (function form, like `tf.callbacks.earlyStopping`).
 * @throws Error on an invalid option; see {@link LongTailEvaluationArgs}.
 */
export function longTailEvaluation(args: LongTailEvaluationArgs): LongTailEvaluation {
  return new LongTailEvaluation(args);
}

/** Logs as tfjs passes them to class callbacks: numbers, or scalars not yet read. */
type UnresolvedLogs = { [key: string]: number | tf.Scalar };

function readRebalance(value: unknown): number | null {
  const owner = LongTailEvaluation.className;
  if (value === false) return null;
  if (value === true) return DEFAULT_TAU;
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.every((k) => k === 'tau')) return checkTau((value as { tau?: number }).tau ?? DEFAULT_TAU, `${owner}: rebalance.tau`);
  }
  throw new Error(`${owner}: rebalance must be true, false or {tau} (tau finite and > 0); received ${describe(value)}.`);
}

/** true: logits, false: probabilities, null: cannot tell. */
function outputIsLogits(layer: tfl.layers.Layer): boolean | null {
  if (layer.getClassName() === 'Softmax') return false;
  const activation = (layer.getConfig() as { activation?: unknown }).activation;
  if (activation === 'softmax') return false;
  if (activation === 'linear') return true;
  return null;
}

function isDataset(data: LabelledBatch | LabelledDatasetLike): data is LabelledDatasetLike {
  return typeof (data as LabelledDatasetLike).iterator === 'function';
}

function checkValidationData(data: unknown): LabelledBatch | LabelledDatasetLike {
  if (data != null && typeof data === 'object') {
    if (isDataset(data as LabelledDatasetLike)) return data as LabelledDatasetLike;
    splitBatch(data as LabelledBatch, 'validationData');
    return data as LabelledBatch;
  }
  throw new Error(`${LongTailEvaluation.className}: validationData must be [xs, ys] tensors or a tf.data.Dataset of such batches; received ${describe(data)}.`);
}

function splitBatch(batch: LabelledBatch, what = 'validationData'): { xs: EvaluationInputs; ys: tf.Tensor } {
  let xs: unknown;
  let ys: unknown;
  if (Array.isArray(batch) && batch.length === 2) [xs, ys] = batch;
  else if (batch != null && typeof batch === 'object' && 'xs' in batch && 'ys' in batch) ({ xs, ys } = batch as { xs: unknown; ys: unknown });
  const inputsOk =
    xs instanceof tf.Tensor ||
    (Array.isArray(xs) && xs.length > 0 && xs.every((x) => x instanceof tf.Tensor)) ||
    (xs != null && typeof xs === 'object' && !Array.isArray(xs) && Object.values(xs).length > 0 && Object.values(xs).every((x) => x instanceof tf.Tensor));
  if (!inputsOk || !(ys instanceof tf.Tensor)) {
    throw new Error(`${LongTailEvaluation.className}: ${what} must be [xs, ys] or {xs, ys} with tf.Tensor inputs and labels; received ${describe(batch)}.`);
  }
  return { xs: xs as EvaluationInputs, ys: ys as tf.Tensor };
}

/** The inputs as a list in the model's input order. */
function inputList(model: tfl.LayersModel, xs: EvaluationInputs): tf.Tensor[] {
  if (xs instanceof tf.Tensor) return [xs];
  if (Array.isArray(xs)) return xs;
  return model.inputNames.map((name) => {
    const x = (xs as { [name: string]: tf.Tensor })[name];
    if (!(x instanceof tf.Tensor)) {
      throw new Error(`${LongTailEvaluation.className}: validationData inputs must have a tensor for model input '${name}'; received keys [${Object.keys(xs).join(', ')}].`);
    }
    return x;
  });
}

/** int32 class indices `[B]` from one-hot `[B, C]` (argmax) or sparse `[B]` / `[B, 1]` labels. */
function labelsToIndices(ys: tf.Tensor, numClasses: number, what: string): tf.Tensor1D {
  const shape = ys.shape;
  if (shape.length === 2 && shape[1] === numClasses) return tf.argMax(ys, 1) as tf.Tensor1D;
  if (shape.length === 1 || (shape.length === 2 && shape[1] === 1)) return tf.cast(tf.reshape(ys, [-1]), 'int32') as tf.Tensor1D;
  throw new Error(
    `${LongTailEvaluation.className}: ${what} labels must be one-hot [N, ${numClasses}] or class indices [N] / [N, 1]; received shape ${formatShape(shape)}.`,
  );
}

function fmt(value: number | null): string {
  return value === null ? '—' : value.toFixed(4);
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (value instanceof tf.Tensor) return `a tensor of shape ${formatShape(value.shape)}`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'object') return `an object with keys [${Object.keys(value as object).slice(0, 8).join(', ')}]`;
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}
