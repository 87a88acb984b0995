/**
 * Models saved before the package qualified its class names keep loading.
 *
 * tfjs-gala 0.1.0 registered its classes under bare names (`'GalaLoss'`, `'PredictionRebalance'`),
 * and its saved models name them so: a loss in `trainingConfig.tfjs_gala`, a layer in the
 * topology. The classes are now registered under package-qualified names
 * (`'tfjs-gala.GalaLoss'`), so each bare name gets an alias in tfjs's class registry
 * (`tf.serialization.SerializationMap`), which is where tfjs-layers looks layer classes up:
 *
 * - only when no class holds the bare name already: a user's own `PredictionRebalance` is never
 *   replaced, and registering one later replaces the alias (the alias is an accessor whose setter
 *   turns into an ordinary entry);
 * - not enumerable: listings of the registry show the classes, not the aliases;
 * - resolved when read, so the order in which modules register does not matter; while the
 *   qualified class is not registered the alias reads as an unknown class (`[null, null]`, which
 *   tfjs reports as `Unknown layer: <name>`).
 */
import * as tf from '@tensorflow/tfjs-core';

/** Bare name a released version saved -> the name the class is registered under now. */
export const LEGACY_CLASS_NAMES: Readonly<Record<string, string>> = Object.freeze({
  GalaLoss: 'tfjs-gala.GalaLoss',
  CrossEntropyLoss: 'tfjs-gala.CrossEntropyLoss',
  FocalLoss: 'tfjs-gala.FocalLoss',
  LogitAdjustedLoss: 'tfjs-gala.LogitAdjustedLoss',
  BalancedSoftmaxLoss: 'tfjs-gala.BalancedSoftmaxLoss',
  LDAMLoss: 'tfjs-gala.LDAMLoss',
  PredictionRebalance: 'tfjs-gala.PredictionRebalance',
  GradientMonitor: 'tfjs-gala.GradientMonitor',
});

/** Tags the alias getters, so that any copy of the package recognises them. */
const ALIAS_TAG = Symbol.for('tfjs-gala.legacyClassName');

type Entry = unknown[];
type ClassNameMap = Record<string, Entry>;

const UNKNOWN: Entry = Object.freeze([null, null]) as unknown as Entry;

function classNameMap(): ClassNameMap {
  return tf.serialization.SerializationMap.getMap().classNameMap as unknown as ClassNameMap;
}

/** Whether `name` is one of these aliases in `map` (and not a class registered under that name). */
export function isLegacyAlias(name: string, map: ClassNameMap = classNameMap()): boolean {
  const descriptor = Object.getOwnPropertyDescriptor(map, name);
  return descriptor?.get != null && (descriptor.get as { [ALIAS_TAG]?: string })[ALIAS_TAG] === name;
}

/**
 * Adds an alias for each of {@link LEGACY_CLASS_NAMES} that no class holds. Called once at
 * import; calling it again adds nothing twice.
 */
export function installLegacyClassNames(map: ClassNameMap = classNameMap()): void {
  for (const [bare, qualified] of Object.entries(LEGACY_CLASS_NAMES)) {
    if (bare === qualified || Object.prototype.hasOwnProperty.call(map, bare)) continue;
    const get = (): Entry => (Object.prototype.hasOwnProperty.call(map, qualified) ? map[qualified] : UNKNOWN);
    Object.defineProperty(get, ALIAS_TAG, { value: bare });
    Object.defineProperty(map, bare, {
      get,
      // tf.serialization.registerClass assigns: the class registered later takes the name over.
      set(value: Entry) {
        Object.defineProperty(map, bare, { value, writable: true, enumerable: true, configurable: true });
      },
      enumerable: false,
      configurable: true,
    });
  }
}

/** Removes the aliases {@link installLegacyClassNames} added (whichever copy of the package added them). */
export function uninstallLegacyClassNames(map: ClassNameMap = classNameMap()): void {
  for (const bare of Object.keys(LEGACY_CLASS_NAMES)) {
    if (isLegacyAlias(bare, map)) delete map[bare];
  }
}
