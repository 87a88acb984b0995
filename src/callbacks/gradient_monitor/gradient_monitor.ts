import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import { bindCallbackMethods, missingModelError } from '../mixed_callbacks';
import { BatchRecorder } from './batch_recorder';
import { classAxis } from './charts';
import { MONITOR } from './errors';
import { addStatistics, type GradientStatistics } from './gradient_statistics';
import type { GradientMonitorEpoch, GradientMonitorJSON } from './history';
import type { TfvisContainer } from './live_display';
import { compiledLoss, featureModel, findHead, type ClassifierHead, type ModelOutput } from './model_head';
import { checkOptions, checkOptionsForModel, optionsConfig, type GradientMonitorArgs, type GradientSource, type MonitorOptions } from './options';
import { MonitorOutputs } from './outputs';
import type { Warn } from './output_folder';
import { checkProbeShapes, checkProbeTypes, measureProbe, type ProbeSet } from './probe';

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
 * - `source: 'training'` (default): the gradients of the training samples as they were trained
 *   (training-mode forward, `classWeight` included), which is what the paper accumulates. The
 *   compiled loss is wrapped during `fit`/`fitDataset` so that dL/d(output) of each batch is
 *   captured in the optimizer's own backward pass. Cost: no extra forward or backward pass and no
 *   host sync per batch; one `[C, B] x [B, C]` matMul per batch; one host read of C^2 + C numbers
 *   per epoch. The wrapper is removed at `onTrainEnd` (if a fit throws: at the next
 *   `onTrainBegin` or `dispose()`). Do not also list a stateful loss as a metric: it sees a
 *   different output tensor than the metric and may update twice.
 * - `source: 'probe'`: at each epoch end, `tf.grad` of the loss on the probe's logits, per
 *   sample; inference mode (no dropout), class weights not applied. A stateful loss (like
 *   `GalaLoss`) is measured through a private copy with the same config and state: the trained
 *   loss is never called. Cost per epoch: one forward pass over the N probe samples (in batches
 *   of `batchSize`) and one loss backward on `[N, C]` logits; e.g. about 0.5 s for N = 1000 with
 *   a 784-128-10 MLP on the cpu backend (2 cores), where one training epoch over 1246 samples
 *   takes 3 s.
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
 * (Node): `gradient-monitor-epoch-NNNN.json` each epoch, `negative-gradients.svg` and
 * `gradient-ratio.svg` (cumulative, rewritten each epoch) and `gradient-monitor.json` at the end
 * of training; a folder that cannot be written gives one warning and training goes on. With
 * `tfvis`: the same two pictures live in the visor. Guide: docs/guide/04-gradient-monitor.md.
 *
 * History and totals continue over several `fit` calls; {@link GradientMonitor.reset} starts over.
 * The monitor never changes the trained weights or a loss's state; its tensors are freed at
 * `onTrainEnd`. The probe tensors stay the caller's: the monitor never disposes them, so the
 * same probe serves any number of `fit` calls.
 *
 * **Callbacks arrays.** The monitor can sit in any order beside tfjs callbacks
 * (`tf.callbacks.earlyStopping()`) and plain objects (`tfvis.show.fitCallbacks(...)`): see
 * {@link installCallbackMixing}.
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
 * @throws Error from the constructor on an invalid or unknown option (naming it, the value and
 *   what is allowed; an unknown one with a did-you-mean); from `fit` (at `onTrainBegin`, before any training step) on a model that is not a
 *   single-output `[batch, numClasses]` classifier, an uncompiled model, a probe set of the
 *   wrong shape, `source: 'probe'` without a probe, or `classCounts` / `classNames` whose length
 *   is not numClasses.
 */
export class GradientMonitor extends tfl.Callback {
  /** Serialization name, registered with `tf.serialization` when the package is imported. */
  static className = 'tfjs-gala.GradientMonitor';

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

  private readonly options: MonitorOptions;
  private probe: ProbeSet | null;
  private readonly warn: Warn = (message) => console.warn(message);
  private readonly warned = new Set<string>();
  // Set between onTrainBegin and onTrainEnd.
  private run: {
    head: ClassifierHead;
    features: tfl.LayersModel | null;
    outputs: MonitorOutputs;
    recorder: BatchRecorder | null;
  } | null = null;

  constructor(args: GradientMonitorArgs = {}) {
    super();
    bindCallbackMethods(this);
    this.options = checkOptions(args);
    const options = this.options;
    this.probe = options.probe;
    this.source = options.source;
    this.batchSize = options.batchSize;
    this.modelOutput = options.modelOutput;
    this.classCounts = options.classCounts;
    this.classNames = options.classNames;
    this.outputDir = options.outputDir;
    this.svg = options.svg;
    this.container = options.container;
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
   * @throws Error when `fit` set no model (the monitor was called through a `tf.CustomCallback`;
   *   the message names the fix), the model is not a compiled single-output `[batch, numClasses]`
   *   classifier, the monitor holds results for another numClasses (call
   *   {@link GradientMonitor.reset}), `classCounts` / `classNames` do not have numClasses entries,
   *   `source` is `'probe'` without a probe, or the probe does not fit the model.
   */
  override async onTrainBegin(): Promise<void> {
    this.endRun(); // a previous fit that threw never reached onTrainEnd
    if (this.model == null) throw missingModelError(MONITOR);
    const head = findHead(this.model, this.modelOutput);
    const c = head.numClasses;
    if (this.numClasses != null && this.numClasses !== c) {
      throw new Error(
        `${MONITOR}: the model's numClasses must be ${this.numClasses}, the classes this monitor holds results for ` +
          `(call reset() to start over); received ${c}.`,
      );
    }
    checkOptionsForModel(this.options, this.probe, c);
    if (this.probe != null) checkProbeShapes(this.probe, head);
    compiledLoss(head.compiled); // fails now, not after an epoch, when there is no loss
    this.numClasses = c;
    const axis = classAxis(c, this.classCounts, this.classNames);
    this.run = {
      head,
      features: head.dense != null && this.probe != null ? featureModel(head) : null,
      outputs: new MonitorOutputs(this.options, axis, this.warn, (key, message) => this.warnOnce(key, message)),
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
        `${MONITOR}: could not measure gradients at epoch ${epoch} (${(error as Error).message}); training goes on.`,
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
    await run.outputs.publishEpoch(record, this.cumulative);
  }

  /**
   * Called by `fit` at the end: puts the original loss back, frees the monitor's tensors and,
   * with `outputDir`, writes `gradient-monitor.json` ({@link GradientMonitor.toJSON}).
   */
  override async onTrainEnd(): Promise<void> {
    const outputs = this.run?.outputs;
    this.endRun();
    await outputs?.publishEnd(this.toJSON());
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
    return optionsConfig(this.options);
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

  private measureProbe(run: NonNullable<GradientMonitor['run']>, withGradients: boolean): ReturnType<typeof measureProbe> {
    return measureProbe(this.probe!, run.head, run.features, this.batchSize, withGradients);
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
