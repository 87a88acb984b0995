import * as tfl from '@tensorflow/tfjs-layers';

import { closestKey } from '../core/known_keys';
import { describeValue } from '../core/labels';

/**
 * Callbacks arrays that mix class callbacks and plain objects.
 *
 * tfjs-layers 4.22 (`standardizeCallbacks`, tfjs issue #1792) looks only at the first entry of a
 * `callbacks` array: when it is a `tf.Callback`, plain objects later in the array are called as
 * if they were callbacks (`callback.setParams is not a function`); when it is a plain object,
 * every entry, class callbacks included, is wrapped in `tf.CustomCallback`, which calls the
 * class's methods with the wrapper as `this` and never hands them the model. Plain objects are
 * common: `tfvis.show.fitCallbacks(...)` returns one.
 *
 * At import, the package wraps `LayersModel.prototype.fit` and `fitDataset` once per tfjs-layers
 * instance so that, in an array holding both kinds, each plain object is wrapped in
 * `new tf.CustomCallback(object, yieldEvery)` before tfjs sees it. Arrays of one kind are
 * passed on untouched, so tfjs behaves exactly as before for them. The wrap is marked on the
 * prototype under {@link CALLBACK_MIXING_KEY} (`Symbol.for`, shared by every copy of the
 * package), so two copies never wrap twice. {@link uninstallCallbackMixing} removes it.
 *
 * Without the wrap, wrap plain objects yourself:
 * `callbacks: [monitor, new tf.CustomCallback(tfvis.show.fitCallbacks(surface, ['loss']))]`.
 */

/** Prototype property (a global symbol) that marks and records the wrap. */
export const CALLBACK_MIXING_KEY: unique symbol = Symbol.for('tfjs-gala.mixedCallbacks') as never;

/** Hook names tfjs's `CustomCallback` reads from a plain object (`CustomCallbackArgs`). */
export const PLAIN_CALLBACK_HOOKS = [
  'onTrainBegin',
  'onTrainEnd',
  'onEpochBegin',
  'onEpochEnd',
  'onBatchBegin',
  'onBatchEnd',
  'onYield',
] as const;

/** Methods a `tf.CallbackList` calls on each callback. */
const CALLBACK_METHODS = ['setParams', 'setModel', ...PLAIN_CALLBACK_HOOKS.filter((h) => h !== 'onYield')] as const;

type Fit = (this: tfl.LayersModel, x: unknown, y: unknown, args?: tfl.ModelFitArgs) => Promise<tfl.History>;
type FitDataset = (this: tfl.LayersModel, dataset: unknown, args: tfl.ModelFitDatasetArgs<unknown>) => Promise<tfl.History>;

/** What the prototype holds under {@link CALLBACK_MIXING_KEY}. */
interface MixingRecord {
  /** False after {@link uninstallCallbackMixing} when the wrappers could not be taken off. */
  enabled: boolean;
  readonly originalFit: Fit;
  readonly originalFitDataset: FitDataset;
  readonly fit: Fit;
  readonly fitDataset: FitDataset;
}

type Prototype = Record<string | symbol, unknown>;

const prototypeOf = (): Prototype => tfl.LayersModel.prototype as unknown as Prototype;

/** Whether `value` can sit in a `tf.CallbackList`: a `tf.Callback` of any copy of tfjs (duck-typed). */
export function isClassCallback(value: unknown): boolean {
  const v = value as { setParams?: unknown; setModel?: unknown } | null;
  return v != null && typeof v === 'object' && typeof v.setParams === 'function' && typeof v.setModel === 'function';
}

/**
 * `callbacks` as tfjs-layers can run them: in an array that mixes class callbacks and plain
 * objects, each plain object becomes `new tf.CustomCallback(object, yieldEvery)`. Anything else
 * (a single callback or object, an array of one kind) is returned as it is.
 *
 * @param owner how errors name the caller, e.g. `'LayersModel.fit'`.
 * @throws Error, in a mixed array, for an entry that is neither a callback nor an object, or a
 *   plain object with a hook-like key tfjs would ignore (`onEpochEnds`), naming its index.
 */
export function mixCallbacks<T>(callbacks: T, yieldEvery?: tfl.ModelFitArgs['yieldEvery'], owner = 'mixCallbacks'): T {
  if (!Array.isArray(callbacks)) return callbacks;
  const classes = callbacks.filter(isClassCallback).length;
  if (classes === 0 || classes === callbacks.length) return callbacks;
  return callbacks.map((entry: unknown, i) => {
    if (isClassCallback(entry)) return entry;
    if (entry == null || typeof entry !== 'object' || Array.isArray(entry)) {
      throw new Error(
        `${owner}: callbacks[${i}] must be a tf.Callback or a plain object of hooks like {onEpochEnd: async (epoch, logs) => {...}}; ` +
          `received ${describeValue(entry)}.`,
      );
    }
    checkHookNames(owner, i, entry);
    return new tfl.CustomCallback(entry as tfl.CustomCallbackArgs, yieldEvery);
  }) as T;
}

/** A key that looks like a hook (`on` + capital) but is none tfjs knows would be silently ignored. */
function checkHookNames(owner: string, index: number, entry: object): void {
  for (const key of Object.keys(entry)) {
    if (!/^on[A-Z]/.test(key) || (PLAIN_CALLBACK_HOOKS as readonly string[]).includes(key)) continue;
    const suggestion = closestKey(key, PLAIN_CALLBACK_HOOKS);
    throw new Error(
      `${owner}: callbacks[${index}].${key} must be one of the hooks ${PLAIN_CALLBACK_HOOKS.join(', ')}` +
        `${suggestion === null ? '' : ` (did you mean '${suggestion}'?)`}; received '${key}', which tfjs would never call.`,
    );
  }
}

/**
 * Marks a callback that writes keys into the epoch logs for later callbacks to read
 * (`LongTailEvaluation` adds `val_balanced_acc` ...). tfjs hands one logs object to the callbacks
 * in list order, so a callback that reads such a key (`earlyStopping`'s `monitor`) must come
 * after the writer; the fit wrapper warns when it does not. The order itself is kept: other
 * hooks (`onTrainEnd`, where best weights are restored) depend on it too.
 */
export const WRITES_EPOCH_LOGS: unique symbol = Symbol.for('tfjs-gala.writesEpochLogs') as never;

/** Marks `callback` as writing the epoch-log keys `keys()` returns (see {@link WRITES_EPOCH_LOGS}). */
export function markLogWriter(callback: object, keys: () => readonly string[]): void {
  Object.defineProperty(callback, WRITES_EPOCH_LOGS, { value: keys, enumerable: false });
}

/**
 * The warnings for callbacks that read (`monitor`) an epoch-log key that a marked writer listed
 * after them adds: they would never see it (`earlyStopping` warns "Metric ... is not available"
 * every epoch and never stops).
 */
export function lateLogWriterWarnings(callbacks: readonly unknown[]): string[] {
  const warnings: string[] = [];
  callbacks.forEach((reader, i) => {
    const monitor = reader != null && typeof reader === 'object' ? (reader as { monitor?: unknown }).monitor : undefined;
    if (typeof monitor !== 'string') return;
    callbacks.slice(i + 1).forEach((writer, k) => {
      const keys = writer != null && typeof writer === 'object' ? (writer as { [WRITES_EPOCH_LOGS]?: () => readonly string[] })[WRITES_EPOCH_LOGS] : undefined;
      if (typeof keys !== 'function' || !keys().includes(monitor)) return;
      const name = (writer as object).constructor?.name ?? 'callback';
      warnings.push(
        `tfjs-gala: callbacks[${i}] monitors '${monitor}', which callbacks[${i + k + 1}] (${name}) adds to the epoch logs after it has read them: ` +
          `list ${name} before it.`,
      );
    });
  });
  return warnings;
}

function withMixedCallbacks<A extends { callbacks?: unknown; yieldEvery?: tfl.ModelFitArgs['yieldEvery'] } | undefined>(args: A, owner: string): A {
  if (args == null || !Array.isArray(args.callbacks)) return args;
  const callbacks = mixCallbacks(args.callbacks, args.yieldEvery, owner) as unknown[];
  for (const warning of lateLogWriterWarnings(callbacks)) console.warn(warning);
  return callbacks === args.callbacks ? args : { ...args, callbacks };
}

/**
 * Wraps `LayersModel.prototype.fit` and `fitDataset` of the tfjs-layers this package uses so
 * that mixed callbacks arrays work (see the module notes). Runs at import; calling it again, or
 * from a second copy of the package, does nothing more. Undone by {@link uninstallCallbackMixing}.
 * @returns true when this call installed (or re-enabled) the wrap, false when it was already on.
 */
export function installCallbackMixing(): boolean {
  const proto = prototypeOf();
  const existing = proto[CALLBACK_MIXING_KEY] as MixingRecord | undefined;
  if (existing != null) {
    if (existing.enabled) return false;
    existing.enabled = true;
    return true;
  }
  const originalFit = proto.fit as Fit;
  const originalFitDataset = proto.fitDataset as FitDataset;
  const record: MixingRecord = {
    enabled: true,
    originalFit,
    originalFitDataset,
    fit: function fit(this: tfl.LayersModel, x, y, args) {
      return originalFit.call(this, x, y, record.enabled ? withMixedCallbacks(args, 'LayersModel.fit') : args);
    },
    fitDataset: function fitDataset(this: tfl.LayersModel, dataset, args) {
      return originalFitDataset.call(this, dataset, record.enabled ? withMixedCallbacks(args, 'LayersModel.fitDataset') : args);
    },
  };
  Object.defineProperty(proto, CALLBACK_MIXING_KEY, { value: record, configurable: true, writable: true, enumerable: false });
  proto.fit = record.fit;
  proto.fitDataset = record.fitDataset;
  return true;
}

/**
 * Takes the wrap of {@link installCallbackMixing} off `LayersModel.prototype` (whichever copy of
 * the package installed it): `fit` and `fitDataset` are tfjs's own again. When something else
 * has wrapped them since, the wrap stays in place but passes every call straight through.
 * @returns true when a wrap was on.
 */
export function uninstallCallbackMixing(): boolean {
  const proto = prototypeOf();
  const record = proto[CALLBACK_MIXING_KEY] as MixingRecord | undefined;
  if (record == null || !record.enabled) return false;
  record.enabled = false;
  if (proto.fit === record.fit && proto.fitDataset === record.fitDataset) {
    proto.fit = record.originalFit;
    proto.fitDataset = record.originalFitDataset;
    delete proto[CALLBACK_MIXING_KEY];
  }
  return true;
}

/** Whether mixed callbacks arrays are being fixed up (see {@link installCallbackMixing}). */
export function isCallbackMixingInstalled(): boolean {
  return (prototypeOf()[CALLBACK_MIXING_KEY] as MixingRecord | undefined)?.enabled === true;
}

/**
 * Binds the callback's methods to it, so that they still work when tfjs calls them through a
 * `tf.CustomCallback` (which passes the wrapper as `this`). Called by the package's callbacks in
 * their constructors. The bound copies are own, non-enumerable properties.
 */
export function bindCallbackMethods(callback: object): void {
  const c = callback as Record<string, unknown>;
  for (const name of CALLBACK_METHODS) {
    const method = c[name];
    if (typeof method === 'function') {
      Object.defineProperty(callback, name, { value: method.bind(callback), configurable: true, writable: true, enumerable: false });
    }
  }
}

/**
 * The error a callback that needs the model throws when `fit` gave it none: that happens when
 * tfjs wrapped it in a `tf.CustomCallback`.
 * @param owner the callback's class name.
 */
export function missingModelError(owner: string): Error {
  return new Error(
    `${owner}: model must be set by fit before training starts; received none. tfjs calls every callback through ` +
      `tf.CustomCallback, which passes no model, when a callbacks array starts with a plain object such as ` +
      `{onEpochEnd() {...}} (tfvis.show.fitCallbacks returns one) and tfjs-gala's callback mixing is off: ` +
      `wrap the plain object as new tf.CustomCallback({...}), or call installCallbackMixing().`,
  );
}

installCallbackMixing();
