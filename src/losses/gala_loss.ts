import * as tf from '@tensorflow/tfjs-core';

import { ClassificationLoss, type LossBatch } from './classification_loss';
import { registerLoss } from './register_loss';
import { GALA_STATE_FORMAT, galaStateOf, readGalaState, type GalaState } from './gala_state';
import { resolveArgs } from '../core/args';
import { checkKnownKeys } from '../core/known_keys';
import { describeValue } from '../core/labels';
import { predictionsToLogits } from '../core/logits';
import { checkBoolean, checkInteger, checkNumber, checkOneOf } from '../core/validate';

export { GALA_STATE_FORMAT, type GalaState } from './gala_state';

/**
 * Which computation {@link GalaLoss} performs.
 * - `'paper'`: the formula of the paper (Zhang et al., ICASSP 2024, Eq. for F): non-target logits
 *   shifted by `lambda1*log(theta_j) - lambda2*log(phi_k)`, target logit untouched.
 * - `'reference'`: what the authors' released code computes: every logit, the target
 *   included, is shifted, so the phi term is a per-row constant and `lambda2` has no effect; and
 *   both sums are accumulated twice (their `collect_grad` adds one running matrix into both
 *   totals every batch): theta(T) = sum_s (T - s + 1) g(s) and phi(T) = sum_s (T - s + 1) h(s),
 *   so early batches weigh more. Use it to reproduce their numbers. (0.1.0 summed phi once here;
 *   that changed no loss value, since phi is a per-row constant in this variant, only the state.)
 */
export type GalaVariant = 'paper' | 'reference';

/** Arguments of {@link GalaLoss} / {@link galaLoss}. */
export interface GalaLossArgs {
  /** Number of classes C (integer >= 2). The model's output must be `[batch, C]`. */
  readonly numClasses: number;
  /** Weight of the positive-gradient term lambda1*log(theta_j) (>= 0, default 1, the paper's default config). */
  readonly lambda1?: number;
  /** Weight of the negative-gradient term lambda2*log(phi_k) (>= 0, default 1). */
  readonly lambda2?: number;
  /** Added inside both logs, log(theta + epsilon) (> 0, default 1e-3 as in the authors' code): at step 1 theta = phi = 0. */
  readonly epsilon?: number;
  /**
   * Whether `yPred` are logits (default true). When false, `yPred` are probabilities and their
   * log is used: exact, because the margins are invariant to a per-row shift of the logits.
   */
  readonly fromLogits?: boolean;
  /** `'paper'` (default) or `'reference'`; see {@link GalaVariant}. */
  readonly variant?: GalaVariant;
}

const DEFAULTS = { lambda1: 1, lambda2: 1, epsilon: 1e-3, fromLogits: true, variant: 'paper' as GalaVariant };
const ARGUMENTS = ['numClasses', ...Object.keys(DEFAULTS)];

/**
 * Gradient-Aware Logit Adjustment loss (GALA).
 *
 * Zhang et al., "Gradient-Aware Logit Adjustment Loss for Long-tailed Classifier", ICASSP 2024,
 * arXiv:2403.09036, Section 2. For a sample with label k and logits z (length C):
 *
 * ```text
 * F_j = z_j + lambda1 * log(theta_j + eps) - lambda2 * log(phi_k + eps)   (j != k)
 * F_k = z_k
 * L   = -log softmax(F)_k
 * ```
 *
 * theta_j is the positive gradient accumulated by class j over all past training samples
 * (sum of 1 - p_ij over samples of class j), phi_k the negative gradient emitted by samples of
 * class k (sum of sum_{j != k} p_ij), with p = softmax(F) and each per-sample magnitude divided
 * by the batch size (the batch-mean reduction `fit` applies). Both are stop-gradient constants.
 * Batch t uses the statistics of batches before t; its own are added after its loss.
 *
 * The state is updated only when the loss runs under a gradient tape (`fit`, `fitDataset`,
 * `trainOnBatch`, `tf.grad`), never in `evaluate`, validation or `predict`. A batch whose
 * logits are not all finite leaves the state unchanged. The update is tensor work only: no
 * host-device sync, no per-sample loop, no gather, O(batch x numClasses).
 *
 * **Class weights.** `fit({classWeight})` multiplies each per-sample loss by its class weight
 * after the loss has returned, so the loss never sees the weights: they scale the loss and its
 * gradient, but theta and phi accumulate the unweighted magnitudes (those of weight 1). This is
 * deliberate: GALA's margins are themselves its answer to class imbalance, and the paper uses no
 * class weights; if you combine both, know that the state ignores the weights.
 *
 * **Invalid labels.** A label row that is not a valid class (a sparse index out of range,
 * negative, fractional or NaN; a one-hot row with a negative entry or not summing to 1) adds
 * zero loss, zero gradient and nothing to theta and phi. Such training rows are counted on the
 * device (`getState().invalidRows`) and reported with `console.warn`, read asynchronously every
 * few steps (no sync per step).
 *
 * **As a metric.** The function is named `gala_loss`, so `compile({loss, metrics: [loss]})`
 * keeps tfjs's `loss` and `val_loss` entries (and `earlyStopping({monitor: 'val_loss'})`) and adds
 * `gala_loss` / `val_gala_loss`. The metric call on a training batch returns the loss call's own
 * values, computed before the state update, and the state is updated once.
 *
 * At inference the margins are not applied: use the model's raw logits (optionally with
 * prediction re-balancing).
 *
 * The instance is itself the loss function, so it goes straight into `compile`:
 *
 * ```js
 * import * as tf from '@tensorflow/tfjs';
 * import { galaLoss, galaLossOf } from 'tfjs-gala';
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 10, inputShape: [784] })] });
 * const loss = galaLoss({ numClasses: 10 });
 * model.compile({ optimizer: tf.train.adam(1e-3), loss });
 * await model.fit(xs, ys, { epochs: 5 });   // ys one-hot [N, 10]
 * console.log(await loss.getStateAsync());  // { format: 2, positive: [...], negative: [...], steps, invalidRows }
 * // After tf.loadLayersModel: galaLossOf(restored).getState() (typed; model.loss is a union type).
 * ```
 *
 * Call signature `(yTrue, yPred) => Tensor1D`:
 * - `yTrue`: one-hot `[batch, numClasses]` or sparse class indices `[batch]` / `[batch, 1]`.
 *   Note: `model.fit` / `trainOnBatch` in tfjs-layers 4.22 check targets against the output
 *   shape for every loss but the stock sparse cross-entropy, so pass one-hot labels there;
 *   sparse labels work with `fitDataset`, `tf.grad` and direct calls (with sparse labels, use
 *   `tf.metrics.sparseCategoricalAccuracy`, not `'accuracy'`: the loss warns once).
 * - `yPred`: float32 logits `[batch, numClasses]` (probabilities when `fromLogits` is false).
 * - returns float32 per-sample losses `[batch]`, so `classWeight` keeps working.
 *
 * @throws Error on invalid or unknown arguments (naming the argument, the value and what is
 *   allowed, with a did-you-mean for a misspelt key), on a `yTrue` or `yPred` that is not a
 *   numeric tensor, on a `yPred` that is not `[batch, numClasses]`, on labels of another layout
 *   or batch size, and when called after {@link GalaLoss.dispose}.
 */
export class GalaLoss extends ClassificationLoss {
  static override className = 'tfjs-gala.GalaLoss';

  /** Number of classes C: `yPred` must be `[batch, C]`, and theta and phi have length C. */
  readonly numClasses: number;
  /** Weight of the positive-gradient term lambda1 * log(theta_j + eps) (>= 0; default 1). */
  readonly lambda1: number;
  /** Weight of the negative-gradient term lambda2 * log(phi_k + eps) (>= 0; default 1; no effect in `'reference'`). */
  readonly lambda2: number;
  /** Added to theta and phi inside the logs (> 0; default 1e-3). */
  readonly epsilon: number;
  /** Whether `yPred` is read as logits (true, default) or as probabilities (false). */
  readonly fromLogits: boolean;
  /** `'paper'` (default) or `'reference'`; see {@link GalaVariant}. */
  readonly variant: GalaVariant;

  // theta, phi, (reference only) their single running sums, and the step count.
  private positive!: tf.Variable;
  private negative!: tf.Variable;
  private positiveRunning!: tf.Variable;
  private negativeRunning!: tf.Variable;
  private stepCount!: tf.Variable;

  constructor(args: GalaLossArgs) {
    super();
    const merged = resolveArgs('GalaLoss', args, DEFAULTS, '{numClasses: 10}');
    checkKnownKeys('GalaLoss', merged, ARGUMENTS);
    this.numClasses = checkInteger('GalaLoss: numClasses', merged.numClasses, 2);
    this.lambda1 = checkNumber('GalaLoss: lambda1', merged.lambda1, { min: 0 });
    this.lambda2 = checkNumber('GalaLoss: lambda2', merged.lambda2, { min: 0 });
    this.epsilon = checkNumber('GalaLoss: epsilon', merged.epsilon, { min: 0, exclusiveMin: true });
    this.fromLogits = checkBoolean('GalaLoss: fromLogits', merged.fromLogits);
    this.variant = checkOneOf('GalaLoss: variant', merged.variant, ['paper', 'reference'] as const);
    this.createState();
  }

  private createState(): void {
    const c = this.numClasses;
    // Unnamed, non-trainable: tfjs names are global and optimizers must never touch these.
    // tidy disposes the initial values; the variables keep their own reference.
    tf.tidy(() => {
      this.positive = tf.variable(tf.zeros([c]), false);
      this.negative = tf.variable(tf.zeros([c]), false);
      this.positiveRunning = tf.variable(tf.zeros([c]), false);
      this.negativeRunning = tf.variable(tf.zeros([c]), false);
      this.stepCount = tf.variable(tf.scalar(0), false);
    });
  }

  /** The GALA loss of one batch (see the class docs); accumulates its statistics when training. */
  protected perSampleLosses({ labels, yPred, training }: LossBatch): tf.Tensor1D {
    const logits = predictionsToLogits(yPred, this.fromLogits);

    // The loss is one custom-gradient op: its forward pass (the label checks and the state
    // update in it included) runs without recording to the gradient tape, so none of its
    // intermediates are copied for the backward pass, and the backward pass is the closed form
    // dL/dz = (p - y) * dy, exact because the margins are constants with respect to z.
    const gala = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [z, save] = args as [tf.Tensor, tf.GradSaveFunc];
      // Invalid label rows arrive as all-zero rows: their loss -sum(0 * log p) is 0, the gradient
      // below is multiplied by `valid`, and their rows of the accumulation product are 0.
      const { oneHot, valid } = labels();
      // a_j = lambda1*log(theta_j + eps), b_k = lambda2*log(phi_k + eps), both [C] constants.
      const positiveShift = tf.mul(tf.log(tf.add(this.positive, this.epsilon)), this.lambda1);
      // Adding b_k to every logit of a row with label k changes neither softmax nor the loss
      // (row-shift invariance), so instead of F (paper: F_j = z_j + a_j - b_k for j != k,
      // F_k = z_k; reference: F_j = z_j + a_j - b_k for all j) we evaluate the equivalent
      //   paper:     G = z + a + onehot * (b - a)      (G_j = z_j + a_j, G_k = z_k + b_k)
      //   reference: G = z + a
      // which has the same softmax and loss with 2 (resp. 1) [batch, C] ops instead of 6.
      let adjusted = tf.add(z, positiveShift);
      if (this.variant === 'paper') {
        const negativeShift = tf.mul(tf.log(tf.add(this.negative, this.epsilon)), this.lambda2);
        adjusted = tf.add(adjusted, tf.mul(oneHot, tf.sub(negativeShift, positiveShift)));
      }
      const logProbabilities = tf.logSoftmax(adjusted);
      const losses = tf.neg(tf.sum(tf.mul(oneHot, logProbabilities), 1)) as tf.Tensor1D;
      const probabilities = tf.exp(logProbabilities);
      if (training) this.accumulate(oneHot, z, probabilities, losses);
      save([probabilities, oneHot, valid]);
      return {
        value: losses,
        gradFunc: (dy: tf.Tensor1D, saved: tf.Tensor[]) => {
          const [p, y, rowIsValid] = saved;
          return tf.mul(tf.sub(p, y), tf.expandDims(tf.mul(dy, rowIsValid), 1));
        },
      };
    });
    return gala(logits) as tf.Tensor1D;
  }

  /** `numClasses`. */
  protected expectedNumClasses(): number {
    return this.numClasses;
  }

  /**
   * Adds one batch's statistics. Runs inside the caller's tidy; the new values live in the
   * variables. theta/phi were read above, so the batch's own statistics only affect later batches.
   * `probabilities` = softmax(F) (same as of G above), `losses` = -log p_k per row.
   */
  private accumulate(oneHot: tf.Tensor2D, logits: tf.Tensor, probabilities: tf.Tensor, losses: tf.Tensor1D): void {
    const batchSize = oneHot.shape[0];
    if (batchSize === 0) return;
    const targetProbability = tf.exp(tf.neg(losses)); // p_k = exp(-L), [batch]
    const positivePerSample = tf.sub(1, targetProbability); // |dL/dF_k| = 1 - p_k
    // sum_{j != k} p_j, computed from the probabilities rather than assumed equal to 1 - p_k.
    const negativePerSample = tf.sub(tf.sum(probabilities, 1), targetProbability);
    // Per class c: sum over the rows labelled c, in one [C, batch] x [batch, 2] product,
    // divided by the batch size (the mean reduction of fit). An invalid label row is all zero
    // in `oneHot`, so it adds nothing.
    const perSample = tf.stack([positivePerSample, negativePerSample], 1); // [batch, 2]
    const perClass = tf.div(tf.matMul(oneHot, perSample, true, false), batchSize); // [C, 2]

    // A batch with any non-finite logit contributes nothing, decided on the device (no host
    // sync): a scalar condition broadcast over the [C, 2] deltas. With finite logits every
    // delta is finite (log-softmax of finite values is finite), so no per-entry check is needed.
    const allFinite = tf.all(tf.isFinite(logits));
    // The condition is broadcast by arithmetic, not by where (which tiles a bool tensor, slow on wasm).
    const zeros = tf.zerosLike(perClass);
    const keep = tf.greater(tf.add(zeros, tf.cast(allFinite, 'float32')), 0.5);
    const [positiveDelta, negativeDelta] = tf.unstack(tf.where(keep, perClass, zeros), 1);

    if (this.variant === 'reference') {
      // The authors' released code adds one running matrix into both totals every step.
      this.positiveRunning.assign(tf.add(this.positiveRunning, positiveDelta));
      this.negativeRunning.assign(tf.add(this.negativeRunning, negativeDelta));
      // Running sums are finite (only finite deltas reach them): a 0/1 factor skips a bad batch.
      const finite = tf.cast(allFinite, 'float32');
      this.positive.assign(tf.add(this.positive, tf.mul(this.positiveRunning, finite)));
      this.negative.assign(tf.add(this.negative, tf.mul(this.negativeRunning, finite)));
    } else {
      this.positive.assign(tf.add(this.positive, positiveDelta));
      this.negative.assign(tf.add(this.negative, negativeDelta));
    }
    this.stepCount.assign(tf.add(this.stepCount, tf.cast(allFinite, 'float32')));
  }

  /**
   * Reads the accumulated statistics (theta, phi, steps, invalid label rows) to the host.
   * Synchronous (a host-device sync): do not call per batch in a hot loop, and prefer
   * {@link GalaLoss.getStateAsync} on webgl and webgpu.
   */
  getState(): GalaState {
    this.assertUsable();
    const read = (v: tf.Variable) => Array.from(v.dataSync());
    return galaStateOf(this.variant, read(this.positive), read(this.negative), this.stepCount.dataSync()[0], this.readInvalidRowCount(), () => [
      read(this.positiveRunning),
      read(this.negativeRunning),
    ]);
  }

  /**
   * {@link GalaLoss.getState} without blocking: the same object, read with asynchronous
   * `data()` calls (what webgl and webgpu need; `dataSync` there stalls, and on webgpu can fail).
   */
  async getStateAsync(): Promise<GalaState> {
    this.assertUsable();
    const variables = [this.positive, this.negative, this.stepCount, this.positiveRunning, this.negativeRunning];
    // Copies share the data (nothing is copied) and survive a training step that reassigns the variables meanwhile.
    const snapshots = variables.map((v) => tf.clone(v));
    try {
      const [values, invalidRows] = await Promise.all([Promise.all(snapshots.map((t) => t.data())), this.readInvalidRowCountAsync()]);
      const [positive, negative, steps, positiveRunning, negativeRunning] = values.map((v) => Array.from(v));
      return galaStateOf(this.variant, positive, negative, steps[0], invalidRows, () => [positiveRunning, negativeRunning]);
    } finally {
      tf.dispose(snapshots);
    }
  }

  /**
   * Replaces the accumulated statistics, e.g. to resume training. Arrays may be plain arrays or
   * typed arrays (`Float32Array` ...).
   *
   * - `format` {@link GALA_STATE_FORMAT} (what {@link GalaLoss.getState} writes): taken as it is.
   *   Variant `'reference'` requires `positiveRunning` and `negativeRunning`; variant `'paper'`
   *   refuses them (they mean a state of the other variant).
   * - no `format`: a state written by tfjs-gala 0.1.0. For `'paper'` the layout is the same. For
   *   `'reference'`, 0.1.0 summed phi once, so its `negative` is exactly the running sum of the
   *   negative gradients: it becomes `negativeRunning`, and phi is rebuilt as its double sum, which
   *   equals `positive` (per sample sum_{j != k} p_j = 1 - p_k, so every batch adds the same to
   *   both; equal up to float rounding). Training then goes on with the authors' rule, exactly as
   *   if the state had been accumulated by this version. `positiveRunning` is required.
   *
   * @throws Error, keeping the current state, when `state` is not an object, `format` is neither
   *   absent nor {@link GALA_STATE_FORMAT}, an array is missing, has the wrong length, a negative
   *   or non-finite entry, `steps` or `invalidRows` is not an integer >= 0, or the running sums
   *   do not fit the variant.
   */
  setState(state: GalaState): void {
    this.assertUsable();
    const { positive, negative, positiveRunning, negativeRunning, steps, invalidRows } = readGalaState(state, this.numClasses, this.variant);
    tf.tidy(() => {
      this.positive.assign(tf.tensor1d(positive));
      this.negative.assign(tf.tensor1d(negative));
      this.positiveRunning.assign(tf.tensor1d(positiveRunning));
      this.negativeRunning.assign(tf.tensor1d(negativeRunning));
      this.stepCount.assign(tf.scalar(steps));
    });
    this.setInvalidRowCount(invalidRows);
    this.stateChanged();
  }

  /** Sets theta, phi, their running sums, the step count and the invalid-row count back to zero. */
  resetState(): void {
    this.assertUsable();
    tf.tidy(() => {
      for (const v of [this.positive, this.negative, this.positiveRunning, this.negativeRunning]) v.assign(tf.zeros([this.numClasses]));
      this.stepCount.assign(tf.scalar(0));
    });
    this.setInvalidRowCount(0);
    this.stateChanged();
  }

  /** Invalid label rows add nothing to theta and phi either. */
  protected override ignoredByInvalidRows(): string {
    return 'zero loss, zero gradient and nothing to the accumulated gradient statistics';
  }

  /** Frees the state variables and the invalid-row counter (through `StatefulLoss.dispose`). */
  protected override disposeState(): void {
    super.disposeState();
    for (const v of [this.positive, this.negative, this.positiveRunning, this.negativeRunning, this.stepCount]) v.dispose();
  }

  /** Constructor arguments, all defaults filled in. */
  getConfig(): tf.serialization.ConfigDict {
    return {
      numClasses: this.numClasses,
      lambda1: this.lambda1,
      lambda2: this.lambda2,
      epsilon: this.epsilon,
      fromLogits: this.fromLogits,
      variant: this.variant,
    };
  }
}
registerLoss(GalaLoss);

/**
 * Creates a {@link GalaLoss} (Keras-style function form): `model.compile({loss: galaLoss({numClasses})})`.
 * @throws Error on invalid arguments; see {@link GalaLossArgs}.
 */
export function galaLoss(args: GalaLossArgs): GalaLoss {
  return new GalaLoss(args);
}

/**
 * The {@link GalaLoss} a model was compiled with, typed. tfjs types `model.loss` as a union of
 * strings, functions, arrays and dictionaries, so `restored.loss.getState()` does not type-check;
 * this helper finds the loss and checks it (a plain cast, `model.loss as GalaLoss`, checks
 * nothing).
 *
 * ```ts
 * const restored = await tf.loadLayersModel('indexeddb://gala');
 * const state = galaLossOf(restored).getState();
 * ```
 *
 * @param model a compiled model whose loss is a GalaLoss: the loss itself, or the only GalaLoss
 *   in its per-output array or dictionary.
 * @throws Error when the model is not compiled with exactly one GalaLoss, naming what it has.
 */
export function galaLossOf(model: { readonly loss?: unknown }): GalaLoss {
  const loss = model?.loss;
  const candidates = loss instanceof GalaLoss ? [loss] : Array.isArray(loss) ? loss : loss != null && typeof loss === 'object' ? Object.values(loss) : [loss];
  const found = candidates.filter((entry): entry is GalaLoss => entry instanceof GalaLoss);
  if (found.length !== 1) {
    const got = model == null || typeof model !== 'object' ? describeValue(model) : `loss ${describeLoss(loss)}`;
    throw new Error(
      `galaLossOf: model must be compiled with one GalaLoss (model.compile({loss: galaLoss(...)}), or a model loaded with one); received ${got}.`,
    );
  }
  return found[0];
}

function describeLoss(loss: unknown): string {
  if (typeof loss === 'string') return JSON.stringify(loss);
  if (typeof loss === 'function') return `function ${(loss as { name?: string }).name || '(anonymous)'}`;
  if (Array.isArray(loss)) return `[${loss.map(describeLoss).join(', ')}]`;
  if (loss != null && typeof loss === 'object') return `{${Object.entries(loss).map(([k, v]) => `${k}: ${describeLoss(v)}`).join(', ')}}`;
  return String(loss);
}
