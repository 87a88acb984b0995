import * as tf from '@tensorflow/tfjs-core';

import { allowedLabels } from './label_rows';

/**
 * Most training steps between two reads of the invalid-row counter. The first reads come sooner
 * (after steps 1, 3, 7 and 15), so a short run still warns.
 */
export const MAX_STEPS_BETWEEN_READS = 16;

/**
 * Counts the training rows of a loss whose labels are invalid, on the device, and warns about
 * them without a host-device sync per step.
 *
 * The count lives in a non-trainable scalar variable, created on the first counted batch (a loss
 * that never trains holds no tensor). Reading it back is asynchronous (`data()` on a kept copy),
 * after training steps 1, 3, 7 and 15, then every {@link MAX_STEPS_BETWEEN_READS} steps, and on
 * the first call without a gradient tape after training steps (validation at the end of an
 * epoch, `evaluate`). Each read that finds the count grown warns once (`console.warn`) with the
 * loss, the new and total rows and what labels are allowed. {@link InvalidRowCounter.read} and
 * {@link InvalidRowCounter.readAsync} read it on demand and warn the same way.
 */
export class InvalidRowCounter {
  private counter: tf.Variable | null = null;
  private warnedAt = 0;
  private stepsBetweenReads = 1;
  private stepsSinceRead = 0;
  private reading = false;
  private numClasses = 0;

  /**
   * @param owner class name for the warning, e.g. `'GalaLoss'`.
   * @param ignoredBy what an invalid row does not contribute to, for the warning (`'zero loss and
   *   zero gradient'`, `'... and nothing to the accumulated state'`).
   */
  constructor(
    private readonly owner: string,
    private readonly ignoredBy: string,
  ) {}

  /**
   * Adds the invalid rows of one training batch (`valid`: float32 `[batch]`, 1 valid, 0 invalid).
   * Runs inside the caller's tidy; no host sync.
   */
  add(valid: tf.Tensor1D, numClasses: number): void {
    this.numClasses = numClasses;
    const counter = this.variable();
    counter.assign(tf.add(counter, tf.sub(valid.shape[0], tf.sum(valid))));
    this.stepsSinceRead++;
    if (this.stepsSinceRead >= this.stepsBetweenReads) this.startRead();
  }

  /** Notes a call without a gradient tape: training steps counted since the last read are read now. */
  afterTraining(): void {
    if (this.stepsSinceRead > 0) this.startRead();
  }

  /** The count, read synchronously (a host-device sync); warns if it grew. */
  read(): number {
    if (this.counter === null) return 0;
    const value = Math.round(this.counter.dataSync()[0]);
    this.report(value);
    return value;
  }

  /** The count, read asynchronously; warns if it grew. */
  async readAsync(): Promise<number> {
    if (this.counter === null) return 0;
    const snapshot = tf.clone(this.counter);
    try {
      const value = Math.round((await snapshot.data())[0]);
      this.report(value);
      return value;
    } finally {
      snapshot.dispose();
    }
  }

  /** Sets the count (e.g. from a saved state); rows already counted are not warned about again. */
  set(value: number): void {
    if (value === 0 && this.counter === null) {
      this.warnedAt = 0;
      return;
    }
    const counter = this.variable();
    tf.tidy(() => counter.assign(tf.scalar(value)));
    this.warnedAt = value;
    this.stepsSinceRead = 0;
  }

  /** Frees the counter variable, if any. */
  dispose(): void {
    this.counter?.dispose();
    this.counter = null;
  }

  private variable(): tf.Variable {
    // Unnamed and non-trainable: variable names are global and optimizers must not touch it.
    this.counter ??= tf.tidy(() => tf.variable(tf.scalar(0), false));
    return this.counter;
  }

  private startRead(): void {
    if (this.reading || this.counter === null) return;
    this.reading = true;
    this.stepsSinceRead = 0;
    this.stepsBetweenReads = Math.min(this.stepsBetweenReads * 2, MAX_STEPS_BETWEEN_READS);
    // A kept copy shares the data (no copy) and keeps it alive while later steps reassign the variable.
    const snapshot = tf.keep(tf.clone(this.counter));
    snapshot.data().then(
      (values) => {
        snapshot.dispose();
        this.reading = false;
        this.report(Math.round(values[0]));
      },
      () => {
        snapshot.dispose();
        this.reading = false;
      },
    );
  }

  private report(value: number): void {
    if (!(value > this.warnedAt)) return;
    const added = value - this.warnedAt;
    this.warnedAt = value;
    console.warn(
      `${this.owner}: ${added} training row${added === 1 ? '' : 's'} with invalid labels (${value} in total so far); ` +
        `they added ${this.ignoredBy}. Labels must be ${allowedLabels(this.numClasses)}.`,
    );
  }
}
