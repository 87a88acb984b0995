import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** Constructor arguments tfjs-layers accepts for every layer (`name`, `trainable`, `inputShape`, ...). */
type LayerArgs = NonNullable<ConstructorParameters<typeof tfl.layers.Layer>[0]>;

/**
 * Where {@link PredictionRebalance} takes the per-class mass from:
 * - `'transductive'`: the rows of each call (the paper's form; exact only when one call holds the
 *   whole evaluation set);
 * - `'calibrated'`: a non-trainable weight, learned once by `adapt(data)` or given as
 *   `classPriors`, and saved with the model, so each row is re-balanced on its own (batches and
 *   single samples give the same result).
 */
export type RebalanceMode = 'transductive' | 'calibrated';

export const MODES: readonly RebalanceMode[] = ['transductive', 'calibrated'];


/**
 * Constructor keys: the layer's own, those of every tfjs layer, and `customObjects`, which
 * tfjs adds to the config when it deserializes a saved model.
 */
export const ARGUMENTS = [
  'mode',
  'tau',
  'fromLogits',
  'classPriors',
  'name',
  'trainable',
  'inputShape',
  'batchInputShape',
  'batchSize',
  'dtype',
  'inputDType',
  'weights',
  'customObjects',
];

/** Constructor arguments of {@link PredictionRebalance}; `getConfig()` returns the same keys. */
export interface PredictionRebalanceArgs extends LayerArgs {
  /**
   * Required unless `classPriors` is given (then `'calibrated'`, the only mode that takes them):
   * the two modes differ in exactly what users get wrong (per-batch mass), so the choice is
   * explicit. See {@link RebalanceMode}.
   */
  readonly mode?: RebalanceMode;
  /** Exponent of the class mass, finite and > 0. Default 1 (the paper's CIFAR value). */
  readonly tau?: number;
  /**
   * Whether the input is logits (true, default) or probabilities (false). `adapt` data is read
   * the same way.
   */
  readonly fromLogits?: boolean;
  /**
   * Known class mass m for mode `'calibrated'`, instead of learning it with `adapt` (as Keras's
   * `Normalization` takes a known mean and variance): one number per class, each finite and
   * > 0, in any scale (only ratios matter; the layer stores them normalised to sum 1, as `adapt`
   * does). `adapt` would store the model's mean predicted probability per class over a
   * calibration set; a known class distribution of the data to be served (e.g. the training
   * label frequencies, for a calibrated model) is the usual stand-in. Its length fixes
   * numClasses. Default null: learn the mass with `adapt`. Not allowed in mode `'transductive'`.
   */
  readonly classPriors?: readonly number[] | null;
}

/** A `tf.data.Dataset` of `[batch, numClasses]` tensors, or anything with the same `iterator()`. */
export interface TensorDatasetLike {
  /** Starts a pass over the data, as `tf.data.Dataset.iterator()` does. */
  iterator(): Promise<{
    /** The next `[batch, numClasses]` tensor (`{value, done: false}`), or `{done: true}` after the last. */
    next(): Promise<IteratorResult<tf.Tensor>>;
  }>;
}

/** Name of the non-trainable weight of mode `'calibrated'` (saved as `<layer name>/mass`). */
