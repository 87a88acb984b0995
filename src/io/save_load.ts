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
import * as tfl from '@tensorflow/tfjs-layers';

import { installLegacyClassNames } from './legacy_class_names';
import { makeLoadHook } from './load_hooks';
import { makeSaveHooks } from './save_hooks';
import {
  TRAINING_CONFIG_FORMAT,
  TRAINING_CONFIG_FORMAT_WITH_METRICS,
  TRAINING_CONFIG_KEY,
  lossMarker,
  metricMarker,
  show,
  type SerializedLoss,
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

/** Wraps tfjs's own methods: the save side in `save_hooks.ts`, the load side in `load_hooks.ts`. */
function makeHooks(original: Record<Method, AnyMethod>): Record<Method, AnyMethod> {
  const { save, getTrainingConfig } = makeSaveHooks(
    original.save as Parameters<typeof makeSaveHooks>[0],
    original.getTrainingConfig as Parameters<typeof makeSaveHooks>[1],
  );
  const loadTrainingConfig = makeLoadHook(original.loadTrainingConfig as Parameters<typeof makeLoadHook>[0]);
  return { save, getTrainingConfig, loadTrainingConfig } as unknown as Record<Method, AnyMethod>;
}

installSaveLoadHooks();
installLegacyClassNames();
