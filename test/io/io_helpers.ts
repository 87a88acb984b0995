import * as tf from '@tensorflow/tfjs';

import type { GalaLoss } from '../../src/losses/gala_loss';

/** Saves through memory and a JSON round trip of the artifacts, as a real medium would. */
export async function saveToMemory(m: tf.LayersModel, includeOptimizer = true): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await m.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
    { includeOptimizer },
  );
  return roundTrip(saved!);
}

/** A deep copy of saved artifacts (JSON for everything but the weights), to edit without touching the original. */
export function roundTrip(artifacts: tf.io.ModelArtifacts): tf.io.ModelArtifacts {
  const weightData = (artifacts.weightData as ArrayBuffer).slice(0);
  const json = JSON.parse(JSON.stringify({ ...artifacts, weightData: undefined }));
  return { ...json, weightData };
}

/** The `trainingConfig.tfjs_gala` block of saved artifacts, typed loosely for editing. */
export function galaBlock(artifacts: tf.io.ModelArtifacts): {
  format: unknown;
  losses: Record<string, { class_name?: unknown; config: Record<string, unknown>; state?: unknown }>;
} {
  return (artifacts.trainingConfig as unknown as Record<string, never>).tfjs_gala;
}

export function smallModel(seed = 1, numClasses = 3): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({ units: 8, inputShape: [4], activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
      tf.layers.dense({ units: numClasses, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
}

export function smallData(n = 24): { xs: tf.Tensor2D; ys: tf.Tensor2D } {
  const labels = Array.from({ length: n }, (_, i) => (i % 6 < 3 ? 0 : i % 6 < 5 ? 1 : 2));
  const xs = tf.tensor2d(labels.map((c, i) => [c === 0 ? 1 : -1, c === 1 ? 1 : -1, c === 2 ? 1 : -1, ((i * 7) % 5) / 5]));
  return { xs, ys: tf.oneHot(tf.tensor1d(labels, 'int32'), 3) as tf.Tensor2D };
}

/** A small model compiled with `loss` and trained 3 epochs of 3 batches. */
export async function trainedModel(loss: GalaLoss): Promise<{ m: tf.Sequential; xs: tf.Tensor2D; ys: tf.Tensor2D }> {
  const m = smallModel();
  m.compile({ optimizer: tf.train.adam(0.01), loss });
  const { xs, ys } = smallData();
  await m.fit(xs, ys, { epochs: 3, batchSize: 8, shuffle: false, verbose: 0 });
  return { m, xs, ys };
}

/** The rejection message of a promise (fails the test when it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a rejection; the promise resolved');
}

/** Sets and checks the backend (tfjs falls back silently when setBackend fails). */
export async function useBackend(backend: string): Promise<void> {
  expect(await tf.setBackend(backend)).toBe(true);
  await tf.ready();
  expect(tf.getBackend()).toBe(backend);
}

/**
 * Loads a copy of `saved` changed by `edit` and returns the rejection's message, expecting the
 * failed load to leak exactly `modelWeights` tensors: tfjs builds the model before it reads the
 * training config and drops it on an error there; every loss tfjs-gala rebuilt must be freed.
 */
export async function failingLoad(saved: tf.io.ModelArtifacts, modelWeights: number, edit: (a: tf.io.ModelArtifacts) => void): Promise<string> {
  const artifacts = roundTrip(saved);
  edit(artifacts);
  const before = tf.memory().numTensors;
  const message = await rejection(tf.loadLayersModel(tf.io.fromMemory(artifacts)));
  expect(tf.memory().numTensors - before).toBe(modelWeights);
  return message;
}
