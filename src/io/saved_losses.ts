/**
 * The `trainingConfig.tfjs_gala` block: how the package's losses are written into a saved
 * model's training config, and read back with errors that say where a damaged save is damaged.
 *
 * Everything here is duck-typed (a loss is any callable with `getConfig` and `getClassName`):
 * two builds of the package (ESM and CommonJS) may coexist in one process, and a loss built by
 * one must save and load through the hooks the other installed.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/** Key under which the package stores its losses in `trainingConfig`. */
export const TRAINING_CONFIG_KEY = 'tfjs_gala';
/** Version of the stored format, written when no metric is a package loss (0.1.0 reads it). */
export const TRAINING_CONFIG_FORMAT = 1;
/**
 * Version written when some metric is a package loss: the block then has `metrics`. 0.1.0,
 * which would ignore that field and fail on the metric markers with "import tfjs-gala", refuses
 * the format instead.
 */
export const TRAINING_CONFIG_FORMAT_WITH_METRICS = 2;
/** The formats this version reads. */
const READABLE_FORMATS: readonly number[] = [TRAINING_CONFIG_FORMAT, TRAINING_CONFIG_FORMAT_WITH_METRICS];

/** A package loss as stored in a training config. */
export interface SerializedLoss {
  /** The loss's registered `className` (snake_case key, as in tfjs's own configs). */
  class_name: string;
  /** The loss's `getConfig()`: its constructor arguments, so `fromConfig` is `new Cls(config)`. */
  config: tf.serialization.ConfigDict;
  /**
   * The loss's state (`getStateAsync()` or `getState()`; a `GalaState` for
   * `GalaLoss`), handed to `setState` on load. Required for every loss that has
   * `setState`; absent for stateless losses.
   */
  state?: unknown;
}

/**
 * A metric that is a package loss, as stored in `trainingConfig.tfjs_gala.metrics`:
 * - `{loss: key}`: the object saved under `losses[key]` (the usual `compile({loss: g, metrics: [g]})`);
 *   the restored metric is the restored loss itself, so they share their state;
 * - `{metric: key}`: the same object as the full entry `metrics[key]` (one loss listed twice);
 * - `{class_name, config, state}`: a loss of its own (another instance than any loss).
 */
export type StoredMetric = { loss: string } | { metric: string } | SerializedLoss;

/** The `trainingConfig.tfjs_gala` block. */
export interface StoredLosses {
  format: number;
  /** `'loss'` for a single loss, the output index for an array, the output name for a dict. */
  losses: Record<string, SerializedLoss>;
  /**
   * Format 2: the entries of `trainingConfig.metrics` that are package losses, keyed like the
   * saved metrics: `'0'`, `'1'`, ... for the array form (a single function is saved as an array
   * of one), the output name for the dict form.
   */
  metrics?: Record<string, StoredMetric>;
}

/** What a package loss looks like from the outside. */
export interface SerializableLoss {
  (yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor;
  getConfig(): tf.serialization.ConfigDict;
  getClassName(): string;
  getState?(): unknown;
  getStateAsync?(): Promise<unknown>;
  setState?(state: never): void;
  dispose?(): void;
}

/** A compile `loss` argument: a name, a function, one per output, or one per output name. */
export type LossSpec = string | ((...args: never[]) => unknown) | LossSpec[] | { [outputName: string]: LossSpec };

/** A compile `metrics` argument: a name or function, a list of them, or one per output name. */
export type MetricSpec = tfl.ModelCompileArgs['metrics'];

/** A model as the save/load hooks see it: its compile `loss` and `metrics` specs, and `compile`. */
export type ModelWithLoss = Omit<tfl.LayersModel, 'loss' | 'metrics' | 'compile'> & {
  loss: LossSpec;
  metrics: MetricSpec;
  compile(args: tfl.ModelCompileArgs): void;
};

export function isSerializableLoss(value: unknown): value is SerializableLoss {
  return (
    typeof value === 'function' &&
    typeof (value as Partial<SerializableLoss>).getConfig === 'function' &&
    typeof (value as Partial<SerializableLoss>).getClassName === 'function'
  );
}

const MARKER_NOTE = "saved by tfjs-gala: import 'tfjs-gala' before loading this model, to restore its loss";
const METRIC_MARKER_NOTE = "saved by tfjs-gala: import 'tfjs-gala' before loading this model, to restore this metric";
const MARKER_PATTERN = /^(.*?) \(saved by tfjs-gala\b/i;

/** Marker written where tfjs expects a loss name; stock tfjs throws `Unknown loss <marker>`. */
export function lossMarker(className: string): string {
  // No '_': tfjs passes loss names through toCamelCase, which rewrites names that contain one.
  return `${className} (${MARKER_NOTE})`;
}

/**
 * Marker written in `trainingConfig.metrics` where a metric is a package loss; stock tfjs throws
 * `Unknown metric <marker>`, and the load hook puts the restored loss in its place.
 */
export function metricMarker(className: string): string {
  return `${className} (${METRIC_MARKER_NOTE})`;
}

/**
 * The class name in a marker (of a loss or a metric), or null for any other value. tfjs
 * snake_cases loss and metric names on save (`tfjs-gala._gala_loss`) and camelCases them on
 * load; this undoes the snake_case the same way (`tfjs-gala.GalaLoss`).
 */
export function markerClassName(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const match = MARKER_PATTERN.exec(value);
  return match == null ? null : match[1].replace(/_+(\w|$)/g, (_, c: string) => c.toUpperCase());
}

/** Every output's loss in a compile spec (or a saved `trainingConfig.loss`), keyed as in {@link StoredLosses}. */
export function lossEntries(spec: unknown): Array<[key: string, value: unknown]> {
  if (Array.isArray(spec)) return spec.map((value, i) => [String(i), value]);
  if (spec != null && typeof spec === 'object') return Object.entries(spec);
  return [['loss', spec]];
}

/**
 * Every entry of a compile `metrics` spec (or a saved `trainingConfig.metrics`), keyed as in
 * `StoredLosses.metrics`: a single name or function is entry `'0'`, as tfjs saves it as an array
 * of one. A dict's value is returned as it is (an array there is not one metric).
 */
export function metricEntries(spec: unknown): Array<[key: string, value: unknown]> {
  if (spec == null) return [];
  if (Array.isArray(spec)) return spec.map((value, i) => [String(i), value]);
  if (typeof spec === 'object') return Object.entries(spec);
  return [['0', spec]];
}

/** The package losses of a compile spec. */
export function packageLosses(spec: unknown): SerializableLoss[] {
  if (isSerializableLoss(spec)) return [spec];
  return lossEntries(spec)
    .map(([, value]) => value)
    .filter(isSerializableLoss);
}

/**
 * The entry for one loss. `states` holds states read beforehand (by `getStateAsync`, see the
 * save hook); a loss without one is read with `getState()`.
 */
export function serializeLoss(loss: SerializableLoss, states?: ReadonlyMap<unknown, unknown>): SerializedLoss {
  const entry: SerializedLoss = { class_name: loss.getClassName(), config: loss.getConfig() };
  if (states?.has(loss)) entry.state = states.get(loss);
  else if (typeof loss.getState === 'function') entry.state = loss.getState();
  return entry;
}

// ---------------------------------------------------------------------------------------------
// Errors of a damaged or partial save

/** Who reports: the hook runs inside `tf.loadLayersModel`, the function users called. */
const OWNER = 'tf.loadLayersModel';

/** The recovery every damaged-save error ends with. */
export const RECOVERY =
  "To load the model's topology and weights anyway, without its training configuration, use " +
  "loadLayersModelWithoutTraining(source) from tfjs-gala, then compile it with a new loss and optimizer " +
  '(docs/guide/02-save-load.md, "A damaged save").';

/** Where an entry sits in the block: `losses` or `metrics`. */
export type Section = 'losses' | 'metrics';

/**
 * `trainingConfig.tfjs_gala.losses.loss.state`, `trainingConfig.tfjs_gala.losses["0"].state`,
 * `trainingConfig.tfjs_gala.metrics["1"]`, ...
 */
export function blockPath(key?: string, field?: string, section: Section = 'losses'): string {
  let path = `trainingConfig.${TRAINING_CONFIG_KEY}`;
  if (key === undefined) return path;
  path += `.${section}${accessor(key)}`;
  return field === undefined ? path : `${path}.${field}`;
}

/** `.name` for an identifier, `["1"]` for any other key. */
export function accessor(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** A short, JSON-like rendering of a saved value for an error message. */
export function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** `tf.loadLayersModel: model.json's <where> must be <allowed>; received <received>. <then>` */
export function savedModelError(where: string, allowed: string, received: string, then = RECOVERY): Error {
  return new Error(`${OWNER}: model.json's ${where} must be ${allowed}; received ${received.replace(/\.+$/, '')}. ${then}`);
}

/** The stored block, checked before anything is built from it. */
export function checkStoredLosses(block: unknown): StoredLosses {
  if (block == null || typeof block !== 'object' || Array.isArray(block)) {
    throw savedModelError(blockPath(), 'an object {format, losses}', show(block));
  }
  const { format, losses, metrics } = block as Partial<StoredLosses>;
  if (typeof format !== 'number' || !READABLE_FORMATS.includes(format)) {
    const newest = Math.max(...READABLE_FORMATS);
    const newer = typeof format === 'number' && format > newest;
    throw savedModelError(
      `${blockPath()}.format`,
      `${READABLE_FORMATS.join(' or ')}, the formats this version of tfjs-gala reads`,
      show(format),
      newer ? 'The model was saved by a newer tfjs-gala: update tfjs-gala to load it.' : RECOVERY,
    );
  }
  if (losses == null || typeof losses !== 'object' || Array.isArray(losses)) {
    throw savedModelError(`${blockPath()}.losses`, 'an object with one entry per package loss', show(losses));
  }
  if (metrics !== undefined && (metrics == null || typeof metrics !== 'object' || Array.isArray(metrics))) {
    throw savedModelError(`${blockPath()}.metrics`, 'an object with one entry per metric that is a package loss', show(metrics));
  }
  return block as StoredLosses;
}

// ---------------------------------------------------------------------------------------------
// Rebuilding a loss

/** A registry entry; `[null, null]` for an alias of an old class name whose class is not registered. */
type Registered = [tf.serialization.SerializableConstructor<tf.serialization.Serializable> | null, tf.serialization.FromConfigMethod<tf.serialization.Serializable> | null];

function dispose(loss: unknown): void {
  if (loss != null && typeof (loss as SerializableLoss).dispose === 'function') (loss as SerializableLoss).dispose!();
}

/**
 * Rebuilds the loss stored under `key` (`'loss'`, an output index or an output name) of
 * `section` (`losses`, or `metrics` for a metric saved as a loss of its own).
 * @throws Error naming `trainingConfig.tfjs_gala.losses.<key>` and the field, when the entry is
 *   missing or damaged: no registered class, a config its class rejects, a state that is
 *   missing (for a loss with `setState`), damaged, or for another number of classes than the config.
 */
export function restoreLoss(entry: unknown, key: string, section: Section = 'losses'): SerializableLoss {
  if (entry == null || typeof entry !== 'object' || Array.isArray(entry)) {
    throw savedModelError(blockPath(key, undefined, section), 'an object {class_name, config, state}', show(entry));
  }
  const { class_name: className, config } = entry as Partial<SerializedLoss>;
  const registered: Registered | undefined =
    typeof className === 'string' ? tf.serialization.SerializationMap.getMap().classNameMap[className] : undefined;
  if (registered?.[0] == null || registered[1] == null) {
    throw savedModelError(
      blockPath(key, 'class_name', section),
      'the className of a registered loss class',
      show(className),
      typeof className === 'string'
        ? 'Import the module that defines it (and registers it with registerLoss) before loading the model.'
        : RECOVERY,
    );
  }
  if (config == null || typeof config !== 'object' || Array.isArray(config)) {
    throw savedModelError(blockPath(key, 'config', section), `the constructor arguments of ${className} (an object)`, show(config));
  }
  const [cls, fromConfig] = registered;
  let built: unknown;
  try {
    built = fromConfig(cls, config);
  } catch (err) {
    throw savedModelError(blockPath(key, 'config', section), `a valid ${className} config`, `${show(config)}, which it rejects: ${(err as Error).message}`);
  }
  if (!isSerializableLoss(built)) {
    dispose(built);
    throw savedModelError(blockPath(key, 'class_name', section), 'a loss class (callable, with getConfig)', `'${className}', which is not one`);
  }
  const loss = built;
  if (typeof loss.setState !== 'function') return loss;
  try {
    restoreState(loss, className!, key, (entry as SerializedLoss).state, section);
  } catch (err) {
    dispose(loss);
    throw err;
  }
  return loss;
}

function restoreState(loss: SerializableLoss, className: string, key: string, state: unknown, section: Section): void {
  const where = blockPath(key, 'state', section);
  if (state === undefined) {
    throw savedModelError(
      where,
      `the saved state of its ${className} (setState would otherwise restart it from zero)`,
      'an entry without a state field (the save was edited, truncated, or rewritten by a tool that drops fields)',
    );
  }
  try {
    loss.setState!(state as never);
  } catch (err) {
    const mismatch = classCountMismatch(loss, state);
    if (mismatch != null) {
      throw savedModelError(
        blockPath(key, undefined, section),
        `a config and a state for the same number of classes`,
        `a ${className} config for ${mismatch.config} classes and a state for ${mismatch.state} (${mismatch.fields
          .map((f) => `state.${f}`)
          .join(', ')} of length ${mismatch.state})`,
      );
    }
    throw savedModelError(where, `a valid ${className} state`, `a damaged one: ${(err as Error).message}`);
  }
}

/**
 * When every array of the saved state has one length and the loss (built from the config)
 * holds arrays of another length, the config and the state disagree on the class count.
 * Read on the error path only (`getState` syncs with the device).
 */
function classCountMismatch(loss: SerializableLoss, state: unknown): { config: number; state: number; fields: string[] } | null {
  if (typeof loss.getState !== 'function' || state == null || typeof state !== 'object') return null;
  let fresh: unknown;
  try {
    fresh = loss.getState();
  } catch {
    return null;
  }
  if (fresh == null || typeof fresh !== 'object') return null;
  const configLengths = new Set<number>();
  const savedLengths = new Set<number>();
  const fields: string[] = [];
  for (const [field, value] of Object.entries(fresh)) {
    if (!Array.isArray(value)) continue;
    configLengths.add(value.length);
    const saved = (state as Record<string, unknown>)[field];
    if (Array.isArray(saved)) {
      savedLengths.add(saved.length);
      fields.push(field);
    }
  }
  if (configLengths.size !== 1 || savedLengths.size !== 1) return null;
  const [configCount] = configLengths;
  const [savedCount] = savedLengths;
  return configCount === savedCount ? null : { config: configCount, state: savedCount, fields };
}

/** Disposes the losses already rebuilt when a later one fails. */
export function disposeAll(losses: readonly unknown[]): void {
  for (const loss of losses) dispose(loss);
}
