/**
 * Makes `model.save(h, {includeOptimizer: true})` / `tf.loadLayersModel(h)` keep the package's
 * losses, config and accumulated state included.
 *
 * Stock tfjs-layers 4.22 writes a function loss as `loss: {}` (and throws "Serialization of
 * non-string loss" for a callable object with fields), and a loaded model then cannot train.
 * There is no public hook, so at import this module wraps three methods of
 * `LayersModel.prototype`:
 *
 * - `save`: first reads each package loss's state with `await loss.getStateAsync()` when the
 *   loss has it (no synchronous device read, which is fragile on webgpu), then runs the stock save.
 * - `getTrainingConfig` (called by the stock save): each package loss is written as a marker
 *   string in `trainingConfig.loss` (the stock loader fails on it with a message that says to
 *   import tfjs-gala) and in full, `{class_name, config, state}`, under the extra key
 *   `trainingConfig.tfjs_gala`, which survives the JSON round trip of every IO handler. The state
 *   is the one `save` read, or `getState()`. A metric that is a package loss (tfjs would write
 *   its function name, which no loader finds) is written as a marker in `trainingConfig.metrics`
 *   and recorded under `trainingConfig.tfjs_gala.metrics`: as a reference to the loss it is (the
 *   usual `compile({loss: g, metrics: [g]})`), or in full when it is another instance.
 * - `loadTrainingConfig`: the stock loader runs as usual (it deserializes the optimizer and
 *   calls `compile`); the `compile` call is intercepted once to pass the rebuilt losses and
 *   metrics instead of the markers (a metric that was the loss is the rebuilt loss itself, so
 *   they share their state). The optimizer weights are then restored by the stock loader. A
 *   missing or damaged entry is an error naming the field (see `saved_losses.ts`).
 *
 * The wrappers are installed once per tfjs-layers instance, whatever the number of copies of
 * this package in the process (an ESM and a CommonJS build, say): the record of what was
 * replaced lives on the prototype under `Symbol.for('tfjs-gala.saveLoadHooks')`, which every
 * copy finds, and {@link uninstallSaveLoadHooks} puts the stock methods back.
 *
 * Models compiled with any other loss are saved and loaded exactly as before.
 */
import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import { installLegacyClassNames } from './legacy_class_names';
import {
  TRAINING_CONFIG_FORMAT,
  TRAINING_CONFIG_FORMAT_WITH_METRICS,
  TRAINING_CONFIG_KEY,
  accessor,
  blockPath,
  checkStoredLosses,
  disposeAll,
  isSerializableLoss,
  lossEntries,
  lossMarker,
  markerClassName,
  metricEntries,
  metricMarker,
  packageLosses,
  restoreLoss,
  savedModelError,
  serializeLoss,
  show,
  type LossSpec,
  type SerializableLoss,
  type SerializedLoss,
  type StoredLosses,
  type StoredMetric,
} from './saved_losses';

export { TRAINING_CONFIG_FORMAT, TRAINING_CONFIG_FORMAT_WITH_METRICS, TRAINING_CONFIG_KEY, lossMarker, metricMarker, type SerializedLoss, type StoredMetric };

/** Where the installed hooks are recorded on `LayersModel.prototype` (shared by every copy of the package). */
export const SAVE_LOAD_HOOKS = Symbol.for('tfjs-gala.saveLoadHooks');

const METHODS = ['save', 'getTrainingConfig', 'loadTrainingConfig'] as const;
type Method = (typeof METHODS)[number];
type AnyMethod = (this: unknown, ...args: never[]) => unknown;

/** What {@link installSaveLoadHooks} records on the prototype, for {@link uninstallSaveLoadHooks}. */
interface HookRecord {
  /** Layout of this record; a copy that does not know it leaves the hooks alone. */
  readonly layout: 1;
  /** The methods replaced, and whether each was the prototype's own property. */
  readonly original: Readonly<Record<Method, { readonly fn: AnyMethod; readonly own: boolean }>>;
  /** The wrappers installed. */
  readonly installed: Readonly<Record<Method, AnyMethod>>;
}

type Prototype = Record<string | symbol, unknown>;

/** A compile `metrics` argument: a name or function, a list of them, or one per output name. */
type MetricSpec = tfl.ModelCompileArgs['metrics'];

type ModelWithLoss = Omit<tfl.LayersModel, 'loss' | 'metrics' | 'compile'> & {
  loss: LossSpec;
  metrics: MetricSpec;
  compile(args: tfl.ModelCompileArgs): void;
};

function prototypeOf(modelClass: unknown): Prototype | undefined {
  const proto = (modelClass as { prototype?: unknown } | null | undefined)?.prototype;
  return proto != null && (typeof proto === 'object' || typeof proto === 'function') ? (proto as Prototype) : undefined;
}

function recordOf(proto: Prototype | undefined): HookRecord | undefined {
  return proto != null && Object.prototype.hasOwnProperty.call(proto, SAVE_LOAD_HOOKS) ? (proto[SAVE_LOAD_HOOKS] as HookRecord) : undefined;
}

/** Whether the save/load hooks (of any copy of the package) are installed on `modelClass` (default `tf.LayersModel`). */
export function areSaveLoadHooksInstalled(modelClass: unknown = tfl.LayersModel): boolean {
  return recordOf(prototypeOf(modelClass)) != null;
}

/**
 * Installs the save/load hooks on `modelClass` (default: the `tf.LayersModel` of the tfjs-layers
 * this package imports). Runs at import; does nothing when any copy of the package already
 * installed them there. Needed only after {@link uninstallSaveLoadHooks}.
 * @throws Error when this version of tfjs-layers lacks the methods the package relies on, so a
 *   model is never saved with its loss silently dropped.
 */
export function installSaveLoadHooks(modelClass: unknown = tfl.LayersModel): void {
  const proto = prototypeOf(modelClass);
  if (recordOf(proto) != null) return;
  const missing = METHODS.filter((m) => typeof proto?.[m] !== 'function');
  if (proto == null || missing.length > 0) {
    throw new Error(
      `installSaveLoadHooks: modelClass must have LayersModel.prototype.${METHODS.join('/')}, which tfjs-gala wraps to save ` +
        `and load its losses (tested with tfjs-layers 4.22); received ${proto == null ? 'no prototype' : `one without ${missing.join(', ')}`} ` +
        `(tfjs-layers ${tfl.version_layers ?? 'unknown version'} is installed).`,
    );
  }
  const fns = Object.fromEntries(METHODS.map((m) => [m, proto[m] as AnyMethod])) as Record<Method, AnyMethod>;
  const installed = makeHooks(fns);
  const record: HookRecord = {
    layout: 1,
    original: Object.fromEntries(
      METHODS.map((m) => [m, { fn: fns[m], own: Object.prototype.hasOwnProperty.call(proto, m) }]),
    ) as HookRecord['original'],
    installed,
  };
  for (const m of METHODS) {
    Object.defineProperty(proto, m, { value: installed[m], writable: true, configurable: true, enumerable: false });
  }
  Object.defineProperty(proto, SAVE_LOAD_HOOKS, { value: record, configurable: true, enumerable: false, writable: false });
}

/**
 * Removes the save/load hooks from `modelClass` (default `tf.LayersModel`), whichever copy of
 * the package installed them, and puts tfjs's own methods back: models then save and load as
 * with stock tfjs (a package loss is written as `loss: {}` again). {@link installSaveLoadHooks}
 * installs them again. Class registrations stay.
 * @returns whether hooks were installed (and are now removed).
 * @throws Error when a method was replaced again after the hooks were installed (another
 *   wrapper sits on top of them): nothing is changed then.
 */
export function uninstallSaveLoadHooks(modelClass: unknown = tfl.LayersModel): boolean {
  const proto = prototypeOf(modelClass);
  const record = recordOf(proto);
  if (proto == null || record == null) return false;
  if (record.layout !== 1) {
    throw new Error(`uninstallSaveLoadHooks: the installed hooks must have record layout 1; received layout ${show(record.layout)} (installed by a newer tfjs-gala).`);
  }
  const replaced = METHODS.filter((m) => proto[m] !== record.installed[m]);
  if (replaced.length > 0) {
    throw new Error(
      `uninstallSaveLoadHooks: LayersModel.prototype.${replaced.join(', ')} must still be tfjs-gala's hook; received ` +
        'another function, installed after it. Remove that wrapper first.',
    );
  }
  for (const m of METHODS) {
    const { fn, own } = record.original[m];
    if (own) Object.defineProperty(proto, m, { value: fn, writable: true, configurable: true, enumerable: false });
    else delete proto[m];
  }
  delete proto[SAVE_LOAD_HOOKS];
  return true;
}

/** States read by the `save` hook (awaited), for the `getTrainingConfig` call inside the same save. */
const statesReadForSave = new WeakMap<object, ReadonlyMap<unknown, unknown>>();

function makeHooks(original: Record<Method, AnyMethod>): Record<Method, AnyMethod> {
  const originalSave = original.save as (this: unknown, handler: unknown, config?: tf.io.SaveConfig) => Promise<unknown>;
  const originalGet = original.getTrainingConfig as (this: unknown) => Record<string, unknown>;
  const originalLoad = original.loadTrainingConfig as (this: unknown, config: unknown) => unknown;

  async function save(this: ModelWithLoss, handlerOrURL: unknown, config?: tf.io.SaveConfig): Promise<unknown> {
    const asyncLosses =
      config?.includeOptimizer && this.optimizer != null
        ? [...new Set([...packageLosses(this.loss), ...packageMetrics(this.metrics)])].filter((l) => typeof l.getStateAsync === 'function')
        : [];
    if (asyncLosses.length === 0) return originalSave.call(this, handlerOrURL, config);
    const read = await Promise.all(asyncLosses.map((loss) => loss.getStateAsync!()));
    const states = new Map<unknown, unknown>(asyncLosses.map((loss, i) => [loss, read[i]]));
    statesReadForSave.set(this, states);
    try {
      return await originalSave.call(this, handlerOrURL, config);
    } finally {
      if (statesReadForSave.get(this) === states) statesReadForSave.delete(this);
    }
  }

  function getTrainingConfig(this: ModelWithLoss): Record<string, unknown> {
    const states = statesReadForSave.get(this);
    const stored: Record<string, SerializedLoss> = {};
    const markers = replaceWithMarkers(this.loss, stored, states);
    const storedMetrics: Record<string, StoredMetric> = {};
    const metricMarkers = replaceMetricsWithMarkers(this.metrics, this.loss, storedMetrics, states);
    if (markers === null && metricMarkers === null) return originalGet.call(this);
    const { loss, metrics } = this;
    // Let the stock code serialize the optimizer (and any other loss or metric) around marker strings.
    if (markers !== null) this.loss = markers;
    if (metricMarkers !== null) this.metrics = metricMarkers;
    let config: Record<string, unknown>;
    try {
      config = originalGet.call(this);
    } finally {
      this.loss = loss;
      this.metrics = metrics;
    }
    const block: StoredLosses =
      metricMarkers === null
        ? { format: TRAINING_CONFIG_FORMAT, losses: stored }
        : { format: TRAINING_CONFIG_FORMAT_WITH_METRICS, losses: stored, metrics: storedMetrics };
    return { ...config, [TRAINING_CONFIG_KEY]: block };
  }

  function loadTrainingConfig(this: ModelWithLoss, trainingConfig: Record<string, unknown>): unknown {
    const rawBlock = trainingConfig?.[TRAINING_CONFIG_KEY];
    if (rawBlock == null) {
      checkNoOrphanMarkers(trainingConfig?.loss, trainingConfig?.metrics);
      return originalLoad.call(this, trainingConfig);
    }
    const block = checkStoredLosses(rawBlock);
    let restored: unknown = undefined;
    let compiled = false;
    // Intercept the one compile call the stock loader makes; everything else stays stock.
    this.compile = (args: tfl.ModelCompileArgs) => {
      delete (this as { compile?: unknown }).compile;
      let metrics: unknown;
      try {
        const losses = restoreLosses(args.loss, block);
        try {
          metrics = restoreMetrics(args.metrics, block, losses.byKey);
        } catch (err) {
          disposeAll([...losses.byKey.values()]);
          throw err;
        }
        restored = losses.spec;
      } catch (err) {
        // Nobody else holds the optimizer the stock loader just built for this compile.
        if (args.optimizer != null && typeof args.optimizer === 'object') args.optimizer.dispose();
        throw err;
      }
      compiled = true;
      this.compile({ ...args, loss: restored as tfl.ModelCompileArgs['loss'], metrics: metrics as MetricSpec });
    };
    try {
      originalLoad.call(this, trainingConfig);
    } finally {
      delete (this as { compile?: unknown }).compile;
    }
    if (compiled && this.loss === restored) return undefined;
    // A hook of an older copy of the package (installed without the shared record) below this
    // one may have restored the losses itself.
    if (!compiled && packageLosses(this.loss).length > 0 && !lossEntries(this.loss).some(([, v]) => markerClassName(v) != null)) return undefined;
    throw new Error(
      'tf.loadLayersModel: loading the training config must compile the model with the losses saved in ' +
        `trainingConfig.${TRAINING_CONFIG_KEY}; received a model ${compiled ? 'compiled with other losses' : 'that was not compiled'} ` +
        `(tfjs-layers ${tfl.version_layers} loads training configs differently from 4.22, which tfjs-gala was tested with).`,
    );
  }

  return { save, getTrainingConfig, loadTrainingConfig } as unknown as Record<Method, AnyMethod>;
}

/** Replaces package losses in a compile `loss` spec by marker strings, collecting them. */
function replaceWithMarkers(spec: LossSpec, stored: Record<string, SerializedLoss>, states?: ReadonlyMap<unknown, unknown>): LossSpec | null {
  if (isSerializableLoss(spec)) {
    stored.loss = serializeLoss(spec, states);
    return lossMarker(spec.getClassName());
  }
  if (packageLosses(spec).length === 0) return null;
  const replace = (key: string, entry: LossSpec): LossSpec => {
    if (!isSerializableLoss(entry)) return entry;
    stored[key] = serializeLoss(entry, states);
    return lossMarker(entry.getClassName());
  };
  if (Array.isArray(spec)) return spec.map((entry, i) => replace(String(i), entry));
  const out: Record<string, LossSpec> = {};
  for (const [name, entry] of Object.entries(spec as Record<string, LossSpec>)) out[name] = replace(name, entry);
  return out;
}

/**
 * Replaces the metrics that are package losses in a compile `metrics` spec by marker strings,
 * recording each in `stored`: as `{loss: key}` when it is the loss saved under that key, as
 * `{metric: key}` when an earlier metric entry is the same object, in full otherwise. Null when
 * no metric is a package loss. A dict value that is an array is left as it is (tfjs cannot save it).
 */
function replaceMetricsWithMarkers(
  spec: MetricSpec,
  lossSpec: LossSpec,
  stored: Record<string, StoredMetric>,
  states?: ReadonlyMap<unknown, unknown>,
): MetricSpec | null {
  if (packageMetrics(spec).length === 0) return null;
  const lossKeys = new Map<unknown, string>();
  for (const [key, value] of lossEntries(lossSpec)) {
    if (isSerializableLoss(value) && !lossKeys.has(value)) lossKeys.set(value, key);
  }
  const savedAs = new Map<unknown, string>();
  const replace = <T>(key: string, entry: T): T | string => {
    if (!isSerializableLoss(entry)) return entry;
    const lossKey = lossKeys.get(entry);
    const metricKey = savedAs.get(entry);
    if (lossKey !== undefined) stored[key] = { loss: lossKey };
    else if (metricKey !== undefined) stored[key] = { metric: metricKey };
    else {
      stored[key] = serializeLoss(entry, states);
      savedAs.set(entry, key);
    }
    return metricMarker(entry.getClassName());
  };
  // tfjs saves a single metric as an array of one: key '0', as metricEntries has it.
  if (typeof spec === 'function') return [replace('0', spec) as string];
  if (Array.isArray(spec)) return spec.map((entry, i) => replace(String(i), entry)) as MetricSpec;
  const out: Record<string, unknown> = {};
  for (const [name, entry] of Object.entries(spec as Record<string, unknown>)) out[name] = replace(name, entry);
  return out as MetricSpec;
}

/** The package losses among the metrics of a compile spec. */
function packageMetrics(spec: unknown): SerializableLoss[] {
  return metricEntries(spec)
    .map(([, value]) => value)
    .filter(isSerializableLoss);
}

/**
 * Rebuilds the compile `loss` spec from the stock (camel-cased) spec and the stored losses;
 * `byKey` holds the rebuilt losses by their key in the block.
 */
function restoreLosses(spec: unknown, block: StoredLosses): { spec: unknown; byKey: Map<string, SerializableLoss> } {
  const built: SerializableLoss[] = [];
  const byKey = new Map<string, SerializableLoss>();
  const restore = (key: string, value: unknown, where: string): unknown => {
    if (Object.prototype.hasOwnProperty.call(block.losses, key)) {
      const loss = restoreLoss(block.losses[key], key);
      built.push(loss);
      byKey.set(key, loss);
      return loss;
    }
    const className = markerClassName(value);
    if (className != null) {
      throw savedModelError(
        blockPath(key),
        `present: trainingConfig.loss${where} names a loss saved by tfjs-gala (${className}), whose class, config and state are stored there`,
        `a ${TRAINING_CONFIG_KEY} entry without it`,
      );
    }
    return value;
  };
  try {
    let out: unknown;
    if (Array.isArray(spec)) out = spec.map((entry, i) => restore(String(i), entry, `[${i}]`));
    else if (spec != null && typeof spec === 'object') {
      const dict: Record<string, unknown> = {};
      for (const [name, entry] of Object.entries(spec)) dict[name] = restore(name, entry, `.${name}`);
      out = dict;
    } else out = restore('loss', spec, '');
    return { spec: out, byKey };
  } catch (err) {
    disposeAll(built);
    throw err;
  }
}

/**
 * Rebuilds the compile `metrics` spec from the stock (camel-cased) spec and
 * `block.metrics`: a `{loss: key}` entry is the rebuilt loss `losses[key]` itself, a
 * `{metric: key}` entry the same object as that metric entry, a full entry a loss of its own.
 * A block without `metrics` (format 1, every save by 0.1.0) leaves the metrics as they are.
 * @throws Error naming `trainingConfig.tfjs_gala.metrics.<key>` when an entry is missing (a
 *   marker without it) or damaged; the metrics already rebuilt are disposed.
 */
function restoreMetrics(spec: unknown, block: StoredLosses, losses: ReadonlyMap<string, SerializableLoss>): unknown {
  const stored = block.metrics ?? {};
  const has = (key: unknown): key is string => typeof key === 'string' && Object.prototype.hasOwnProperty.call(stored, key);
  const built: SerializableLoss[] = [];
  const byKey = new Map<string, SerializableLoss>();
  const where = (key: string) => blockPath(key, undefined, 'metrics');

  const resolve = (key: string): SerializableLoss => {
    const done = byKey.get(key);
    if (done !== undefined) return done;
    const entry = stored[key] as unknown;
    if (entry == null || typeof entry !== 'object' || Array.isArray(entry)) {
      throw savedModelError(where(key), 'an object {loss: key}, {metric: key} or {class_name, config, state}', show(entry));
    }
    let metric: SerializableLoss;
    if ('loss' in entry) {
      const lossKey = (entry as { loss: unknown }).loss;
      const loss = typeof lossKey === 'string' ? losses.get(lossKey) : undefined;
      if (loss === undefined) {
        throw savedModelError(
          blockPath(key, 'loss', 'metrics'),
          `the key of a loss saved in ${blockPath()}.losses (${[...losses.keys()].map((k) => JSON.stringify(k)).join(', ') || 'there is none'})`,
          show(lossKey),
        );
      }
      metric = loss;
    } else if ('metric' in entry) {
      // One level only: the entry referred to is a loss reference or a full entry, never another {metric}.
      const metricKey = (entry as { metric: unknown }).metric;
      const target = has(metricKey) && metricKey !== key ? (stored[metricKey] as unknown) : undefined;
      if (target == null || (typeof target === 'object' && 'metric' in target)) {
        throw savedModelError(blockPath(key, 'metric', 'metrics'), `the key of another entry of ${blockPath()}.metrics, not itself a {metric} entry`, show(metricKey));
      }
      metric = resolve(metricKey as string);
    } else {
      metric = restoreLoss(entry, key, 'metrics');
      built.push(metric);
    }
    byKey.set(key, metric);
    return metric;
  };

  const restore = (key: string, value: unknown, at: string): unknown => {
    if (has(key)) return resolve(key);
    const className = markerClassName(value);
    if (className != null) {
      throw savedModelError(
        where(key),
        `present: trainingConfig.metrics${at} names a loss saved by tfjs-gala (${className}) as a metric, which is recorded there`,
        block.metrics === undefined ? `a ${TRAINING_CONFIG_KEY} block without metrics` : `a ${TRAINING_CONFIG_KEY}.metrics entry without it`,
      );
    }
    return value;
  };
  try {
    if (spec == null) return spec;
    if (Array.isArray(spec)) return spec.map((entry, i) => restore(String(i), entry, `[${i}]`));
    if (typeof spec === 'object') {
      const out: Record<string, unknown> = {};
      for (const [name, entry] of Object.entries(spec)) out[name] = restore(name, entry, accessor(name));
      return out;
    }
    // The stock loader passes an array or a dict; a single value is entry '0', as tfjs saves it.
    return has('0') ? [restore('0', spec, '[0]')] : spec;
  } catch (err) {
    disposeAll(built);
    throw err;
  }
}

/** A training config that names a package loss (as a loss or a metric) but lost the block that holds it. */
function checkNoOrphanMarkers(loss: unknown, metrics: unknown): void {
  const markedIn = (entries: Array<[string, unknown]>) =>
    entries.map(([, value]) => markerClassName(value)).filter((name): name is string => name != null);
  const inLoss = markedIn(lossEntries(loss));
  const inMetrics = markedIn(metricEntries(metrics));
  const names = [...inLoss, ...inMetrics];
  if (names.length === 0) return;
  const fields = [inLoss.length > 0 ? 'trainingConfig.loss' : null, inMetrics.length > 0 ? 'trainingConfig.metrics' : null].filter((f) => f != null);
  throw savedModelError(
    blockPath(),
    `present: ${fields.join(' and ')} ${fields.length === 1 ? 'names' : 'name'} ${names.length === 1 ? 'a loss' : 'losses'} saved by tfjs-gala (${[...new Set(names)].join(', ')}), ` +
      'whose class, config and state are stored there',
    'a training config without it (removed by hand, or by a tool that drops unknown keys); tfjs-gala is imported, it has nothing to restore the loss from',
  );
}

installSaveLoadHooks();
installLegacyClassNames();
