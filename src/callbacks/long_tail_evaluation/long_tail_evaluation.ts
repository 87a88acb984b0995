import * as tfl from '@tensorflow/tfjs-layers';

import type { ShotThresholds } from '../../eval/shot_groups';
import { BestWeights, improves } from './best_weights';
import { OWNER } from './errors';
import { evaluate } from './evaluate';
import { logKeys, writeLogs, type Groups, type UnresolvedLogs } from './log_keys';
import { checkModel, type ModelOutput } from './model_output';
import { checkOptions, type LongTailEvaluationArgs } from './options';
import { describeRecord, type LongTailEvaluationEpoch } from './scores';
import type { LabelledBatch, LabelledDatasetLike } from './validation_data';
import { markLogWriter } from '../mixed_callbacks';

// The public types, importable from this module with the callback.
export type { LongTailEvaluationArgs } from './options';
export type { LongTailEvaluationEpoch, LongTailScores } from './scores';
export type { EvaluationInputs, LabelledBatch, LabelledDatasetLike } from './validation_data';

/** State of one `fit`, from `onTrainBegin` to `onTrainEnd`. */
interface FitRun extends ModelOutput {
  /** Epoch ends seen in this `fit`. */
  epochsSeen: number;
  /** Epochs since the last improvement of `monitor`. */
  wait: number;
  /** Whether the missing-monitor warning was printed. */
  warnedMonitor: boolean;
}

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
 * their own `onEpochEnd`: list this callback BEFORE them. Listed after `earlyStopping`, its keys
 * are missing when that reads the logs (`Metric for EarlyStopping val_balanced_acc is not
 * available`, and no stop); the package's `fit` wrapper warns about that order (it keeps the
 * order, since `onTrainEnd` hooks depend on it too). `History` (what `fit` returns) is always
 * last. This callback's own `patience` works anywhere. Plain-object callbacks (tfjs-vis) may
 * share the list.
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
  static readonly className = OWNER;

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
  readonly groups: Groups;

  /** One record per evaluation, oldest first; continues over several `fit` calls. */
  readonly history: LongTailEvaluationEpoch[] = [];
  /** Epoch with the best `monitor` value in the last (or current) `fit`; null before one was seen. */
  bestEpoch: number | null = null;
  /** The best `monitor` value of the last (or current) `fit`; null before one was seen. */
  bestValue: number | null = null;
  /** Epoch at which `patience` stopped the last `fit`; null when it did not. */
  stoppedEpoch: number | null = null;

  private readonly evaluationData: LabelledBatch | LabelledDatasetLike;
  private run: FitRun | null = null;
  private readonly bestWeights = new BestWeights();

  constructor(args: LongTailEvaluationArgs) {
    super();
    // Lets the fit wrapper warn when a callback that monitors one of its keys is listed before it.
    markLogWriter(this, () => this.logKeys());
    const options = checkOptions(args);
    this.evaluationData = options.validationData;
    this.classCounts = options.classCounts;
    this.thresholds = options.thresholds;
    this.groups = options.groups;
    this.every = options.every;
    this.batchSize = options.batchSize;
    this.rebalanceTau = options.rebalanceTau;
    this.fromLogits = options.fromLogits;
    this.prefix = options.prefix;
    this.monitor = options.monitor;
    this.mode = options.mode;
    this.restoreBestWeights = options.restoreBestWeights;
    this.patience = options.patience;
    this.verbose = options.verbose;
  }

  /**
   * The log keys this callback can write, in the order written: the plain scores first, then
   * the re-balanced ones. Keys of empty groups are left out.
   */
  logKeys(): string[] {
    return logKeys(this.prefix, this.groups, this.rebalanceTau !== null);
  }

  /** Frees the kept best weights of a `fit` that threw (which never reaches `onTrainEnd`). Harmless otherwise. */
  dispose(): void {
    this.bestWeights.dispose();
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
    const { numClasses, outputsLogits } = checkModel(this.model, {
      validationData: this.evaluationData,
      classCounts: this.classCounts,
      fromLogits: this.fromLogits,
      rebalanceTau: this.rebalanceTau,
    });
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
      if (logs != null) writeLogs(record, logs, this.prefix, this.groups);
      if (this.verbose === 1) console.log(describeRecord(record, this.rebalanceTau));
    }
    await this.track(run, epoch, logs, evaluated);
  }

  /** Called by `fit` at the end: writes the best epoch's weights back (with `restoreBestWeights`) and frees the kept copies. */
  override async onTrainEnd(): Promise<void> {
    if (this.restoreBestWeights && this.bestWeights.restore(this.model)) {
      if (this.verbose === 1) console.log(`${OWNER}: restored the weights of epoch ${this.bestEpoch} (${this.monitor} ${this.bestValue}).`);
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
  private evaluate(run: FitRun, epoch: number): Promise<LongTailEvaluationEpoch> {
    return evaluate(
      {
        model: this.model,
        data: this.evaluationData,
        batchSize: this.batchSize,
        numClasses: run.numClasses,
        outputsLogits: run.outputsLogits,
        rebalanceTau: this.rebalanceTau,
        classCounts: this.classCounts,
        thresholds: this.thresholds,
      },
      epoch,
    );
  }

  /** Updates the best epoch (and the kept weights) from `monitor` in `logs`, and stops training after `patience` evaluations without improvement. */
  private async track(run: FitRun, epoch: number, logs: UnresolvedLogs | undefined, evaluated: boolean): Promise<void> {
    const raw = logs?.[this.monitor];
    if (raw == null) {
      // Our own key is absent on epochs that are not evaluated; anything else is worth one warning.
      const ours = this.logKeys().includes(this.monitor);
      if ((evaluated || !ours) && !run.warnedMonitor) {
        run.warnedMonitor = true;
        console.warn(
          `${OWNER}: monitor '${this.monitor}' is not in the epoch logs (keys: ${Object.keys(logs ?? {}).join(', ')}); ` +
            `no best epoch is tracked while it is missing.`,
        );
      }
      return;
    }
    // A tensor written by tfjs (val_loss): read, never dispose (History owns it).
    const current = typeof raw === 'number' ? raw : (await raw.data())[0];
    if (improves(this.mode, current, this.bestValue)) {
      this.bestValue = current;
      this.bestEpoch = epoch;
      run.wait = 0;
      if (this.restoreBestWeights) this.bestWeights.keep(this.model);
      return;
    }
    run.wait++;
    if (this.patience !== null && run.wait >= this.patience) {
      this.stoppedEpoch = epoch;
      this.model.stopTraining = true;
      if (this.verbose === 1) console.log(`${OWNER}: epoch ${epoch}: ${this.monitor} did not improve for ${run.wait} evaluations; stopping.`);
    }
  }
}

/**
 * Creates a {@link LongTailEvaluation} callback (function form, like `tf.callbacks.earlyStopping`).
 * @throws Error on an invalid option; see {@link LongTailEvaluationArgs}.
 */
export function longTailEvaluation(args: LongTailEvaluationArgs): LongTailEvaluation {
  return new LongTailEvaluation(args);
}
