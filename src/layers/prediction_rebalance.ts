import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { checkPositiveClassArray, normalise } from '../core/class_frequencies';
import { checkKnownKeys } from '../core/known_keys';
import { formatShape } from '../core/shapes';
import { checkBoolean, checkOneOf } from '../core/validate';
import {
  DEFAULT_TAU,
  checkPredictionShape,
  checkPredictionValuesAsync,
  checkTau,
  logClassMass,
  rebalanceLogProbabilities,
  toLogProbabilities,
} from './rebalance_math';
import { ARGUMENTS, MODES, type PredictionRebalanceArgs, type RebalanceMode, type TensorDatasetLike } from './prediction_rebalance_args';

export type { PredictionRebalanceArgs, RebalanceMode, TensorDatasetLike } from './prediction_rebalance_args';

const MASS_WEIGHT = 'mass';

/** Layers created without a name so far in this process: default names are `prediction_rebalance_<n>`. */
let defaultNameCount = 0;

/**
 * Prediction re-balancing as a layer (Zhang et al., "Gradient-Aware Logit Adjustment Loss for
 * Long-tailed Classifier", ICASSP 2024, arXiv 2403.09036, prediction re-balancing).
 *
 * Input: logits (`fromLogits: true`, default) or probabilities `[batch, numClasses]`, float.
 * Output: float32 `[batch, numClasses]`, rows summing to 1:
 *
 *     out_ij = (p_ij / m_j^tau) / sum_k (p_ik / m_k^tau)
 *
 * with p the input's probabilities and m_j the probability mass of class j. The argmax of a row
 * is the paper's prediction argmax_j p_ij / m_j^tau; it is computed in log space as
 * softmax(log p - tau * log m) (derivation in `rebalance_math.ts`).
 *
 * **Modes** (required argument `mode`):
 * - `'transductive'` (the paper's): m_j = sum of p_nj over the rows of this call. Exact only when
 *   one call holds the whole evaluation set. **`model.predict` and `model.evaluate` split their
 *   input into batches of 32 by default**, and this layer then re-balances each batch with that
 *   batch's own mass: inside a model, call `model.predict(x, {batchSize: x.shape[0]})`, or take
 *   the model's outputs and call `rebalancePredictions` on all of them. The layer warns
 *   (once per layer, `console.warn`) when it is called a second time within one synchronous run of
 *   JavaScript, which is how `predict`/`evaluate` feed batches (their batch loop is synchronous),
 *   and when a call has fewer rows than classes (one row with tau = 1 gives a uniform output).
 *   Not detectable: batches fed with an `await` between them (a loop of `predictOnBatch`,
 *   `evaluateDataset`), or a single call on part of the set; two separate whole-set calls in one
 *   synchronous run give a false warning.
 * - `'calibrated'`: m is a non-trainable weight `[numClasses]` set by `await layer.adapt(data)`
 *   on a calibration set (Keras preprocessing-layer convention), or given up front as
 *   `classPriors` (then `mode` may be omitted). It is stored normalised to sum 1 (only ratios
 *   matter): after `adapt`, the mean predicted probability of each class over that set. It is
 *   saved and loaded with the model's weights. Each row is then re-balanced on its own, so
 *   batching and single-sample serving give the same result. Adapting on the evaluation set
 *   itself reproduces the transductive result; `classPriors` equal to that set's mass give the
 *   same layer as adapting on it. `adapt` on a layer built with `classPriors` replaces the mass.
 *   Without either (or after loading a model saved with `{trainableOnly: true}`, which drops the
 *   mass, through `tf.loadLayersModel(h, {strict: false})`, unless `classPriors` were given), a
 *   call throws: there is no silent identity fallback.
 *
 * `numClasses` is the input's last dimension, fixed when the layer is built (first call, first
 * symbolic `apply`, or `adapt`), or by the length of `classPriors`.
 *
 * @throws Error, naming the argument, the value received and what is allowed:
 *   - constructor: `mode` not `'transductive'`/`'calibrated'` (or missing without
 *     `classPriors`); `tau` not a finite number > 0; `fromLogits` not a boolean; `classPriors`
 *     not an array of at least 2 finite numbers > 0, or given with mode `'transductive'`;
 *   - build/call: input not rank 2, last dimension unknown, or not equal to the `numClasses` the
 *     layer was built or adapted with (or the length of `classPriors`);
 *   - call in mode `'calibrated'` before `adapt` and without `classPriors` (mass not set, or not
 *     positive and finite);
 *   - `adapt`: in mode `'transductive'`; no rows; a class whose mass over the data is 0
 *     (the division by m_j is undefined); invalid values (NaN, negative probabilities).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { predictionRebalance } from 'tfjs-gala';
 *
 * // A classifier whose output is logits [batch, 3] (trained on long-tailed data; untrained here).
 * const base = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4] })] });
 *
 * // 'calibrated': learn the class mass once on held-out data, then serve any batch size.
 * const rebalance = predictionRebalance({ mode: 'calibrated', tau: 1 });
 * await rebalance.adapt(base.predict(tf.randomNormal([200, 4])) as tf.Tensor);
 * const serving = tf.sequential({ layers: [base, rebalance] });
 * (serving.predict(tf.randomNormal([1, 4])) as tf.Tensor).print(); // [1, 3], the row sums to 1
 * await serving.save('indexeddb://serving'); // the mass is saved with the weights
 *
 * // Known class mass instead of adapt: a calibrated layer straight away.
 * const known = predictionRebalance({ classPriors: [0.6, 0.3, 0.1] }); // mode 'calibrated'
 * (known.apply(base.predict(tf.randomNormal([1, 4])) as tf.Tensor) as tf.Tensor).print();
 *
 * // 'transductive' (the paper's): the whole evaluation set in one call.
 * const testLogits = base.predict(tf.randomNormal([1000, 4])) as tf.Tensor;
 * const out = predictionRebalance({ mode: 'transductive' }).apply(testLogits) as tf.Tensor; // [1000, 3]
 * ```
 */
export class PredictionRebalance extends tfl.layers.Layer {
  /**
   * Serialization name, registered with `tf.serialization` when the package is imported. It is
   * package-qualified, so tfjs's "Unknown layer" message names tfjs-gala. Layers created without
   * a `name` are named `prediction_rebalance_1`, `prediction_rebalance_2`, ... (as in Keras).
   */
  static className = 'tfjs-gala.PredictionRebalance';

  /** `'transductive'` or `'calibrated'`; see {@link RebalanceMode}. */
  readonly mode: RebalanceMode;
  /** Exponent of the class mass (finite, > 0; default 1). */
  readonly tau: number;
  /** Whether the input (and `adapt` data) is read as logits (true, default) or probabilities (false). */
  readonly fromLogits: boolean;
  /** The known class mass given to the constructor (a copy, as given), or null (default). */
  readonly classPriors: readonly number[] | null;
  private builtNumClasses: number | null = null;
  private mass: tfl.LayerVariable | null = null;
  /** `dataId` of the mass value last checked positive and finite (changes on every write). */
  private checkedMassData: unknown = null;
  /** True while `adapt` builds the layer through `apply` (see `buildForAdapt`). */
  private buildingOnly = false;
  private callsThisRun = 0;
  private warnedSplitCall = false;
  private warnedSmallCall = false;

  /** Number of classes (the input's last dimension); null until the layer is built, unless `classPriors` were given. */
  get numClasses(): number | null {
    return this.builtNumClasses ?? this.classPriors?.length ?? null;
  }

  constructor(args: PredictionRebalanceArgs) {
    const where = 'PredictionRebalance';
    args ??= {};
    if (typeof args !== 'object' || Array.isArray(args)) {
      throw new Error(`${where}: args must be an object like {mode: 'calibrated'}; received ${describeValue(args)}.`);
    }
    checkKnownKeys(where, Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined)), ARGUMENTS);
    // tfjs would derive the default name from the qualified className
    // ('tfjs-gala._prediction_rebalance_tfjs-gala.PredictionRebalance1'); Keras's form reads better.
    super({ ...args, name: args.name ?? `prediction_rebalance_${++defaultNameCount}` });
    const classPriors = args.classPriors ?? null;
    this.mode = checkOneOf(`${where}: mode`, args.mode ?? (classPriors === null ? undefined : 'calibrated'), MODES);
    this.tau = checkTau(args.tau ?? DEFAULT_TAU, `${where}: tau`);
    this.fromLogits = checkBoolean(`${where}: fromLogits`, args.fromLogits ?? true);
    if (classPriors !== null && this.mode !== 'calibrated') {
      throw new Error(
        `${where}: classPriors must be null in mode '${this.mode}', which takes the mass from the rows of each call; ` +
          `received ${describeValue(classPriors)}. Use mode 'calibrated' for a known class mass.`,
      );
    }
    this.classPriors = classPriors === null ? null : checkPositiveClassArray(`${where}: classPriors`, classPriors);
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = this.singleShape(inputShape);
    const numClasses = shape[1];
    if (numClasses == null) {
      throw new Error(
        `${this.describe()}: the input's last dimension (numClasses) must be known when the layer is built; received shape ${formatShape(shape)}.`,
      );
    }
    this.builtNumClasses = numClasses;
    if (this.mode === 'calibrated') {
      this.mass = this.addWeight(MASS_WEIGHT, [numClasses], 'float32', tfl.initializers.zeros(), undefined, false);
      const priors = this.classPriors;
      if (priors !== null) {
        // The same normalisation adapt() applies (it stores mean probabilities, summing to 1).
        const normalised = Float32Array.from(normalise(priors));
        tf.tidy(() => {
          this.mass!.write(tf.tensor1d(normalised, 'float32'));
        });
        this.noteMassChecked(normalised);
      }
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return this.singleShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? this.singleTensor(inputs) : inputs;
    this.singleShape(x.shape);
    if (this.buildingOnly) return x;
    if (this.mode === 'calibrated') this.assertAdapted();
    else this.noteTransductiveCall(x.shape[0]);
    return tf.tidy(() => {
      const logP = toLogProbabilities(x, this.fromLogits);
      const logMass = this.mode === 'calibrated' ? tf.log(this.mass!.read()) : logClassMass(logP);
      return rebalanceLogProbabilities(logP, logMass as tf.Tensor1D, this.tau);
    });
  }

  /**
   * Learns the class mass of mode `'calibrated'`: the mean predicted probability of each class
   * over `data`, written into the layer's non-trainable weight (it sums to 1). Builds the layer
   * from the data's shape if it is not built yet.
   *
   * @param data the layer's input on a calibration set: a tensor `[N, numClasses]`, or a
   *   `tf.data.Dataset` (anything with `iterator()`) of `[batch, numClasses]` tensors, read the
   *   same way as the layer's input (`fromLogits`). Dataset elements are disposed after use, as
   *   `fitDataset` does; a tensor argument is left to the caller.
   *
   * Reads values back only asynchronously (`await data()`), so it works on every backend,
   * tfjs's webgpu backend in Node included. The layer's calls then do not read the mass back
   * either; only the first call after the mass was set another way (loaded weights,
   * `setWeights`) checks it with a synchronous read.
   * @throws Error in mode `'transductive'`; when data holds no rows, has the wrong rank or last
   *   dimension, holds invalid values, or gives some class a total mass of 0.
   */
  async adapt(data: tf.Tensor | TensorDatasetLike): Promise<void> {
    if (this.mode !== 'calibrated') {
      throw new Error(
        `${this.describe()}: mode must be 'calibrated' to adapt(); received mode '${this.mode}', which takes the mass from the rows of each call.`,
      );
    }
    let totals: Float64Array | null = null;
    let rows = 0;
    const add = async (batch: tf.Tensor, what: string): Promise<void> => {
      if (!(batch instanceof tf.Tensor)) {
        throw new Error(`${this.describe()}: ${what} must be a tf.Tensor [batch, numClasses]; received ${describeValue(batch)}.`);
      }
      checkPredictionShape(batch.shape, `${this.describe()}: ${what}`);
      const [batchRows, numClasses] = batch.shape as number[];
      this.singleShape(batch.shape, what);
      this.buildForAdapt(numClasses, what);
      if (batchRows === 0) return;
      await checkPredictionValuesAsync(batch as tf.Tensor2D, this.fromLogits, `${this.describe()}: ${what}`);
      const columnSums = tf.tidy(() => tf.sum(tf.exp(toLogProbabilities(batch, this.fromLogits)), 0));
      let values: ArrayLike<number>;
      try {
        values = await columnSums.data();
      } finally {
        columnSums.dispose();
      }
      totals ??= new Float64Array(values.length);
      for (let j = 0; j < values.length; j++) totals[j] += values[j];
      rows += batchRows;
    };

    if (data instanceof tf.Tensor) {
      await add(data, 'adapt(data)');
    } else if (data != null && typeof (data as TensorDatasetLike).iterator === 'function') {
      const iterator = await data.iterator();
      for (let index = 0; ; index++) {
        const { value, done } = await iterator.next();
        if (done) break;
        try {
          await add(value, `adapt(data) element ${index}`);
        } finally {
          tf.dispose(value);
        }
      }
    } else {
      throw new Error(
        `${this.describe()}: adapt(data) must be a tf.Tensor [N, numClasses] or a tf.data.Dataset of such tensors; received ${describeValue(data)}.`,
      );
    }

    const sums = totals as Float64Array | null;
    if (sums === null || rows === 0) {
      throw new Error(`${this.describe()}: adapt(data) must hold at least one [N, numClasses] row; received 0 rows.`);
    }
    const zeroClasses: number[] = [];
    for (let j = 0; j < sums.length; j++) if (!(sums[j] > 0)) zeroClasses.push(j);
    if (zeroClasses.length > 0) {
      throw new Error(
        `${this.describe()}: adapt(data) must give every class a total probability mass > 0, since the re-balancing ` +
          `divides by it; received mass 0 over ${rows} rows for classes [${zeroClasses.join(', ')}]. Use a calibration ` +
          `set on which the model gives every class some probability.`,
      );
    }
    const mean = Array.from(sums, (s) => s / rows);
    const value = tf.tensor1d(mean, 'float32');
    this.mass!.write(value);
    value.dispose();
    this.noteMassChecked(Float32Array.from(mean));
  }

  override getConfig(): tf.serialization.ConfigDict {
    const classPriors = this.classPriors === null ? null : this.classPriors.slice();
    return { mode: this.mode, tau: this.tau, fromLogits: this.fromLogits, classPriors, ...super.getConfig() };
  }

  /** Builds the weight through `apply` so it gets the layer's name scope (`<name>/mass`), as a first call would. */
  private buildForAdapt(numClasses: number, what: string): void {
    if (this.built) return;
    if (numClasses === 0) {
      throw new Error(`${this.describe()}: ${what} must have at least one class; received 0 columns.`);
    }
    this.buildingOnly = true;
    try {
      tf.tidy(() => {
        this.apply(tf.zeros([1, numClasses]));
      });
    } finally {
      this.buildingOnly = false;
    }
  }

  /**
   * Records that the mass just written (`values`, as float32) is valid, so that calls do not read
   * it back (`dataSync`): after `adapt` or `classPriors`, a calibrated layer serves on backends
   * without synchronous reads (tfjs's webgpu backend in Node). Values that are not all finite and
   * > 0 in float32 are left for {@link assertAdapted} to report.
   */
  private noteMassChecked(values: Float32Array): void {
    if (values.every((m) => Number.isFinite(m) && m > 0)) this.checkedMassData = this.mass!.read().dataId;
  }

  private assertAdapted(): void {
    const value = this.mass!.read();
    if (this.checkedMassData === value.dataId) return;
    const mass = value.dataSync();
    if (!mass.every((m) => Number.isFinite(m) && m > 0)) {
      const shown = Array.from(mass.slice(0, 10)).join(', ') + (mass.length > 10 ? ', …' : '');
      throw new Error(
        `${this.describe()}: class mass must be finite and > 0 (the layer is not adapted); received [${shown}]. ` +
          `Call \`await layer.adapt(data)\` on a calibration set before predicting, pass classPriors, or load weights ` +
          `saved from an adapted layer (save(..., {trainableOnly: true}) does not save the mass).`,
      );
    }
    this.checkedMassData = value.dataId;
  }

  private noteTransductiveCall(rows: number): void {
    // predict()/evaluate() run their batch loop synchronously: a second call before the
    // microtask queue drains means the set is being fed in parts.
    if (this.callsThisRun === 0) {
      queueMicrotask(() => {
        this.callsThisRun = 0;
      });
    }
    this.callsThisRun++;
    const numClasses = this.numClasses!;
    if (this.callsThisRun === 2 && !this.warnedSplitCall) {
      this.warnedSplitCall = true;
      console.warn(
        `${this.describe()}: called again within one synchronous run, as model.predict()/evaluate() do when their input ` +
          `has more rows than batchSize (default 32). Each call is re-balanced with the mass of its own rows, not of the ` +
          `whole set. Use model.predict(x, {batchSize: <number of rows>}), rebalancePredictions() on all outputs, or mode ` +
          `'calibrated' with adapt(). (Two separate whole-set calls in a row also trigger this warning.)`,
      );
    }
    if (rows < numClasses && !this.warnedSmallCall) {
      this.warnedSmallCall = true;
      console.warn(
        `${this.describe()}: a call with ${rows} rows for ${numClasses} classes. The class mass is taken over the rows ` +
          `of each call, so it should hold the whole evaluation set (one row with tau = 1 gives every class the same ` +
          `probability). For single samples use mode 'calibrated' with adapt().`,
      );
    }
  }

  /** Validates a single `[batch, numClasses]` shape against the built `numClasses`. */
  private singleShape(inputShape: tfl.Shape | tfl.Shape[] | number[], what = 'input'): tfl.Shape {
    if (inputShape.length > 0 && Array.isArray(inputShape[0])) {
      const shapes = inputShape as tfl.Shape[];
      if (shapes.length !== 1) {
        throw new Error(`${this.describe()}: inputs must be one tensor [batch, numClasses]; received ${shapes.length} inputs.`);
      }
      return this.singleShape(shapes[0], what);
    }
    const shape = inputShape as tfl.Shape;
    checkPredictionShape(shape, `${this.describe()}: ${what}`);
    if (this.numClasses !== null && shape[1] !== this.numClasses) {
      const source =
        this.mode !== 'calibrated'
          ? 'the size it was built with'
          : this.builtNumClasses === null
            ? 'the length of classPriors'
            : 'the size of its class mass';
      throw new Error(
        `${this.describe()}: ${what} last dimension must equal numClasses = ${this.numClasses} (${source}); ` +
          `received shape ${formatShape(shape)}.`,
      );
    }
    return shape;
  }

  private singleTensor(inputs: tf.Tensor[]): tf.Tensor {
    if (inputs.length !== 1) {
      throw new Error(`${this.describe()}: inputs must be one tensor [batch, numClasses]; received ${inputs.length} inputs.`);
    }
    return inputs[0];
  }

  private describe(): string {
    return `PredictionRebalance '${this.name}' (mode '${this.mode}')`;
  }
}
tf.serialization.registerClass(PredictionRebalance);

/**
 * Creates a {@link PredictionRebalance} layer (factory in the style of `tf.layers.dense`).
 * @example
 * ```ts
 * const layer = predictionRebalance({ mode: 'calibrated', tau: 1.5 });
 * ```
 */
export function predictionRebalance(args: PredictionRebalanceArgs): PredictionRebalance {
  return new PredictionRebalance(args);
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return `[${value.slice(0, 12).map(String).join(', ')}${value.length > 12 ? ', …' : ''}]`;
  if (typeof value === 'object') return `an object with keys [${Object.keys(value as object).slice(0, 8).join(', ')}]`;
  return `${typeof value} ${String(value)}`;
}
