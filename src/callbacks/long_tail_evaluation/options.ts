import { checkBoolean, checkInteger, checkNumberArray, checkOneOf } from '../../core/validate';
import { SHOT_THRESHOLDS, shotGroups, type ShotThresholds } from '../../eval/shot_groups';
import { DEFAULT_TAU, checkTau } from '../../layers/rebalance_math';
import { OWNER, describe } from './errors';
import { checkMonitorCanBeWritten, type Groups } from './log_keys';
import { checkValidationData, type LabelledBatch, type LabelledDatasetLike } from './validation_data';
import { checkKnownKeys } from '../../core/known_keys';

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
  readonly rebalance?:
    | boolean
    | {
        /** Exponent of the class mass, > 0 (default 1). */
        readonly tau?: number;
      };
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

/** The options after checking, with every default filled in (see {@link LongTailEvaluationArgs}). */
export interface LongTailEvaluationOptions {
  readonly validationData: LabelledBatch | LabelledDatasetLike;
  /** A copy. */
  readonly classCounts: readonly number[];
  readonly thresholds: ShotThresholds;
  /** Classes of each shot group, from `classCounts`. */
  readonly groups: Groups;
  readonly every: number;
  readonly batchSize: number;
  /** Re-balancing tau, or null without re-balancing. */
  readonly rebalanceTau: number | null;
  readonly fromLogits: boolean | 'auto';
  readonly prefix: string;
  readonly monitor: string;
  /** Resolved from `'auto'`. */
  readonly mode: 'min' | 'max';
  readonly restoreBestWeights: boolean;
  readonly patience: number | null;
  readonly verbose: 0 | 1;
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
 * Checks the options of {@link LongTailEvaluation} and fills in the defaults.
 * @throws Error on an invalid option (naming it, the value and what is allowed), or a `monitor`
 *   naming one of the callback's keys that can never be written.
 */
export function checkOptions(args: LongTailEvaluationArgs): LongTailEvaluationOptions {
  if (args == null || typeof args !== 'object' || Array.isArray(args)) {
    throw new Error(`${OWNER}: args must be an object like {validationData: [xs, ys], classCounts: [500, 120, 9]}; received ${describe(args)}.`);
  }
  checkKnownKeys(OWNER, args, OPTION_NAMES);
  const validationData = checkValidationData(args.validationData);
  const classCounts = checkNumberArray(`${OWNER}: classCounts`, args.classCounts, null, 0);
  if (classCounts.length < 2) {
    throw new Error(`${OWNER}: classCounts must have one entry per class, at least 2; received length ${classCounts.length}.`);
  }
  const thresholds = args.thresholds ?? SHOT_THRESHOLDS;
  const groups = shotGroups(classCounts, thresholds);
  const every = checkInteger(`${OWNER}: every`, args.every ?? 1, 1);
  const batchSize = checkInteger(`${OWNER}: batchSize`, args.batchSize ?? DEFAULT_BATCH_SIZE, 1);
  const rebalanceTau = readRebalance(args.rebalance ?? false);
  const fromLogitsArg = args.fromLogits ?? 'auto';
  const fromLogits = fromLogitsArg === 'auto' ? 'auto' : checkBoolean(`${OWNER}: fromLogits`, fromLogitsArg);
  if (typeof args.prefix !== 'undefined' && (typeof args.prefix !== 'string' || !/^[A-Za-z0-9_]*$/.test(args.prefix))) {
    throw new Error(`${OWNER}: prefix must be a string of letters, digits and '_'; received ${describe(args.prefix)}.`);
  }
  const prefix = args.prefix ?? DEFAULT_PREFIX;
  const monitor = args.monitor ?? `${prefix}balanced_acc`;
  if (typeof monitor !== 'string' || monitor.length === 0) {
    throw new Error(`${OWNER}: monitor must be a non-empty log key such as 'val_balanced_acc'; received ${describe(args.monitor)}.`);
  }
  checkMonitorCanBeWritten(monitor, prefix, groups, rebalanceTau !== null);
  const modeArg = checkOneOf(`${OWNER}: mode`, args.mode ?? 'auto', ['auto', 'min', 'max'] as const);
  const mode = modeArg !== 'auto' ? modeArg : monitor.includes('acc') ? 'max' : 'min';
  const restoreBestWeights = checkBoolean(`${OWNER}: restoreBestWeights`, args.restoreBestWeights ?? false);
  const patience = args.patience == null ? null : checkInteger(`${OWNER}: patience`, args.patience, 1);
  const verbose = args.verbose ?? 0;
  if (verbose !== 0 && verbose !== 1) throw new Error(`${OWNER}: verbose must be 0 or 1; received ${describe(verbose)}.`);
  return {
    validationData,
    classCounts,
    thresholds,
    groups,
    every,
    batchSize,
    rebalanceTau,
    fromLogits,
    prefix,
    monitor,
    mode,
    restoreBestWeights,
    patience,
    verbose,
  };
}

/** The re-balancing tau of the `rebalance` option, or null without re-balancing. */
function readRebalance(value: unknown): number | null {
  if (value === false) return null;
  if (value === true) return DEFAULT_TAU;
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.every((k) => k === 'tau')) return checkTau((value as { tau?: number }).tau ?? DEFAULT_TAU, `${OWNER}: rebalance.tau`);
  }
  throw new Error(`${OWNER}: rebalance must be true, false or {tau} (tau finite and > 0); received ${describe(value)}.`);
}
