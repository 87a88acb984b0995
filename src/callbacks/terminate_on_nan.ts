import type * as tf from '@tensorflow/tfjs-core';
import { Callback } from '@tensorflow/tfjs-layers';

import { checkOneOf } from '../core/validate';

const OWNER = 'TerminateOnNaN';
const EXAMPLE = "{checkEvery: 'batch'}";
/** Argument name as errors show it: `TerminateOnNaN: checkEvery must be ...`. */
const argument = (name: string): string => `${OWNER}: ${name}`;

/** Logs as tfjs hands them to class-based callbacks: scalars, or numbers once resolved. */
type LogsLike = { [key: string]: number | tf.Scalar };

/** When {@link TerminateOnNaN} reads the loss. */
export type TerminateCheck = 'batch' | 'epoch';

/** Arguments of {@link TerminateOnNaN} / {@link terminateOnNaN}. All are optional. */
export interface TerminateOnNaNArgs {
  /**
   * `'batch'` (default, as Keras): read each batch's `loss` at batch end (one scalar read from
   * the device per batch) and stop at the first non-finite one. `'epoch'`: read only the
   * epoch's average `loss` at epoch end (one read per epoch); training stops after the epoch in
   * which a batch went bad (an average with a NaN or Inf in it is not finite).
   */
  readonly checkEvery?: TerminateCheck;
  /**
   * Where the message "TerminateOnNaN: batch 3 of epoch 0: invalid loss NaN, terminating training."
   * goes (default `console.warn`; null: nowhere).
   */
  readonly log?: ((message: string) => void) | null;
}

/** Where training was stopped: plain numbers, JSON-safe. */
export interface TerminationPoint {
  /** Epoch (0-based, as `fit` counts it, `initialEpoch` included). */
  epoch: number;
  /** Batch index within the epoch; null when the check was at epoch end. */
  batch: number | null;
  /** The loss read: NaN, Infinity or -Infinity. */
  loss: number;
}

/**
 * A callback that stops training (`model.stopTraining = true`) as soon as the training loss is
 * NaN or infinite, as Keras's `TerminateOnNaN`
 * (https://keras.io/api/callbacks/terminate_on_nan/) does.
 *
 * With `checkEvery: 'batch'` (default) it reads `logs.loss` at every batch end: that is one
 * scalar read from the device per batch (a host-device sync; small next to a training step on
 * the cpu and wasm backends, noticeable on webgl/webgpu). tfjs finishes the current batch and
 * then stops: the epoch still ends (its `onEpochEnd` runs) and `fit` returns normally.
 * With `checkEvery: 'epoch'` it reads the epoch's average loss once per epoch instead, and
 * stops after that epoch.
 *
 * Note: the bad batch's update has already been applied when the loss is read, so the model's
 * weights are usually NaN at that point. To keep training instead, use
 * {@link SkipNonFiniteSteps}, which skips such steps (the two do not combine: a skipped batch
 * still logs its non-finite loss, and this callback would stop at it).
 *
 * ```js
 * const stop = terminateOnNaN();
 * await model.fit(xs, ys, { epochs: 10, callbacks: [stop] });
 * if (stop.terminated) console.log('stopped at', stop.terminated);
 * ```
 *
 * @throws Error on invalid arguments (naming the argument, the value and what is allowed).
 */
export class TerminateOnNaN extends Callback {
  /** When the loss is read. */
  readonly checkEvery: TerminateCheck;
  /** Where training was last stopped by this callback; null when it was not (reset at each train begin). */
  terminated: TerminationPoint | null = null;
  private readonly log: ((message: string) => void) | null;
  private epoch = 0;

  constructor(args?: TerminateOnNaNArgs) {
    super();
    if (args !== undefined && (args === null || typeof args !== 'object' || Array.isArray(args))) {
      throw new Error(`${OWNER}: args must be an object like ${EXAMPLE}; received ${String(args)}.`);
    }
    this.checkEvery = checkOneOf(argument('checkEvery'), args?.checkEvery ?? 'batch', ['batch', 'epoch'] as const);
    const log: unknown = args?.log === undefined ? (message: string) => console.warn(message) : args.log;
    if (log !== null && typeof log !== 'function') {
      throw new Error(`${argument('log')} must be a function or null; received ${String(log)}.`);
    }
    this.log = log as ((message: string) => void) | null;
  }

  /** Clears {@link TerminateOnNaN.terminated} for the new run. */
  override async onTrainBegin(): Promise<void> {
    this.terminated = null;
  }

  /** Notes the epoch, for the report. */
  override async onEpochBegin(epoch: number): Promise<void> {
    this.epoch = epoch;
  }

  /** With `checkEvery: 'batch'`, reads the batch loss (one scalar) and stops training when it is not finite. */
  override async onBatchEnd(batch: number, logs?: LogsLike): Promise<void> {
    if (this.checkEvery !== 'batch' || this.terminated != null) return;
    const loss = await readLoss(logs);
    if (loss !== null && !Number.isFinite(loss)) this.stop(batch, loss);
  }

  /** With `checkEvery: 'epoch'`, reads the epoch loss and stops training when it is not finite. */
  override async onEpochEnd(epoch: number, logs?: LogsLike): Promise<void> {
    if (this.checkEvery !== 'epoch' || this.terminated != null) return;
    this.epoch = epoch;
    const loss = await readLoss(logs);
    if (loss !== null && !Number.isFinite(loss)) this.stop(null, loss);
  }

  private stop(batch: number | null, loss: number): void {
    this.terminated = { epoch: this.epoch, batch, loss };
    if (this.model != null) this.model.stopTraining = true;
    const where = batch === null ? `epoch ${this.epoch}` : `batch ${batch} of epoch ${this.epoch}`;
    this.log?.(`${OWNER}: ${where}: invalid loss ${loss}, terminating training.`);
  }
}

/** `logs.loss` as a number (one read when it is still a tensor); null when absent. Never disposes it. */
async function readLoss(logs?: LogsLike): Promise<number | null> {
  const value = logs?.loss;
  if (value == null) return null;
  if (typeof value === 'number') return value;
  if (value.isDisposed) return null;
  return (await value.data())[0];
}

/**
 * Creates a {@link TerminateOnNaN} callback: stops training at the first batch (or epoch) whose
 * loss is NaN or infinite. See the class for the host reads it costs.
 *
 * @throws Error on invalid arguments (naming the argument, the value and what is allowed).
 */
export function terminateOnNaN(args?: TerminateOnNaNArgs): TerminateOnNaN {
  return new TerminateOnNaN(args);
}
