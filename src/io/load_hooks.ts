/**
 * The load side of the save/load hooks (see `save_load.ts`): `loadTrainingConfig` lets the stock
 * loader run and intercepts its `compile` call to pass the losses and metrics rebuilt from
 * `trainingConfig.tfjs_gala` instead of the marker strings.
 */
import * as tfl from '@tensorflow/tfjs-layers';

import {
  TRAINING_CONFIG_KEY,
  accessor,
  blockPath,
  checkStoredLosses,
  disposeAll,
  lossEntries,
  markerClassName,
  metricEntries,
  packageLosses,
  restoreLoss,
  savedModelError,
  show,
  type MetricSpec,
  type ModelWithLoss,
  type SerializableLoss,
  type StoredLosses,
} from './saved_losses';

type OriginalLoadTrainingConfig = (this: unknown, config: unknown) => unknown;

/** The `loadTrainingConfig` wrapper around tfjs's own method. */
export function makeLoadHook(originalLoad: OriginalLoadTrainingConfig) {
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

  return loadTrainingConfig;
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
