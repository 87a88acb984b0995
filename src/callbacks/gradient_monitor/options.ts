import type * as tf from '@tensorflow/tfjs-core';

import { checkKnownKeys } from '../../core/known_keys';
import { describeValue } from '../../core/labels';
import { checkBoolean, checkInteger, checkNumberArray, checkOneOf } from '../../core/validate';
import { argumentName, MONITOR } from './errors';
import { DEFAULT_CONTAINER, isSurfaceInfo, type SurfaceInfo, type TfvisContainer, type TfvisLike } from './live_display';
import type { ModelOutput } from './model_head';
import { checkProbeTypes, type ProbeSet } from './probe';

/**
 * Where the monitor measures dL/dz.
 * - `'training'` (default): on every training batch, from the gradient backpropagation already
 *   computes: the gradients the model was actually trained with, accumulated as in the paper.
 * - `'probe'`: at each epoch end, on a probe set the user passes (`probe: {xs, ys}`): a snapshot
 *   of the current model on a fixed set.
 */
export type GradientSource = 'probe' | 'training';

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

/** {@link GradientMonitorArgs} after checking, defaults filled in, arrays copied. */
export interface MonitorOptions {
  readonly source: GradientSource;
  readonly probe: ProbeSet | null;
  readonly batchSize: number;
  readonly modelOutput: ModelOutput;
  readonly classCounts: readonly number[] | null;
  readonly classNames: readonly string[] | null;
  readonly outputDir: string | null;
  readonly svg: boolean;
  readonly tfvis: TfvisLike | null;
  readonly container: TfvisContainer;
}

const DEFAULT_BATCH_SIZE = 256;

const OPTION_NAMES = ['source', 'probe', 'batchSize', 'modelOutput', 'classCounts', 'classNames', 'outputDir', 'svg', 'tfvis', 'container'] as const;

/**
 * Checks the constructor's options and fills in the defaults.
 * @throws Error naming the first invalid option, the value received and what is allowed; an
 *   unknown option names the closest allowed one (did you mean) and lists them all.
 */
export function checkOptions(args: GradientMonitorArgs): MonitorOptions {
  if (args == null || typeof args !== 'object' || Array.isArray(args)) {
    throw new Error(`${MONITOR}: args must be an object like {probe: {xs, ys}}; received ${describeValue(args)}.`);
  }
  checkKnownKeys(MONITOR, args, OPTION_NAMES);
  return {
    probe: args.probe == null ? null : checkProbeTypes(args.probe),
    source: checkOneOf(argumentName('source'), args.source ?? 'training', ['training', 'probe'] as const),
    batchSize: checkInteger(argumentName('batchSize'), args.batchSize ?? DEFAULT_BATCH_SIZE, 1),
    modelOutput: checkOneOf(argumentName('modelOutput'), args.modelOutput ?? 'auto', ['auto', 'logits', 'probabilities'] as const),
    classCounts: args.classCounts == null ? null : checkNumberArray(argumentName('classCounts'), args.classCounts, null, 0),
    classNames: args.classNames == null ? null : checkStrings('classNames', args.classNames),
    outputDir: args.outputDir == null ? null : checkFolder('outputDir', args.outputDir),
    svg: checkBoolean(argumentName('svg'), args.svg ?? true),
    tfvis: args.tfvis == null ? null : checkTfvis(args.tfvis),
    container: args.container == null ? DEFAULT_CONTAINER : checkContainer(args.container),
  };
}

/**
 * The options as plain JSON; keys equal the constructor's. The probe tensors and the tfjs-vis
 * module are left out, and so is a container given as an HTML element (null: the default surface).
 */
export function optionsConfig(options: MonitorOptions): tf.serialization.ConfigDict {
  return {
    source: options.source,
    batchSize: options.batchSize,
    modelOutput: options.modelOutput,
    classCounts: options.classCounts == null ? null : options.classCounts.slice(),
    classNames: options.classNames == null ? null : options.classNames.slice(),
    outputDir: options.outputDir,
    svg: options.svg,
    container: isSurfaceInfo(options.container) ? { ...options.container } : null,
  } as unknown as tf.serialization.ConfigDict;
}

/**
 * Checks the options that depend on the model: class lists of numClasses entries, and a probe
 * set for `source: 'probe'`.
 * @throws Error naming the option at fault.
 */
export function checkOptionsForModel(options: MonitorOptions, probe: ProbeSet | null, numClasses: number): void {
  for (const [name, list] of [['classCounts', options.classCounts], ['classNames', options.classNames]] as const) {
    if (list != null && list.length !== numClasses) {
      throw new Error(`${MONITOR}: ${name} must have numClasses = ${numClasses} entries; received ${list.length}.`);
    }
  }
  if (options.source === 'probe' && probe == null) {
    throw new Error(`${MONITOR}: probe must be set for source 'probe' (pass probe: {xs, ys} or call setProbe()); received none.`);
  }
}

function checkFolder(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new Error(`${MONITOR}: ${name} must be a non-empty folder path; received ${JSON.stringify(value)}.`);
  }
  return value;
}

function checkStrings(name: string, value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new Error(`${MONITOR}: ${name} must be an array of strings; received ${JSON.stringify(value)}.`);
  }
  return value.slice();
}

function checkTfvis(value: unknown): TfvisLike {
  const render = (value as { render?: { heatmap?: unknown; barchart?: unknown } } | null)?.render;
  if (typeof render?.heatmap !== 'function' || typeof render?.barchart !== 'function') {
    throw new Error(
      `${MONITOR}: tfvis must be the @tensorflow/tfjs-vis module (with render.heatmap and render.barchart); received an object without them.`,
    );
  }
  return value as TfvisLike;
}

function checkContainer(value: unknown): TfvisContainer {
  if (isSurfaceInfo(value)) return { ...(value as SurfaceInfo) };
  const v = value as { drawArea?: unknown; appendChild?: unknown } | null;
  if (v != null && typeof v === 'object' && (typeof v.appendChild === 'function' || v.drawArea != null)) return value as TfvisContainer;
  throw new Error(`${MONITOR}: container must be a tfjs-vis surface {name, tab} or an HTML element; received ${JSON.stringify(value)}.`);
}
