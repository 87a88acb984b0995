import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import { toOneHot } from '../core/labels';
import { predictionsToLogits } from '../core/logits';
import { checkBoolean, checkInteger, checkNumberArray, checkOneOf } from '../core/validate';
import {
  addStatistics,
  classVectorSimilaritySums,
  gradientMatrix,
  softmaxBackward,
  statisticsFromMatrix,
  toRows,
  type GradientStatistics,
} from './gradient_statistics';
import { DEFAULT_CONTAINER, isSurfaceInfo, LiveDisplay, type SurfaceInfo, type TfvisContainer, type TfvisLike } from './live_display';
import { compiledLoss, denseLogits, featureModel, findHead, probeLoss, type ClassifierHead, type ModelOutput } from './model_head';
import { isNode, OutputFolder, type Warn } from './output_folder';
import { classAxis, gradientRatioChartSpec, negativeGradientHeatmapSpec, renderSvg, type ClassAxis } from './plots';

/**
 * Where the monitor measures dL/dz.
 * - `'training'` (default): on every training batch, from the gradient backpropagation already
 *   computes: the gradients the model was actually trained with, accumulated as in the paper.
 * - `'probe'`: at each epoch end, on a probe set the user passes (`probe: {xs, ys}`): a snapshot
 *   of the current model on a fixed set.
 */
export type GradientSource = 'probe' | 'training';

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

/** Options of {@link GradientMonitor}. All are optional. */
export interface GradientMonitorArgs {
  /** `'training'` (default) or `'probe'`; see {@link GradientSource}. */
  readonly source?: GradientSource;
  /**
   * Probe set. Required by `source: 'probe'`; with `'training'` it is used only for the class
   * vector / feature similarity (no probe: no similarity). Never part of the config (see
   * {@link GradientMonitor.setProbe}).
   *
   * Its class mix decides what the gradient ratio means: the paper's statistics are over the
   * training samples, so a probe sampled from the training set in its class proportions
   * reproduces them; a class-balanced probe gives tail classes as many samples as head classes
   * and their ratio comes out large instead of small.
   */
  readonly probe?: ProbeSet;
  /** Batch size of the probe's forward pass (integer >= 1, default 256): bounds its peak memory. */
  readonly batchSize?: number;
  /** What the model outputs (default `'auto'`: read from the final layer); see {@link ModelOutput}. */
  readonly modelOutput?: ModelOutput;
  /** Training examples per class (non-negative): charts sort classes by it, most frequent first. Default: class index order. */
  readonly classCounts?: readonly number[] | null;
  /** Class labels for the charts, by class index. Default: the class index. */
  readonly classNames?: readonly string[] | null;
  /** Folder for JSON (and SVG) files, Node only; created when missing. Default: no files. */
  readonly outputDir?: string | null;
  /** Whether to also write the two SVG pictures into `outputDir` each epoch (default true). */
  readonly svg?: boolean;
  /** The `@tensorflow/tfjs-vis` module, for live pictures in the browser. Never part of the config. */
  readonly tfvis?: TfvisLike | null;
  /** Where tfjs-vis draws, as for `tfvis.show.fitCallbacks`. Default `{name: 'Gradient monitor', tab: 'Training'}`. */
  readonly container?: TfvisContainer | null;
}

/** One epoch of {@link GradientMonitor.history}. Plain numbers and nulls only. */
export interface GradientMonitorEpoch {
  /** Epoch index as tfjs callbacks count it (0 = first epoch of the first `fit`, or `initialEpoch`). */
  epoch: number;
  /** Where the gradients were measured. */
  source: GradientSource;
  /** This epoch's statistics (probe: the probe at this epoch's end; training: this epoch's batches). */
  statistics: GradientStatistics;
  /** Running totals over all epochs so far (the full matrix is in {@link GradientMonitor.cumulative}). */
  cumulative: Omit<GradientStatistics, 'negative'>;
  /**
   * Per class j, mean cosine similarity between the class vector w_j (column j of the final
   * Dense kernel) and the penultimate features of class j's probe samples, at this epoch's end.
   * Null entries: no probe sample of that class; null: no probe or no final Dense layer.
   */
  similarity: (number | null)[] | null;
  /** Wall-clock time the monitor spent measuring at this epoch's end, in milliseconds. */
  milliseconds: number;
}

/** JSON form of a monitor: its config and results. */
export interface GradientMonitorJSON {
  /** Always `'GradientMonitor'`. */
  className: string;
  /** {@link GradientMonitor.getConfig}: the options, without the probe tensors or the tfjs-vis module. */
  config: tf.serialization.ConfigDict;
  /** Number of classes of the model last trained with the monitor; null before any `fit`. */
  numClasses: number | null;
  /** One record per epoch measured, oldest first ({@link GradientMonitor.history}). */
  history: GradientMonitorEpoch[];
  /** Running totals with the full negative-gradient matrix; null before the first epoch end. */
  cumulative: GradientStatistics | null;
}

const DEFAULT_BATCH_SIZE = 256;
/** Marks a loss wrapped by the monitor, holding the original. */
const WRAPPED = Symbol('GradientMonitor.wrapped');

const OPTION_NAMES = ['source', 'probe', 'batchSize', 'modelOutput', 'classCounts', 'classNames', 'outputDir', 'svg', 'tfvis', 'container'] as const;

/**
 * A callback that measures the gradient imbalance the GALA paper is about, for the loss a
 * single-output softmax classifier is actually trained with.
 *
 * Zhang et al., "Gradient-Aware Logit Adjustment Loss for Long-tailed Classifier", ICASSP 2024,
 * arXiv:2403.09036, Section 1: under cross-entropy the class vectors of tail classes receive a
 * far smaller positive-to-negative gradient ratio, from very uneven sources, than head classes.
 *
 * **What is measured.** dL/dz, the gradient of the compiled loss with respect to the logits z
 * (before softmax), per sample. For class j: the positive gradient `sum |dL_i/dz_ij|` over its
 * own samples, the negative gradient it receives from the samples of every other class k (the
 * matrix `negative[j][k]`: row = receiving classifier j, column = emitting class k), and their
 * ratio; per epoch and cumulative. See {@link GradientStatistics} for units. For a final Dense
 * layer, also the mean cosine similarity between w_j and class j's probe features.
 * Under softmax cross-entropy dL/dz = p - y: positive_j = sum (1 - p_y), negative[j][k] = sum of
 * p_j over class-k samples, and each class emits exactly as much negative gradient as its
 * positive gradient (the entries of p - y sum to 0 for each sample; this holds for any
 * cross-entropy on shifted logits, GALA included). Such losses change how the negative gradient is spread, and so the ratio.
 *
 * **How dL/dz is obtained.** The compiled loss is `model.lossFunctions[0]` (a string loss
 * resolved by tfjs, a function, or a callable loss such as `GalaLoss`). The model's output is
 * probabilities (final softmax) or logits, read from the last layer (`modelOutput`).
 * - `source: 'training'` (default): during `fit`/`fitDataset` the compiled loss is wrapped so that
 *   the model's output passes through an identity whose custom gradient receives dL/d(output) of
 *   each training batch during the optimizer's own backward pass; it is chained through softmax,
 *   multiplied by the batch size (undoing the batch mean) and added into two non-trainable
 *   variables. This is what the paper accumulates: the gradients of the training samples as they
 *   were trained (training-mode forward, `classWeight` included). Cost: no extra forward or
 *   backward pass and no host sync per batch; per batch one `[C, B] x [B, C]` matMul and a few
 *   `[B, C]` ops; one host read of C^2 + C numbers per epoch; memory C^2 floats. The wrapper is
 *   removed at `onTrainEnd` (if a fit throws: at the next `onTrainBegin` or `dispose()`). Caveat: a stateful
 *   loss also listed as a metric sees a different output tensor than the metric and may update
 *   twice (so do not list a stateful loss as a metric).
 * - `source: 'probe'`: at each epoch end the monitor computes the logits of the probe (the final
 *   Dense's linear part on its input features, or log p when the head has no Dense), then
 *   `tf.grad` of `mean(loss(ys, softmax(z))) * N`, the per-sample gradient for any loss that
 *   returns per-sample values. Inference mode (no dropout); class weights are not applied.
 *   A stateful loss (with `getConfig`/`getState`/`setState`, like `GalaLoss`) would update its
 *   state under that tape, so a private copy with the same config and state is used and
 *   disposed: the trained loss is never called. Cost per epoch: one forward pass over the N
 *   probe samples (in batches of `batchSize`), one loss forward and backward on `[N, C]` logits,
 *   a `[C, N] x [N, C]` matMul and one host read; e.g. about 0.5 s for N = 1000 with a
 *   784-128-10 MLP on the cpu backend (2 cores), where one training epoch over 1246 samples takes 3 s.
 *
 * With a probe and a final Dense layer, the class vector / feature similarity costs one forward
 * pass over the probe per epoch in either mode.
 *
 * Losses whose per-sample value depends on other samples of the batch are measured as they act
 * on the whole probe (or batch).
 *
 * **Memory.** O(C^2) tensors while measuring; `history` keeps one C x C matrix per epoch (plain
 * numbers; 10 classes x 200 epochs is 20k numbers, 1000 classes would be 1M per epoch).
 *
 * **Results.** `history` (per epoch, JSON-safe), `cumulative`, `toJSON()`. With `outputDir`
 * (Node): `gradient-monitor-epoch-NNNN.json` each epoch (that epoch's record with the full
 * cumulative statistics), `negative-gradients.svg` and `gradient-ratio.svg` (cumulative,
 * rewritten each epoch) and `gradient-monitor.json` (everything) at the end of training. A
 * folder that cannot be written produces one warning and training goes on. With `tfvis`: the
 * same two pictures live in the visor.
 *
 * History and totals continue over several `fit` calls; {@link GradientMonitor.reset} starts over.
 * The monitor never changes the trained weights or a loss's state; its tensors are freed at
 * `onTrainEnd` (the probe tensors belong to the caller).
 *
 * @example
 * ```js
 * import * as tf from '@tensorflow/tfjs';
 * import { GradientMonitor, galaLoss } from 'tfjs-gala';
 * // Gradients of the training batches; a probe for the class vector / feature similarity.
 * const monitor = new GradientMonitor({ probe: { xs: probeXs, ys: probeYs }, classCounts, outputDir: 'out/gala' });
 * model.compile({ optimizer: 'adam', loss: galaLoss({ numClasses: 10 }) });
 * await model.fit(xs, ys, { epochs: 10, callbacks: [monitor] });
 * console.log(monitor.cumulative.ratio, monitor.history.at(-1).similarity);
 * ```
 *
 * @throws Error from the constructor on an invalid option (naming it, the value and what is
 *   allowed); from `fit` (at `onTrainBegin`, before any training step) on a model that is not a
 *   single-output `[batch, numClasses]` classifier, an uncompiled model, a probe set of the
 *   wrong shape, `source: 'probe'` without a probe, or `classCounts` / `classNames` whose length
 *   is not numClasses.
 */
export class GradientMonitor extends tfl.Callback {
  /** Serialization name, registered with `tf.serialization` when the package is imported. */
  static className = 'GradientMonitor';

  /** `'training'` (default) or `'probe'`; see {@link GradientSource}. */
  readonly source: GradientSource;
  /** Batch size of the probe's forward pass (default 256). */
  readonly batchSize: number;
  /** `'auto'` (default), `'logits'` or `'probabilities'`; see {@link ModelOutput}. */
  readonly modelOutput: ModelOutput;
  /** Training examples per class (a copy), used to order the charts; null: class index order. */
  readonly classCounts: readonly number[] | null;
  /** Class labels for the charts (a copy); null: the class indices. */
  readonly classNames: readonly string[] | null;
  /** Folder the JSON and SVG files are written to (Node only); null: no files. */
  readonly outputDir: string | null;
  /** Whether the two SVG pictures are written into `outputDir` each epoch (default true). */
  readonly svg: boolean;
  /** Where tfjs-vis draws; `{name: 'Gradient monitor', tab: 'Training'}` by default. */
  readonly container: TfvisContainer;

  /** One record per epoch measured, oldest first. */
  readonly history: GradientMonitorEpoch[] = [];
  /** Running totals including the negative-gradient matrix; null before the first epoch end. */
  cumulative: GradientStatistics | null = null;
  /** numClasses of the model last trained with this monitor. */
  numClasses: number | null = null;

  private probe: ProbeSet | null;
  private readonly tfvis: TfvisLike | null;
  private readonly warn: Warn = (message) => console.warn(message);
  private readonly warned = new Set<string>();
  // Set between onTrainBegin and onTrainEnd.
  private run: {
    head: ClassifierHead;
    features: tfl.LayersModel | null;
    axis: ClassAxis;
    folder: OutputFolder | null;
    display: LiveDisplay | null;
    recorder: BatchRecorder | null;
  } | null = null;

  constructor(args: GradientMonitorArgs = {}) {
    super();
    if (args == null || typeof args !== 'object') {
      throw new Error(`GradientMonitor args must be an object like {probe: {xs, ys}}; received ${String(args)}.`);
    }
    for (const key of Object.keys(args)) {
      if (!(OPTION_NAMES as readonly string[]).includes(key)) {
        throw new Error(`GradientMonitor: unknown option '${key}'; allowed: ${OPTION_NAMES.join(', ')}.`);
      }
    }
    this.probe = args.probe == null ? null : checkProbeTypes(args.probe);
    this.source = checkOneOf('source', args.source ?? 'training', ['training', 'probe'] as const);
    this.batchSize = checkInteger('batchSize', args.batchSize ?? DEFAULT_BATCH_SIZE, 1);
    this.modelOutput = checkOneOf('modelOutput', args.modelOutput ?? 'auto', ['auto', 'logits', 'probabilities'] as const);
    this.classCounts = args.classCounts == null ? null : checkNumberArray('classCounts', args.classCounts, null, 0);
    this.classNames = args.classNames == null ? null : checkStrings('classNames', args.classNames);
    if (args.outputDir != null && (typeof args.outputDir !== 'string' || args.outputDir.length === 0)) {
      throw new Error(`outputDir must be a non-empty folder path; received ${JSON.stringify(args.outputDir)}.`);
    }
    this.outputDir = args.outputDir ?? null;
    this.svg = checkBoolean('svg', args.svg ?? true);
    this.tfvis = args.tfvis == null ? null : checkTfvis(args.tfvis);
    this.container = args.container == null ? DEFAULT_CONTAINER : checkContainer(args.container);
  }

  /** Replaces (or with null removes) the probe set, e.g. after {@link GradientMonitor.fromConfig}. */
  setProbe(probe: ProbeSet | null): void {
    this.probe = probe == null ? null : checkProbeTypes(probe);
  }

  /**
   * Ends a measurement left open by a `fit` that threw (which never calls `onTrainEnd`): puts
   * the original loss back into the model and frees the monitor's variables. Results are kept.
   * Not needed after a normal `fit`; calling it twice is harmless.
   */
  dispose(): void {
    this.endRun();
  }

  /** Forgets the history and the running totals. */
  reset(): void {
    this.history.length = 0;
    this.cumulative = null;
    this.numClasses = null;
  }

  /**
   * Called by `fit` before the first step: checks the model, the probe and the options against
   * it and, with `source: 'training'`, wraps the compiled loss to record the batches' gradients.
   * @throws Error when the model is not a compiled single-output `[batch, numClasses]`
   *   classifier, the monitor holds results for another numClasses (call
   *   {@link GradientMonitor.reset}), `classCounts` / `classNames` do not have numClasses entries,
   *   `source` is `'probe'` without a probe, or the probe does not fit the model.
   */
  override async onTrainBegin(): Promise<void> {
    this.endRun(); // a previous fit that threw never reached onTrainEnd
    const head = findHead(this.model, this.modelOutput);
    const c = head.numClasses;
    if (this.numClasses != null && this.numClasses !== c) {
      throw new Error(`GradientMonitor: this monitor holds results for ${this.numClasses} classes, the model has ${c}; call reset() first.`);
    }
    if (this.classCounts != null && this.classCounts.length !== c) {
      throw new Error(`classCounts must have numClasses = ${c} entries; received ${this.classCounts.length}.`);
    }
    if (this.classNames != null && this.classNames.length !== c) {
      throw new Error(`classNames must have numClasses = ${c} entries; received ${this.classNames.length}.`);
    }
    if (this.source === 'probe' && this.probe == null) {
      throw new Error("GradientMonitor: source 'probe' needs a probe set: pass probe: {xs, ys} or call setProbe().");
    }
    if (this.probe != null) checkProbeShapes(this.probe, head);
    compiledLoss(head.compiled); // fails now, not after an epoch, when there is no loss
    this.numClasses = c;

    let folder: OutputFolder | null = null;
    if (this.outputDir != null) {
      if (isNode()) folder = new OutputFolder(this.outputDir, this.warn);
      else this.warnOnce('browser', `GradientMonitor: outputDir '${this.outputDir}' needs Node.js; no files are written.`);
    }
    this.run = {
      head,
      features: head.dense != null && this.probe != null ? featureModel(head) : null,
      axis: classAxis(c, this.classCounts, this.classNames),
      folder,
      display: this.tfvis == null ? null : new LiveDisplay(this.tfvis, this.container),
      recorder: this.source === 'training' ? new BatchRecorder(head) : null,
    };
  }

  /**
   * Called by `fit` after each epoch: measures (training batches or probe), appends a record to
   * {@link GradientMonitor.history}, updates {@link GradientMonitor.cumulative}, and writes the
   * files and live pictures. A measurement that fails warns once and is skipped; it never stops
   * training.
   * @param epoch 0-based epoch index as `fit` counts it (`initialEpoch` included).
   */
  override async onEpochEnd(epoch: number): Promise<void> {
    const run = this.run;
    if (run == null) return;
    const started = Date.now();
    let statistics: GradientStatistics;
    let similarity: (number | null)[] | null = null;
    try {
      if (run.recorder != null) {
        statistics = await run.recorder.takeEpoch();
        if (run.features != null) similarity = (await this.measureProbe(run, false)).similarity;
      } else {
        const measured = await this.measureProbe(run, true);
        statistics = measured.statistics!;
        similarity = measured.similarity;
      }
    } catch (error) {
      this.warnOnce(
        `measure:${(error as Error).message}`,
        `GradientMonitor: could not measure gradients at epoch ${epoch} (${(error as Error).message}); training goes on.`,
      );
      return;
    }
    this.cumulative = this.cumulative == null ? statistics : addStatistics(this.cumulative, statistics);
    const { negative: _matrix, ...cumulative } = this.cumulative;
    const record: GradientMonitorEpoch = {
      epoch,
      source: this.source,
      statistics,
      cumulative,
      similarity,
      milliseconds: Date.now() - started,
    };
    this.history.push(record);
    await this.publish(run, record);
  }

  /**
   * Called by `fit` at the end: puts the original loss back, frees the monitor's tensors and,
   * with `outputDir`, writes `gradient-monitor.json` ({@link GradientMonitor.toJSON}).
   */
  override async onTrainEnd(): Promise<void> {
    const folder = this.run?.folder;
    this.endRun();
    if (folder != null) await folder.write('gradient-monitor.json', JSON.stringify(this.toJSON()));
  }

  /** Config, history and running totals as plain JSON. */
  toJSON(): GradientMonitorJSON {
    return {
      className: GradientMonitor.className,
      config: this.getConfig(),
      numClasses: this.numClasses,
      history: this.history,
      cumulative: this.cumulative,
    };
  }

  /**
   * Plain options; keys equal the constructor's. The probe tensors and the tfjs-vis module are
   * not part of it, nor a container given as an HTML element (null then: the default surface).
   */
  getConfig(): tf.serialization.ConfigDict {
    return {
      source: this.source,
      batchSize: this.batchSize,
      modelOutput: this.modelOutput,
      classCounts: this.classCounts == null ? null : this.classCounts.slice(),
      classNames: this.classNames == null ? null : this.classNames.slice(),
      outputDir: this.outputDir,
      svg: this.svg,
      container: isSurfaceInfo(this.container) ? { ...this.container } : null,
    } as unknown as tf.serialization.ConfigDict;
  }

  /** Rebuilds a monitor from {@link GradientMonitor.getConfig}'s output (`new cls(config)`). */
  static fromConfig<T>(cls: new (args: GradientMonitorArgs) => T, config: tf.serialization.ConfigDict): T {
    return new cls(config as GradientMonitorArgs);
  }

  /** Serialization name. */
  getClassName(): string {
    return GradientMonitor.className;
  }

  private endRun(): void {
    this.run?.recorder?.dispose();
    this.run = null;
  }

  /**
   * Runs the probe: the class vector / feature similarity when the head has a final Dense, and
   * (when `withGradients`) dL/dz of a safe copy of the compiled loss. One host read at the end.
   */
  private async measureProbe(
    run: NonNullable<GradientMonitor['run']>,
    withGradients: boolean,
  ): Promise<{ statistics: GradientStatistics | null; similarity: (number | null)[] | null }> {
    const { head } = run;
    const probe = this.probe!;
    const c = head.numClasses;
    const loss = withGradients ? probeLoss(head.compiled) : null;
    try {
      const tensors = tf.tidy(() => {
        const oneHot = toOneHot(probe.ys, c, 'probe.ys');
        const out: { samples: tf.Tensor; similarity?: tf.Tensor; matrix?: tf.Tensor } = { samples: tf.sum(oneHot, 0) };
        let logits: tf.Tensor2D | null = null;
        if (run.features != null) {
          const features = run.features.predict(probe.xs, { batchSize: this.batchSize }) as tf.Tensor2D;
          out.similarity = classVectorSimilaritySums(features, head.dense!.getWeights()[0] as tf.Tensor2D, oneHot);
          if (loss != null) logits = denseLogits(head.dense!, features);
        } else if (loss != null) {
          const outputs = head.compiled.predict(probe.xs, { batchSize: this.batchSize }) as tf.Tensor2D;
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

  /** Files and live pictures; each failure warns once and never stops training. */
  private async publish(run: NonNullable<GradientMonitor['run']>, record: GradientMonitorEpoch): Promise<void> {
    const cumulative = this.cumulative!;
    const when = `cumulative to epoch ${record.epoch}`;
    if (run.folder != null) {
      const name = `gradient-monitor-epoch-${String(record.epoch).padStart(4, '0')}.json`;
      await run.folder.write(name, JSON.stringify({ ...record, cumulative }));
      if (this.svg) {
        try {
          const heatmap = await renderSvg(negativeGradientHeatmapSpec(cumulative, run.axis, `Negative gradient received (${when})`));
          const ratio = await renderSvg(gradientRatioChartSpec(cumulative, run.axis, `Positive / negative gradient ratio (${when})`));
          (await run.folder.write('negative-gradients.svg', heatmap)) && (await run.folder.write('gradient-ratio.svg', ratio));
        } catch (error) {
          this.warnOnce('svg', `GradientMonitor: could not draw the SVG pictures (${(error as Error).message}); training goes on.`);
        }
      }
    }
    if (run.display != null) {
      try {
        await run.display.show(cumulative, run.axis, record.epoch);
      } catch (error) {
        this.warnOnce('tfvis', `GradientMonitor: tfjs-vis could not draw (${(error as Error).message}); training goes on.`);
      }
    }
  }

  private warnOnce(key: string, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.warn(message);
  }
}
tf.serialization.registerClass(GradientMonitor as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);

/**
 * Creates a {@link GradientMonitor} (function form, like `tf.callbacks.earlyStopping`).
 * @throws Error on an invalid option; see {@link GradientMonitorArgs}.
 */
export function gradientMonitor(args?: GradientMonitorArgs): GradientMonitor {
  return new GradientMonitor(args);
}

type LossFunction = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;

/**
 * `source: 'training'`: wraps the compiled loss so that the gradient backpropagation computes for
 * the model's output also lands, as dL/dz statistics, in two non-trainable variables.
 */
class BatchRecorder {
  private readonly matrix: tf.Variable;
  private readonly samples: tf.Variable;
  private readonly compiled: tfl.LayersModel;
  private readonly original: LossFunction;
  private active = true;

  constructor(private readonly head: ClassifierHead) {
    const c = head.numClasses;
    this.compiled = head.compiled;
    this.original = unwrap(compiledLoss(this.compiled));
    [this.matrix, this.samples] = tf.tidy(() => [tf.variable(tf.zeros([c, c]), false), tf.variable(tf.zeros([c]), false)]);

    const original = this.original;
    const wrapped = (yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor => {
      // Only training steps (under the optimizer's tape); validation and evaluate pass straight through.
      if (!this.active || tf.engine().state.gradientDepth === 0) return original(yTrue, yPred);
      const oneHot = toOneHot(yTrue, c, 'yTrue');
      const observed = tf.customGrad(((prediction: tf.Tensor, labels: tf.Tensor, save: tf.GradSaveFunc) => {
        save([prediction, labels]);
        return {
          value: tf.clone(prediction),
          gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
            this.record(dy as tf.Tensor2D, saved[0] as tf.Tensor2D, saved[1] as tf.Tensor2D);
            return [dy, tf.zerosLike(saved[1])];
          },
        };
      }) as never)(yPred, oneHot) as tf.Tensor;
      return original(yTrue, observed);
    };
    (wrapped as unknown as Record<symbol, LossFunction>)[WRAPPED] = original;
    this.compiled.lossFunctions[0] = wrapped;
  }

  /** Adds one batch, in the optimizer's backward pass. dy = dL/d(output) of the batch-mean loss. */
  private record(dy: tf.Tensor2D, outputs: tf.Tensor2D, oneHot: tf.Tensor2D): void {
    if (!this.active) return;
    tf.tidy(() => {
      const perSample = tf.mul(dy, dy.shape[0]) as tf.Tensor2D; // undo fit's batch mean
      const logitGradients = this.head.outputsProbabilities ? softmaxBackward(perSample, outputs) : perSample;
      this.matrix.assign(tf.add(this.matrix, gradientMatrix(logitGradients, oneHot)));
      this.samples.assign(tf.add(this.samples, tf.sum(oneHot, 0)));
    });
  }

  /** Reads and zeroes the epoch's totals (one host read). */
  async takeEpoch(): Promise<GradientStatistics> {
    const [matrix, samples] = await Promise.all([this.matrix.data(), this.samples.data()]);
    tf.tidy(() => {
      this.matrix.assign(tf.zerosLike(this.matrix));
      this.samples.assign(tf.zerosLike(this.samples));
    });
    return statisticsFromMatrix(toRows(matrix, this.head.numClasses), Array.from(samples));
  }

  /** Puts the original loss back and frees the variables. */
  dispose(): void {
    if (!this.active) return;
    this.active = false;
    if (this.compiled.lossFunctions[0] !== this.original && unwrap(this.compiled.lossFunctions[0] as LossFunction) === this.original) {
      this.compiled.lossFunctions[0] = this.original;
    }
    this.matrix.dispose();
    this.samples.dispose();
  }
}

function unwrap(loss: LossFunction): LossFunction {
  let current = loss;
  for (;;) {
    const inner = (current as unknown as Record<symbol, LossFunction | undefined>)[WRAPPED];
    if (inner == null) return current;
    current = inner;
  }
}

function checkProbeTypes(probe: ProbeSet): ProbeSet {
  const xs = (probe as Partial<ProbeSet> | null)?.xs;
  const ys = (probe as Partial<ProbeSet> | null)?.ys;
  const inputs = Array.isArray(xs) ? xs : [xs];
  if (typeof probe !== 'object' || !(ys instanceof tf.Tensor) || inputs.length === 0 || !inputs.every((x) => x instanceof tf.Tensor)) {
    throw new Error('probe must be {xs: Tensor | Tensor[], ys: Tensor} (tensors of the tfjs instance this package uses); received ' + describeProbe(probe) + '.');
  }
  return { xs, ys } as ProbeSet;
}

function describeProbe(probe: unknown): string {
  if (probe == null || typeof probe !== 'object') return String(probe);
  return `{${Object.entries(probe as object)
    .map(([k, v]) => `${k}: ${v instanceof tf.Tensor ? `Tensor[${v.shape.join(', ')}]` : typeof v}`)
    .join(', ')}}`;
}

/** Probe shapes against the model: inputs, batch sizes, label layout; and not disposed. */
function checkProbeShapes(probe: ProbeSet, head: ClassifierHead): void {
  const inputs = Array.isArray(probe.xs) ? probe.xs : [probe.xs];
  const expected = head.compiled.inputs;
  const all = [...inputs, probe.ys];
  if (all.some((t) => t.isDisposed)) throw new Error('GradientMonitor: a probe tensor was disposed; pass live tensors (the monitor does not own them).');
  if (inputs.length !== expected.length) {
    throw new Error(`probe.xs must hold ${expected.length} input tensor(s), one per model input; received ${inputs.length}.`);
  }
  const n = inputs[0].shape[0];
  inputs.forEach((x, i) => {
    const want = expected[i].shape;
    const fits = x.rank === want.length && want.every((d, axis) => d == null || d === x.shape[axis]);
    if (!fits) {
      const name = inputs.length === 1 ? 'probe.xs' : `probe.xs[${i}]`;
      throw new Error(`${name} must have shape [${want.map((d) => (d == null ? 'N' : d)).join(', ')}] (the model input); received [${x.shape.join(', ')}].`);
    }
  });
  if (inputs.some((x) => x.shape[0] !== n) || probe.ys.shape[0] !== n || n === 0) {
    throw new Error(
      `probe.xs and probe.ys must hold the same number N >= 1 of samples; received xs [${inputs.map((x) => x.shape[0]).join(', ')}] and ys ${probe.ys.shape[0]}.`,
    );
  }
  tf.dispose(toOneHot(probe.ys, head.numClasses, 'probe.ys')); // throws on another layout
}

/**
 * Labels as `fit` hands them to the loss: rank 1 becomes `[N, 1]`. Cast to float32, because
 * tfjs's 'sparseCategoricalCrossentropy' rejects int32 labels (its `floor` needs float32).
 */
function lossLabels(ys: tf.Tensor): tf.Tensor {
  const labels = tf.cast(ys, 'float32');
  return ys.rank === 1 ? tf.expandDims(labels, 1) : labels;
}

function checkStrings(name: string, value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new Error(`${name} must be an array of strings; received ${JSON.stringify(value)}.`);
  }
  return value.slice();
}

function checkTfvis(value: unknown): TfvisLike {
  const render = (value as { render?: { heatmap?: unknown; barchart?: unknown } } | null)?.render;
  if (typeof render?.heatmap !== 'function' || typeof render?.barchart !== 'function') {
    throw new Error("tfvis must be the @tensorflow/tfjs-vis module (with render.heatmap and render.barchart); received an object without them.");
  }
  return value as TfvisLike;
}

function checkContainer(value: unknown): TfvisContainer {
  if (isSurfaceInfo(value)) return { ...(value as SurfaceInfo) };
  const v = value as { drawArea?: unknown; appendChild?: unknown } | null;
  if (v != null && typeof v === 'object' && (typeof v.appendChild === 'function' || v.drawArea != null)) return value as TfvisContainer;
  throw new Error(`container must be a tfjs-vis surface {name, tab} or an HTML element; received ${JSON.stringify(value)}.`);
}
