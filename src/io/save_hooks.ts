/**
 * The save side of the save/load hooks (see `save_load.ts`): `model.save` reads each package
 * loss's state asynchronously first, and `getTrainingConfig` writes each package loss (and each
 * metric that is one) as a marker string plus a `trainingConfig.tfjs_gala` entry.
 */
import type * as tf from '@tensorflow/tfjs-core';

import {
  TRAINING_CONFIG_FORMAT,
  TRAINING_CONFIG_FORMAT_WITH_METRICS,
  TRAINING_CONFIG_KEY,
  isSerializableLoss,
  lossEntries,
  lossMarker,
  metricEntries,
  metricMarker,
  packageLosses,
  serializeLoss,
  type LossSpec,
  type MetricSpec,
  type ModelWithLoss,
  type SerializableLoss,
  type SerializedLoss,
  type StoredLosses,
  type StoredMetric,
} from './saved_losses';

type OriginalSave = (this: unknown, handler: unknown, config?: tf.io.SaveConfig) => Promise<unknown>;
type OriginalGetTrainingConfig = (this: unknown) => Record<string, unknown>;

/** States read by the `save` hook (awaited), for the `getTrainingConfig` call inside the same save. */
const statesReadForSave = new WeakMap<object, ReadonlyMap<unknown, unknown>>();

/** The `save` and `getTrainingConfig` wrappers around tfjs's own methods. */
export function makeSaveHooks(originalSave: OriginalSave, originalGet: OriginalGetTrainingConfig) {
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

  return { save, getTrainingConfig };
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
