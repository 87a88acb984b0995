import * as tf from '@tensorflow/tfjs-core';

import { describeValue } from '../core/labels';
import { bareClassName } from './callable_loss';
import { InvalidRowCounter } from './invalid_row_counter';
import { type LabelRows, labelRows } from './label_rows';
import { checkLossInputs } from './softmax_cross_entropy';
import { StatefulLoss } from './stateful_loss';

/** What a loss call needs to compute its per-sample losses. */
export interface LossBatch {
  /**
   * Reads the labels (invalid rows zeroed, see `labelRows`) and, on a training batch, counts
   * the invalid rows. The first call does the work, later calls return the same rows. Call it
   * inside the caller's tidy; a loss with a custom gradient calls it inside the forward pass,
   * which keeps these ops off the gradient tape (nothing of them is copied for the backward pass).
   */
  readonly labels: () => LabelRows;
  /** The model's outputs `[batch, numClasses]`, as given (logits or probabilities). */
  readonly yPred: tf.Tensor2D;
  /** Number of classes, `yPred.shape[1]`. */
  readonly numClasses: number;
  /**
   * True for the first call on a training batch (under a gradient tape: `fit`, `fitDataset`,
   * `trainOnBatch`, `tf.grad`): the only call that may update accumulated state.
   */
  readonly training: boolean;
}

/**
 * Base of the package's classification losses (`[batch, numClasses]` outputs, one-hot or sparse
 * labels). It does what every one of them needs around its formula:
 *
 * - checks `yTrue` and `yPred` (tensors, shapes, batch sizes), naming the loss;
 * - reads the labels and gives **invalid label rows** (a sparse index out of range, negative,
 *   fractional or NaN; a one-hot row with a negative entry or not summing to 1) zero loss, zero
 *   gradient and no part in any accumulated state. Training rows with invalid labels are counted
 *   on the device and reported with `console.warn` without a sync per step (see
 *   {@link ClassificationLoss.getInvalidRowCount});
 * - warns once when it first receives sparse labels, since tfjs's `'accuracy'` metric assumes
 *   one-hot labels (`tf.metrics.sparseCategoricalAccuracy` is the one for sparse labels; tfjs
 *   4.22 knows no string name for it);
 * - answers a second call on the same training batch (the loss also listed in `metrics`) with
 *   the first call's values: the metric reports the batch's own loss, and state is updated once.
 *
 * Subclasses implement {@link ClassificationLoss.perSampleLosses} and
 * {@link ClassificationLoss.expectedNumClasses}; they hold the invalid-row counter (created on the
 * first training batch), so they are {@link StatefulLoss}es and `dispose()` frees it.
 */
export abstract class ClassificationLoss extends StatefulLoss {
  private counter: InvalidRowCounter | null = null;
  private warnedSparse = false;
  // The first call on the current training batch: tape, input ids and the values it returned.
  private lastTrainingCall: { tape: unknown; yTrueId: number; yPredId: number; losses: tf.Tensor1D } | null = null;

  /**
   * Per-sample loss `[batch]`.
   * @param yTrue one-hot `[batch, numClasses]` or sparse class indices `[batch]` / `[batch, 1]`.
   * @param yPred model outputs `[batch, numClasses]` (logits, or probabilities with `fromLogits: false`).
   * @returns float32 `[batch]`, 0 for rows with invalid labels.
   * @throws Error naming the loss when an input is not a tensor, has the wrong shape, or the loss was disposed.
   */
  compute(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor1D {
    this.assertUsable();
    const owner = bareClassName(this.getClassName());
    const numClasses = checkLossInputs(owner, yTrue, yPred, this.expectedNumClasses());
    const engineState = tf.engine().state;
    const training = engineState.gradientDepth > 0;
    const tape: unknown = engineState.activeTape;
    const last = this.lastTrainingCall;
    if (training && last !== null && last.tape === tape && last.yTrueId === yTrue.id && last.yPredId === yPred.id && !last.losses.isDisposed) {
      // Same batch, same tape: the loss listed as a metric too. Its state was already updated by
      // the first call, so recomputing would report another value; a clone shares the data.
      return tf.clone(last.losses);
    }
    const counter = this.invalidRowCounter();
    if (!training) counter.afterTraining();
    const losses = tf.tidy(() => {
      let rows: LabelRows | null = null;
      const labels = (): LabelRows => {
        if (rows === null) {
          rows = labelRows(yTrue, numClasses, `${owner}: yTrue`);
          if (training) counter.add(rows.valid, numClasses);
        }
        return rows;
      };
      return this.perSampleLosses({ labels, yPred: yPred as tf.Tensor2D, numClasses, training });
    });
    if (!this.warnedSparse && (yTrue.rank === 1 || yTrue.shape[1] === 1)) this.warnSparse(yTrue);
    this.lastTrainingCall = training ? { tape, yTrueId: yTrue.id, yPredId: yPred.id, losses } : null;
    return losses;
  }

  /**
   * Number of training rows with invalid labels seen so far (those rows got zero loss, zero
   * gradient and no part in accumulated state), read asynchronously (no blocking sync, safe on
   * webgl and webgpu). Warns if the count grew since the last warning.
   */
  async getInvalidRowCount(): Promise<number> {
    this.assertUsable();
    return this.invalidRowCounter().readAsync();
  }

  /**
   * Computes the per-sample losses of one batch inside the caller's tidy; it must call
   * `batch.labels()` (which also counts invalid training rows). Rows with invalid labels arrive
   * as all-zero rows of its `oneHot` and must get zero loss and gradient (automatic for a loss of
   * the form -sum_j y_j f_j(z); a custom gradient multiplies by its `valid`).
   */
  protected abstract perSampleLosses(batch: LossBatch): tf.Tensor1D;

  /** The number of classes `yPred` must have, or null to accept any count >= 2. */
  protected abstract expectedNumClasses(): number | null;

  /**
   * Forgets the last training call, so the next call computes afresh. Subclasses call it when
   * their state or weights change outside a call (`setState`, `resetState`, `setClassWeights`).
   */
  protected stateChanged(): void {
    this.lastTrainingCall = null;
  }

  /** The invalid-row count, read synchronously (a host-device sync). */
  protected readInvalidRowCount(): number {
    return this.invalidRowCounter().read();
  }

  /** The invalid-row count, read asynchronously. */
  protected readInvalidRowCountAsync(): Promise<number> {
    return this.invalidRowCounter().readAsync();
  }

  /** Sets the invalid-row count (from a saved state); those rows are not warned about again. */
  protected setInvalidRowCount(value: number): void {
    this.invalidRowCounter().set(value);
  }

  /**
   * What an invalid row does not contribute to, for the warning. Stateful subclasses add their
   * state ("... and nothing to the accumulated gradient statistics").
   */
  protected ignoredByInvalidRows(): string {
    return 'zero loss and zero gradient';
  }

  /** Frees the invalid-row counter. Subclasses that hold more call `super.disposeState()`. */
  protected disposeState(): void {
    this.counter?.dispose();
    this.counter = null;
    this.lastTrainingCall = null;
  }

  private invalidRowCounter(): InvalidRowCounter {
    this.counter ??= new InvalidRowCounter(bareClassName(this.getClassName()), this.ignoredByInvalidRows());
    return this.counter;
  }

  private warnSparse(yTrue: tf.Tensor): void {
    if (this.warnedSparse) return;
    this.warnedSparse = true;
    console.warn(
      `${bareClassName(this.getClassName())}: received sparse labels (class indices, ${describeValue(yTrue)}). ` +
        `tfjs's 'accuracy' / 'acc' metric assumes one-hot labels and reports wrong values with sparse ones: ` +
        `use metrics: [tf.metrics.sparseCategoricalAccuracy] instead. (Shown once per loss.)`,
    );
  }
}
