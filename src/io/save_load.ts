/**
 * Makes `model.save(h, {includeOptimizer: true})` / `tf.loadLayersModel(h)` keep the package's
 * losses, config and accumulated state included.
 *
 * Stock tfjs-layers 4.22 writes a function loss as `loss: {}` (and throws "Serialization of
 * non-string loss" for a callable object with fields), and a loaded model then cannot train.
 * There is no public hook, so at import this module wraps
 * `LayersModel.prototype.getTrainingConfig` and `loadTrainingConfig`:
 *
 * - save: each loss of this package is written as a marker string in `trainingConfig.loss`
 *   (the stock loader fails on it with a message that says to import tfjs-gala) and in full,
 *   `{class_name, config, state}`, under the extra key `trainingConfig.tfjs_gala`, which
 *   survives the JSON round trip of every IO handler.
 * - load: the stock `loadTrainingConfig` runs as usual (it deserializes the optimizer and calls
 *   `compile`); the `compile` call is intercepted once to pass the rebuilt losses instead of
 *   the markers. The optimizer weights are then restored by the stock loader.
 *
 * Models compiled with any other loss are saved and loaded exactly as before.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** Key under which the package stores its losses in `trainingConfig`. */
export const TRAINING_CONFIG_KEY = 'tfjs_gala';
/** Version of the stored format. */
export const TRAINING_CONFIG_FORMAT = 1;

/** A package loss as stored in a training config. */
export interface SerializedLoss {
  /** The loss's registered `className`, e.g. `'GalaLoss'` (snake_case key, as in tfjs's own configs). */
  class_name: string;
  /** The loss's `getConfig()`: its constructor arguments, so `fromConfig` is `new Cls(config)`. */
  config: tf.serialization.ConfigDict;
  /**
   * The loss's `getState()` when it has one (a {@link GalaState} for {@link GalaLoss}),
   * handed to `setState` on load; absent for stateless losses.
   */
  state?: unknown;
}

interface StoredLosses {
  format: number;
  /** `'loss'` for a single loss, the output index for an array, the output name for a dict. */
  losses: Record<string, SerializedLoss>;
}

/** What a package loss looks like from the outside (duck-typed: two builds of the package may coexist). */
interface SerializableLoss {
  (yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor;
  getConfig(): tf.serialization.ConfigDict;
  getClassName(): string;
  getState?(): unknown;
  setState?(state: never): void;
}

type LossSpec = string | ((...args: never[]) => unknown) | LossSpec[] | { [outputName: string]: LossSpec };

function isSerializableLoss(value: unknown): value is SerializableLoss {
  return (
    typeof value === 'function' &&
    typeof (value as Partial<SerializableLoss>).getConfig === 'function' &&
    typeof (value as Partial<SerializableLoss>).getClassName === 'function'
  );
}

/** Marker written where tfjs expects a loss name; stock tfjs throws `Unknown loss <marker>`. */
export function lossMarker(className: string): string {
  // No '_': tfjs passes loss names through toCamelCase, which rewrites names that contain one.
  return `${className} (saved by tfjs-gala: import 'tfjs-gala' before loading this model, to restore its loss)`;
}

function serializeLoss(loss: SerializableLoss): SerializedLoss {
  const entry: SerializedLoss = { class_name: loss.getClassName(), config: loss.getConfig() };
  if (typeof loss.getState === 'function') entry.state = loss.getState();
  return entry;
}

function deserializeLoss(entry: SerializedLoss, where: string): SerializableLoss {
  const registered = tf.serialization.SerializationMap.getMap().classNameMap[entry?.class_name];
  if (registered == null) {
    throw new Error(
      `tfjs-gala: the saved model's loss ${where} is '${entry?.class_name}', which is not a registered class. ` +
        'Import the module that defines it before tf.loadLayersModel.',
    );
  }
  const [cls, fromConfig] = registered;
  const loss: unknown = fromConfig(cls, entry.config);
  if (!isSerializableLoss(loss)) {
    throw new Error(`tfjs-gala: class '${entry.class_name}' did not build a callable loss.`);
  }
  if (entry.state !== undefined && typeof loss.setState === 'function') loss.setState(entry.state as never);
  return loss;
}

/** Replaces package losses in a compile `loss` spec by marker strings, collecting them. */
function replaceWithMarkers(spec: LossSpec, stored: Record<string, SerializedLoss>): LossSpec | null {
  if (isSerializableLoss(spec)) {
    stored.loss = serializeLoss(spec);
    return lossMarker(spec.getClassName());
  }
  if (Array.isArray(spec)) {
    if (!spec.some(isSerializableLoss)) return null;
    return spec.map((entry, i) => {
      if (!isSerializableLoss(entry)) return entry;
      stored[String(i)] = serializeLoss(entry);
      return lossMarker(entry.getClassName());
    });
  }
  if (spec != null && typeof spec === 'object') {
    const names = Object.keys(spec);
    if (!names.some((n) => isSerializableLoss(spec[n]))) return null;
    const out: Record<string, LossSpec> = {};
    for (const n of names) {
      const entry = spec[n];
      if (isSerializableLoss(entry)) {
        stored[n] = serializeLoss(entry);
        out[n] = lossMarker(entry.getClassName());
      } else {
        out[n] = entry;
      }
    }
    return out;
  }
  return null;
}

/** Rebuilds the compile `loss` spec from the stock (camel-cased) spec and the stored losses. */
function restoreLosses(spec: unknown, stored: StoredLosses): unknown {
  const losses = stored.losses ?? {};
  if (typeof spec === 'string') return losses.loss ? deserializeLoss(losses.loss, '') : spec;
  if (Array.isArray(spec)) return spec.map((entry, i) => (losses[String(i)] ? deserializeLoss(losses[String(i)], `of output ${i}`) : entry));
  if (spec != null && typeof spec === 'object') {
    const out: Record<string, unknown> = {};
    for (const [n, entry] of Object.entries(spec)) out[n] = losses[n] ? deserializeLoss(losses[n], `of output '${n}'`) : entry;
    return out;
  }
  return spec;
}

type ModelWithLoss = Omit<tfl.LayersModel, 'loss' | 'compile'> & { loss: LossSpec; compile(args: tfl.ModelCompileArgs): void };

const installedOn = new WeakSet<object>();

/**
 * Wraps the tfjs-layers methods that write and read `trainingConfig`. Called once at import.
 * @throws Error when this version of tfjs-layers lacks the methods the package relies on, so a
 *   model is never saved with its loss silently dropped.
 */
export function installTrainingConfigHooks(modelClass: unknown = tfl.LayersModel): void {
  const proto = (modelClass as { prototype?: Record<string, unknown> } | undefined)?.prototype;
  if (proto != null && installedOn.has(proto)) return;
  const originalGet = proto?.getTrainingConfig;
  const originalLoad = proto?.loadTrainingConfig;
  if (typeof originalGet !== 'function' || typeof originalLoad !== 'function') {
    throw new Error(
      'tfjs-gala: this @tensorflow/tfjs-layers has no LayersModel.prototype.getTrainingConfig/loadTrainingConfig, ' +
        'which tfjs-gala needs to save and load its losses (tested with tfjs-layers 4.22). ' +
        `Found tfjs-layers ${tfl.version_layers ?? 'unknown version'}.`,
    );
  }

  proto!.getTrainingConfig = function getTrainingConfig(this: ModelWithLoss) {
    const stored: Record<string, SerializedLoss> = {};
    const markers = replaceWithMarkers(this.loss, stored);
    if (markers === null) return (originalGet as () => unknown).call(this);
    const loss = this.loss;
    // Let the stock code serialize optimizer and metrics around marker strings.
    this.loss = markers;
    let config: Record<string, unknown>;
    try {
      config = (originalGet as () => Record<string, unknown>).call(this);
    } finally {
      this.loss = loss;
    }
    const block: StoredLosses = { format: TRAINING_CONFIG_FORMAT, losses: stored };
    return { ...config, [TRAINING_CONFIG_KEY]: block };
  };

  proto!.loadTrainingConfig = function loadTrainingConfig(this: ModelWithLoss, trainingConfig: Record<string, unknown>) {
    const block = trainingConfig?.[TRAINING_CONFIG_KEY] as StoredLosses | undefined;
    if (block == null) return (originalLoad as (c: unknown) => unknown).call(this, trainingConfig);
    if (block.format !== TRAINING_CONFIG_FORMAT) {
      throw new Error(`tfjs-gala: saved training config has format ${block.format}; this version reads format ${TRAINING_CONFIG_FORMAT}.`);
    }
    let restored: unknown = undefined;
    let compiled = false;
    // Intercept the one compile call the stock loader makes; everything else stays stock.
    this.compile = (args: tfl.ModelCompileArgs) => {
      delete (this as { compile?: unknown }).compile;
      restored = restoreLosses(args.loss, block);
      compiled = true;
      this.compile({ ...args, loss: restored as tfl.ModelCompileArgs['loss'] });
    };
    try {
      (originalLoad as (c: unknown) => unknown).call(this, trainingConfig);
    } finally {
      delete (this as { compile?: unknown }).compile;
    }
    if (!compiled || this.loss !== restored) {
      throw new Error(
        'tfjs-gala: loading the training config did not compile the model with the saved loss; ' +
          'this tfjs-layers version loads training configs differently (tested with 4.22).',
      );
    }
  };
  installedOn.add(proto as object);
}

installTrainingConfigHooks();
