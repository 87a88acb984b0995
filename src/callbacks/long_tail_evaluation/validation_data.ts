import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

import { formatShape } from '../../core/shapes';
import { OWNER, describe } from './errors';

/** Model inputs of one batch: a tensor, one tensor per input, or tensors keyed by input name. */
export type EvaluationInputs = tf.Tensor | tf.Tensor[] | { [inputName: string]: tf.Tensor };

/** One labelled batch: `[xs, ys]` or `{xs, ys}`. */
export type LabelledBatch =
  | readonly [EvaluationInputs, tf.Tensor]
  | {
      /** The model's inputs for the batch. */
      readonly xs: EvaluationInputs;
      /** Labels of the batch: one-hot `[batch, numClasses]` or class indices `[batch]`. */
      readonly ys: tf.Tensor;
    };

/** A `tf.data.Dataset` of labelled batches, or anything with the same `iterator()`. */
export interface LabelledDatasetLike {
  /** Starts a pass over the data, as `tf.data.Dataset.iterator()` does. */
  iterator(): Promise<{
    /** The next batch, or `done` at the end of the data set. */
    next(): Promise<IteratorResult<LabelledBatch>>;
  }>;
}

/** Receives one batch of the validation data; `what` names it in error messages. */
export type BatchConsumer = (xs: EvaluationInputs, ys: tf.Tensor, what: string) => void;

export function isDataset(data: LabelledBatch | LabelledDatasetLike): data is LabelledDatasetLike {
  return typeof (data as LabelledDatasetLike).iterator === 'function';
}

/**
 * The `validationData` option as given, after checking its form.
 * @throws Error when it is neither a labelled batch nor a dataset.
 */
export function checkValidationData(data: unknown): LabelledBatch | LabelledDatasetLike {
  if (data != null && typeof data === 'object') {
    if (isDataset(data as LabelledDatasetLike)) return data as LabelledDatasetLike;
    splitBatch(data as LabelledBatch, 'validationData');
    return data as LabelledBatch;
  }
  throw new Error(`${OWNER}: validationData must be [xs, ys] tensors or a tf.data.Dataset of such batches; received ${describe(data)}.`);
}

/**
 * The inputs and labels of a `[xs, ys]` or `{xs, ys}` batch.
 * @throws Error when the batch has another form or holds something other than tensors.
 */
export function splitBatch(batch: LabelledBatch, what = 'validationData'): { xs: EvaluationInputs; ys: tf.Tensor } {
  let xs: unknown;
  let ys: unknown;
  if (Array.isArray(batch) && batch.length === 2) [xs, ys] = batch;
  else if (batch != null && typeof batch === 'object' && 'xs' in batch && 'ys' in batch) ({ xs, ys } = batch as { xs: unknown; ys: unknown });
  const inputsOk =
    xs instanceof tf.Tensor ||
    (Array.isArray(xs) && xs.length > 0 && xs.every((x) => x instanceof tf.Tensor)) ||
    (xs != null && typeof xs === 'object' && !Array.isArray(xs) && Object.values(xs).length > 0 && Object.values(xs).every((x) => x instanceof tf.Tensor));
  if (!inputsOk || !(ys instanceof tf.Tensor)) {
    throw new Error(`${OWNER}: ${what} must be [xs, ys] or {xs, ys} with tf.Tensor inputs and labels; received ${describe(batch)}.`);
  }
  return { xs: xs as EvaluationInputs, ys: ys as tf.Tensor };
}

/** The inputs as a list in the model's input order. */
export function inputList(model: tfl.LayersModel, xs: EvaluationInputs): tf.Tensor[] {
  if (xs instanceof tf.Tensor) return [xs];
  if (Array.isArray(xs)) return xs;
  return model.inputNames.map((name) => {
    const x = (xs as { [name: string]: tf.Tensor })[name];
    if (!(x instanceof tf.Tensor)) {
      throw new Error(`${OWNER}: validationData inputs must have a tensor for model input '${name}'; received keys [${Object.keys(xs).join(', ')}].`);
    }
    return x;
  });
}

/**
 * Checks that every input has as many rows as the labels.
 * @throws Error naming `what` and the first input that disagrees.
 */
export function checkRows(inputs: readonly tf.Tensor[], rows: number, what: string): void {
  for (const x of inputs) {
    if (x.shape[0] !== rows) {
      throw new Error(`${OWNER}: ${what} inputs must have as many rows as its labels (${rows}); received shape ${formatShape(x.shape)}.`);
    }
  }
}

/** int32 class indices `[B]` from one-hot `[B, C]` (argmax) or sparse `[B]` / `[B, 1]` labels. */
export function labelsToIndices(ys: tf.Tensor, numClasses: number, what: string): tf.Tensor1D {
  const shape = ys.shape;
  if (shape.length === 2 && shape[1] === numClasses) return tf.argMax(ys, 1) as tf.Tensor1D;
  if (shape.length === 1 || (shape.length === 2 && shape[1] === 1)) return tf.cast(tf.reshape(ys, [-1]), 'int32') as tf.Tensor1D;
  throw new Error(`${OWNER}: ${what} labels must be one-hot [N, ${numClasses}] or class indices [N] / [N, 1]; received shape ${formatShape(shape)}.`);
}

/**
 * Calls `add` once per batch of the validation data: tensor data cut into slices of `batchSize`
 * rows (the caller's tensors are passed as they are when they fit in one batch, and never
 * disposed; the slices are disposed after `add`), or each element of a dataset, disposed after
 * `add`. A dataset is iterated once per call.
 */
export async function forEachBatch(
  model: tfl.LayersModel,
  data: LabelledBatch | LabelledDatasetLike,
  batchSize: number,
  add: BatchConsumer,
): Promise<void> {
  if (!isDataset(data)) {
    const { xs, ys } = splitBatch(data);
    const inputs = inputList(model, xs);
    const n = ys.shape[0];
    for (let start = 0; start < n; start += batchSize) {
      const size = Math.min(batchSize, n - start);
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
