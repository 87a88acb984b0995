import * as tf from '@tensorflow/tfjs-core';

import { registerLoss } from './register_loss';
import { StatefulLoss } from './stateful_loss';
import { toOneHot } from '../core/labels';
import { resolveArgs } from '../core/args';
import { predictionsToLogits } from '../core/logits';
import { checkLossInputs } from './softmax_cross_entropy';
import { checkBoolean, checkInteger, checkNumber, checkNumberArray, checkOneOf } from '../core/validate';

/**
 * Which computation {@link GalaLoss} performs.
 * - `'paper'`: the formula of the paper (Zhang et al., ICASSP 2024, Eq. for F): non-target logits
 *   shifted by `lambda1*log(theta_j) - lambda2*log(phi_k)`, target logit untouched.
 * - `'reference'`: what the authors' released code computes: every logit, the target
 *   included, is shifted, so the phi term is a per-row constant and `lambda2` has no effect; and
 *   theta is accumulated twice (theta(T) = sum_s (T - s + 1) g(s)). Use it to reproduce their numbers.
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

/**
 * Accumulated gradient statistics of a {@link GalaLoss}, as plain numbers (JSON-safe).
 * Units: sums of per-sample logit-gradient magnitudes, each divided by its batch size.
 */
export interface GalaState {
  /** theta_j, accumulated positive gradient of each class, length numClasses. */
  positive: number[];
  /** phi_k, accumulated negative gradient emitted by the samples of each class, length numClasses. */
  negative: number[];
  /** Number of training steps (batches) whose statistics were accumulated. */
  steps: number;
  /**
   * `'reference'` variant only: the single running sum of positive gradients that is added
   * into `positive` every step. Needed to resume exactly.
   */
  positiveRunning?: number[];
}

const DEFAULTS = { lambda1: 1, lambda2: 1, epsilon: 1e-3, fromLogits: true, variant: 'paper' as GalaVariant };

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
 * At inference the margins are not applied: use the model's raw logits (optionally with
 * prediction re-balancing).
 *
 * The instance is itself the loss function, so it goes straight into `compile`:
 *
 * ```js
 * import * as tf from '@tensorflow/tfjs';
 * import { galaLoss } from 'tfjs-gala';
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 10, inputShape: [784] })] });
 * const loss = galaLoss({ numClasses: 10 });
 * model.compile({ optimizer: tf.train.adam(1e-3), loss });
 * await model.fit(xs, ys, { epochs: 5 });   // ys one-hot [N, 10]
 * console.log(loss.getState());             // { positive: [...], negative: [...], steps }
 * ```
 *
 * Call signature `(yTrue, yPred) => Tensor1D`:
 * - `yTrue`: one-hot `[batch, numClasses]` or sparse class indices `[batch]` / `[batch, 1]`.
 *   Note: `model.fit` / `trainOnBatch` in tfjs-layers 4.22 check targets against the output
 *   shape for every loss but the stock sparse cross-entropy, so pass one-hot labels there;
 *   sparse labels work with `fitDataset`, `tf.grad` and direct calls.
 * - `yPred`: float32 logits `[batch, numClasses]` (probabilities when `fromLogits` is false).
 * - returns float32 per-sample losses `[batch]`, so `classWeight` keeps working.
 *
 * @throws Error on invalid arguments (naming the argument, the value and what is allowed), on a
 *   `yPred` that is not `[batch, numClasses]`, on labels of another layout or batch size, and
 *   when called after {@link GalaLoss.dispose}.
 */
export class GalaLoss extends StatefulLoss {
  static override className = 'GalaLoss';

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

  // theta, phi, (reference only) the single running sum of theta, and the step count.
  private positive!: tf.Variable;
  private negative!: tf.Variable;
  private positiveRunning!: tf.Variable;
  private stepCount!: tf.Variable;
  // The tape and yPred of the last accumulated batch: a loss also listed as a metric runs
  // twice on the same output tensor under the same tape and must update once.
  private lastUpdate: { tape: unknown; predictionId: number } | null = null;

  constructor(args: GalaLossArgs) {
    super();
    const merged = resolveArgs('GalaLoss', args, DEFAULTS, '{numClasses: 10}');
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
      this.stepCount = tf.variable(tf.scalar(0), false);
    });
  }

  /** See the class docs. Returns per-sample losses `[batch]`. */
  compute(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor1D {
    this.assertUsable();
    const c = this.numClasses;
    checkLossInputs('GalaLoss', yTrue, yPred, c);
    const engineState = tf.engine().state;
    const tape: unknown = engineState.activeTape;
    const update =
      engineState.gradientDepth > 0 && !(this.lastUpdate && this.lastUpdate.tape === tape && this.lastUpdate.predictionId === yPred.id);
    if (update) this.lastUpdate = { tape, predictionId: yPred.id };

    return tf.tidy(() => {
      const oneHot = toOneHot(yTrue, c, 'GalaLoss: yTrue');
      const logits = predictionsToLogits(yPred, this.fromLogits);

      // The loss is one custom-gradient op: its forward pass (and the state update in it) runs
      // without recording to the gradient tape, so none of its intermediates are copied for the
      // backward pass, and the backward pass is the closed form dL/dz = (p - y) * dy, exact
      // because the margins are constants with respect to z.
      const gala = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
        const [z, save] = args as [tf.Tensor, tf.GradSaveFunc];
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
        if (update) this.accumulate(oneHot, z, probabilities, losses);
        save([probabilities, oneHot]);
        return {
          value: losses,
          gradFunc: (dy: tf.Tensor1D, saved: tf.Tensor[]) => {
            const [p, y] = saved;
            return tf.mul(tf.sub(p, y), tf.expandDims(dy, 1));
          },
        };
      });
      return gala(logits) as tf.Tensor1D;
    });
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
    // divided by the batch size (the mean reduction of fit).
    const perSample = tf.stack([positivePerSample, negativePerSample], 1); // [batch, 2]
    const perClass = tf.div(tf.matMul(oneHot, perSample, true, false), batchSize); // [C, 2]

    // A batch with any non-finite logit contributes nothing, decided on the device (no host
    // sync): a scalar condition broadcast over the [C, 2] deltas. With finite logits every
    // delta is finite (log-softmax of finite values is finite), so no per-entry check is needed.
    const allFinite = tf.all(tf.isFinite(logits));
    const [positiveDelta, negativeDelta] = tf.unstack(tf.where(allFinite, perClass, 0), 1);

    if (this.variant === 'reference') {
      // The authors' released code adds the running sum into theta every step.
      this.positiveRunning.assign(tf.add(this.positiveRunning, positiveDelta));
      this.positive.assign(tf.add(this.positive, tf.where(allFinite, this.positiveRunning, 0)));
    } else {
      this.positive.assign(tf.add(this.positive, positiveDelta));
    }
    this.negative.assign(tf.add(this.negative, negativeDelta));
    this.stepCount.assign(tf.add(this.stepCount, tf.cast(allFinite, 'float32')));
  }

  /**
   * Reads the accumulated statistics (theta, phi, steps) to the host. Synchronous: do not call
   * per batch in a hot loop.
   */
  getState(): GalaState {
    this.assertUsable();
    const state: GalaState = {
      positive: Array.from(this.positive.dataSync()),
      negative: Array.from(this.negative.dataSync()),
      steps: Math.round(this.stepCount.dataSync()[0]),
    };
    if (this.variant === 'reference') state.positiveRunning = Array.from(this.positiveRunning.dataSync());
    return state;
  }

  /**
   * Replaces the accumulated statistics, e.g. to resume training.
   * @throws Error when a field has the wrong length, a negative or non-finite entry, or `steps`
   *   is not a non-negative integer; the current state is kept.
   */
  setState(state: GalaState): void {
    this.assertUsable();
    if (state == null || typeof state !== 'object') {
      throw new Error(`GalaLoss.setState: state must be an object {positive, negative, steps}; received ${String(state)}.`);
    }
    const c = this.numClasses;
    const where = 'GalaLoss.setState';
    const positive = checkNumberArray(`${where}: state.positive`, state.positive, c, 0);
    const negative = checkNumberArray(`${where}: state.negative`, state.negative, c, 0);
    const steps = checkInteger(`${where}: state.steps`, state.steps, 0);
    const running =
      state.positiveRunning === undefined
        ? new Array<number>(c).fill(0)
        : checkNumberArray(`${where}: state.positiveRunning`, state.positiveRunning, c, 0);
    tf.tidy(() => {
      this.positive.assign(tf.tensor1d(positive));
      this.negative.assign(tf.tensor1d(negative));
      this.positiveRunning.assign(tf.tensor1d(running));
      this.stepCount.assign(tf.scalar(steps));
    });
  }

  /** Sets theta, phi and the step count back to zero. */
  resetState(): void {
    this.assertUsable();
    tf.tidy(() => {
      for (const v of [this.positive, this.negative, this.positiveRunning]) v.assign(tf.zeros([this.numClasses]));
      this.stepCount.assign(tf.scalar(0));
    });
    this.lastUpdate = null;
  }

  /** Frees the state variables (through {@link StatefulLoss.dispose}). */
  protected disposeState(): void {
    for (const v of [this.positive, this.negative, this.positiveRunning, this.stepCount]) v.dispose();
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
