import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

import { describeValue, labelLayout, oneHotView } from '../../core/labels';
import { predictionsToLogits } from '../../core/logits';
import { checkKnownKeys } from '../../core/known_keys';
import { argumentName, MONITOR } from './errors';
import { classVectorSimilaritySums, gradientMatrix, statisticsFromMatrix, toRows, type GradientStatistics } from './gradient_statistics';
import { compiledLoss, denseLogits, type ClassifierHead } from './model_head';

/**
 * The probe set: a fixed labelled set the monitor measures at each epoch end (dL/dz with
 * `source: 'probe'`; the class vector / feature similarity in either mode).
 */

/** A labelled probe set: inputs as for `model.predict`, labels as for `model.fit`. */
export interface ProbeSet {
  /** Model inputs `[N, ...inputShape]` (an array for a multi-input model). Not disposed by the monitor. */
  readonly xs: tf.Tensor | tf.Tensor[];
  /**
   * Labels `[N, numClasses]` one-hot or `[N]` / `[N, 1]` class indices, in the layout the
   * compiled loss expects (sparse for 'sparseCategoricalCrossentropy'). Handed to the loss as
   * `fit` does (`[N]` becomes `[N, 1]`), cast to float32. Not disposed by the monitor.
   */
  readonly ys: tf.Tensor;
}

/** What one probe run measured; null parts were not asked for or not measurable. */
export interface ProbeMeasurement {
  /** dL/dz statistics of the probe; null unless gradients were asked for. */
  readonly statistics: GradientStatistics | null;
  /** Mean class vector / feature cosine similarity per class (null entries: no sample); null without a final Dense. */
  readonly similarity: (number | null)[] | null;
}

/**
 * Checks that `probe` is `{xs, ys}` holding live tensors (of the tfjs instance this package uses).
 * @throws Error naming the part at fault (`probe`, `probe.xs`, `probe.xs[1]`, `probe.ys`) and
 *   what was received, e.g. `GradientMonitor: probe.ys must be a tf.Tensor ...; received an
 *   array of length 4.`
 */
export function checkProbeTypes(probe: ProbeSet): ProbeSet {
  if (probe == null || typeof probe !== 'object' || Array.isArray(probe) || probe instanceof tf.Tensor) {
    throw new Error(`${MONITOR}: probe must be {xs: Tensor | Tensor[], ys: Tensor}; received ${describeValue(probe)}.`);
  }
  checkKnownKeys(MONITOR + ': probe', probe, ['xs', 'ys']);
  const { xs, ys } = probe as Partial<ProbeSet>;
  const inputs = Array.isArray(xs) ? xs : [xs];
  if (Array.isArray(xs) && (xs.length === 0 || !xs.every((x) => x instanceof tf.Tensor))) {
    // An array that is not a list of tensors is most often data as nested arrays.
    const bad = xs.findIndex((x) => !(x instanceof tf.Tensor));
    throw new Error(
      `${MONITOR}: probe.xs must be a tf.Tensor, or an array of tf.Tensors (one per model input; convert arrays with tf.tensor()); ` +
        `received ${xs.length === 0 ? 'an empty array' : `an array whose entry ${bad} is ${describeValue(xs[bad])}`}.`,
    );
  }
  if (!(inputs[0] instanceof tf.Tensor)) {
    throw new Error(`${MONITOR}: probe.xs must be a tf.Tensor (convert arrays with tf.tensor()); received ${describeValue(xs)}.`);
  }
  if (!(ys instanceof tf.Tensor)) {
    throw new Error(`${MONITOR}: probe.ys must be a tf.Tensor (convert arrays with tf.tensor()); received ${describeValue(ys)}.`);
  }
  return { xs, ys } as ProbeSet;
}

/**
 * Probe shapes against the model: inputs, batch sizes, label layout; and not disposed.
 * @throws Error naming the probe tensor at fault, its shape and the shape allowed.
 */
export function checkProbeShapes(probe: ProbeSet, head: ClassifierHead): void {
  const inputs = Array.isArray(probe.xs) ? probe.xs : [probe.xs];
  const expected = head.compiled.inputs;
  if ([...inputs, probe.ys].some((t) => t.isDisposed)) {
    throw new Error(`${MONITOR}: probe tensors must be live (the monitor does not own them); received a disposed tensor.`);
  }
  if (inputs.length !== expected.length) {
    throw new Error(`${MONITOR}: probe.xs must hold ${expected.length} input tensor(s), one per model input; received ${inputs.length}.`);
  }
  const n = inputs[0].shape[0];
  inputs.forEach((x, i) => {
    const want = expected[i].shape;
    const fits = x.rank === want.length && want.every((d, axis) => d == null || d === x.shape[axis]);
    if (!fits) {
      const name = inputs.length === 1 ? 'probe.xs' : `probe.xs[${i}]`;
      throw new Error(
        `${MONITOR}: ${name} must have shape [${want.map((d) => (d == null ? 'N' : d)).join(', ')}] (the model input); ` +
          `received [${x.shape.join(', ')}].`,
      );
    }
  });
  if (inputs.some((x) => x.shape[0] !== n) || probe.ys.shape[0] !== n || n === 0) {
    throw new Error(
      `${MONITOR}: probe.xs and probe.ys must hold the same number N >= 1 of samples; ` +
        `received xs [${inputs.map((x) => x.shape[0]).join(', ')}] and ys ${probe.ys.shape[0]}.`,
    );
  }
  labelLayout(probe.ys, head.numClasses, argumentName('probe.ys')); // throws on another layout; makes no tensor
}

/**
 * Runs the probe: the class vector / feature similarity when `features` (the model up to the
 * final Dense's input) is given, and, when `withGradients`, dL/dz of a safe copy of the compiled
 * loss ({@link probeLoss}). The logits z are the final Dense's linear part on its input features,
 * or log p when the head has no Dense; dL/dz is `tf.grad` of `mean(loss(ys, softmax(z))) * N`,
 * the per-sample gradient for any loss that returns per-sample values. Inference mode (no
 * dropout); class weights are not applied. One host read at the end.
 *
 * @param batchSize batch size of the forward pass, which bounds its peak memory.
 */
export async function measureProbe(
  probe: ProbeSet,
  head: ClassifierHead,
  features: tfl.LayersModel | null,
  batchSize: number,
  withGradients: boolean,
): Promise<ProbeMeasurement> {
  const c = head.numClasses;
  const loss = withGradients ? await probeLoss(head.compiled) : null;
  try {
    const tensors = tf.tidy(() => {
      const oneHot = oneHotView(probe.ys, c, argumentName('probe.ys')); // may be probe.ys: never disposed here
      const out: { samples: tf.Tensor; similarity?: tf.Tensor; matrix?: tf.Tensor } = { samples: tf.sum(oneHot, 0) };
      let logits: tf.Tensor2D | null = null;
      if (features != null) {
        const penultimate = features.predict(probe.xs, { batchSize }) as tf.Tensor2D;
        out.similarity = classVectorSimilaritySums(penultimate, head.dense!.getWeights()[0] as tf.Tensor2D, oneHot);
        if (loss != null) logits = denseLogits(head.dense!, penultimate);
      } else if (loss != null) {
        const outputs = head.compiled.predict(probe.xs, { batchSize }) as tf.Tensor2D;
        // softmax(log p) = p: the softmax Jacobian, and so dL/dz, depends on p only.
        logits = predictionsToLogits(outputs, !head.outputsProbabilities);
      }
      if (loss != null && logits != null) {
        const n = logits.shape[0];
        const labels = lossLabels(probe.ys);
        // mean then * N, as fit reduces a batch: per-sample dL_i/dz_i for any per-sample loss.
        const objective = (z: tf.Tensor) => tf.mul(tf.mean(loss.fn(labels, head.outputsProbabilities ? tf.softmax(z) : z)), n);
        out.matrix = gradientMatrix(tf.grad(objective)(logits) as tf.Tensor2D, oneHot);
      }
      return out;
    });
    const [samples, similaritySums, matrix] = await Promise.all([tensors.samples.data(), tensors.similarity?.data(), tensors.matrix?.data()]);
    tf.dispose([tensors.samples, tensors.similarity, tensors.matrix].filter((t): t is tf.Tensor => t != null));
    const counts = Array.from(samples);
    return {
      statistics: matrix == null ? null : statisticsFromMatrix(toRows(matrix, c), counts),
      similarity: similaritySums == null ? null : counts.map((n, j) => (n > 0 ? similaritySums[j] / n : null)),
    };
  } finally {
    loss?.dispose();
  }
}

/**
 * Labels as `fit` hands them to the loss: rank 1 becomes `[N, 1]`. Cast to float32, because
 * tfjs's 'sparseCategoricalCrossentropy' rejects int32 labels (its `floor` needs float32).
 */
function lossLabels(ys: tf.Tensor): tf.Tensor {
  const labels = tf.cast(ys, 'float32');
  return ys.rank === 1 ? tf.expandDims(labels, 1) : labels;
}

/** A loss function the monitor may call under its own gradient tape. */
export interface ProbeLoss {
  readonly fn: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;
  /** Frees a private copy (no-op when the compiled loss itself is used). */
  dispose(): void;
}

interface StatefulLoss {
  (yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor;
  getConfig(): tf.serialization.ConfigDict;
  getState(): unknown;
  getStateAsync?: () => Promise<unknown>;
  setState(state: unknown): void;
  dispose?: () => void;
}

function isStateful(loss: unknown): loss is StatefulLoss {
  if (typeof loss !== 'function') return false;
  const l = loss as unknown as Partial<Record<'getConfig' | 'getState' | 'setState', unknown>>;
  return typeof l.getConfig === 'function' && typeof l.getState === 'function' && typeof l.setState === 'function';
}

/**
 * The compiled loss, safe to run under a gradient tape outside training. A stateful loss (one
 * with `getConfig`/`getState`/`setState`, like GalaLoss) updates its state whenever it runs
 * under a tape, so a private copy with the same config and state is used instead: the original
 * is never called. Stateless losses (strings, plain functions) are used as they are. The state
 * is read with `getStateAsync()` when the loss has it (no synchronous read: works on tfjs's
 * webgpu backend in Node), else with `getState()`.
 * @throws Error when the model is not compiled with a loss.
 */
export async function probeLoss(compiled: tfl.LayersModel): Promise<ProbeLoss> {
  const loss = compiledLoss(compiled);
  if (!isStateful(loss)) return { fn: loss, dispose: () => undefined };
  const state = typeof loss.getStateAsync === 'function' ? await loss.getStateAsync() : loss.getState();
  const Ctor = loss.constructor as new (config: tf.serialization.ConfigDict) => StatefulLoss;
  const copy = new Ctor(loss.getConfig());
  copy.setState(state);
  return { fn: copy, dispose: () => copy.dispose?.() };
}
