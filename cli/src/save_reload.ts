/**
 * `demo --save DIR`: save a trained model with its loss and optimizer state to a folder, load it
 * back with the stock `tf.loadLayersModel`, and check that what matters came back.
 */

import * as tf from '@tensorflow/tfjs';

import type { ClassificationSplit } from './data/splits';
// Importing the package also installs the hooks that write its losses (config and state) into trainingConfig.
import { fileSystem } from 'tfjs-gala';

import { prepareVariablesForSyncReads } from './backend';
import { predictAll } from './trainer';

/** What {@link saveAndReload} compared between the trained and the reloaded model. */
export interface ReloadCheck {
  /** The folder holding `model.json` and `weights.bin`. */
  readonly dir: string;
  /** `className` of the loss the reloaded model was compiled with; null when it has no package loss. */
  readonly lossClass: string | null;
  /** Optimizer steps (Adam's iteration count) of the trained and of the reloaded model. */
  readonly optimizerIterations: { readonly saved: number; readonly loaded: number };
  /** For a loss with state (GALA): its steps before saving and after loading, and the largest difference of theta and phi. */
  readonly lossState: { readonly savedSteps: number; readonly loadedSteps: number; readonly maxAbsDifference: number } | null;
  /** Largest absolute difference between the two models' outputs on the probe rows. */
  readonly outputMaxAbsDifference: number;
  /** Rows of the split the outputs were compared on. */
  readonly probeRows: number;
}

interface StatefulLoss {
  getClassName(): string;
  getState?(): { positive: number[]; negative: number[]; steps: number };
}

/** Rows of the test split on which the outputs of the two models are compared. */
const PROBE_ROWS = 1024;

/**
 * Saves `model` (compiled with `loss`) to `dir` with `includeOptimizer: true`, loads it with
 * `tf.loadLayersModel(fileSystem(dir))` and compares loss class, loss state, optimizer steps
 * and outputs on the first rows of `probe`.
 *
 * @returns the reloaded model (the caller disposes it) and the comparison.
 * @throws Error when the reloaded model lost its loss, its loss state or its optimizer steps,
 *   or its outputs differ (a tolerance of 1e-6), naming what differs.
 */
export async function saveAndReload(
  model: tf.LayersModel,
  loss: unknown,
  dir: string,
  probe: ClassificationSplit,
): Promise<{ model: tf.LayersModel; check: ReloadCheck; dispose: () => void }> {
  // The loss state is read synchronously when saving and comparing (see prepareVariablesForSyncReads).
  await prepareVariablesForSyncReads();
  await model.save(fileSystem(dir), { includeOptimizer: true });
  const loaded = await tf.loadLayersModel(fileSystem(dir));
  const dispose = () => disposeLoadedModel(loaded);
  try {
    await prepareVariablesForSyncReads();
    const check = await compare(model, loss as StatefulLoss, loaded, dir, probe);
    const problems = reloadProblems(check, loss as StatefulLoss);
    if (problems.length > 0) throw new Error(`The model reloaded from ${dir} differs from the one saved: ${problems.join('; ')}.`);
    return { model: loaded, check, dispose };
  } catch (error) {
    dispose();
    throw error;
  }
}

/**
 * Frees a model from `tf.loadLayersModel`, with what `model.dispose()` leaves: the optimizer
 * deserialized from the training config (not owned by the model) and the restored loss's state.
 */
export function disposeLoadedModel(model: tf.LayersModel): void {
  const optimizer = model.optimizer;
  const loss = (model as unknown as { loss?: { dispose?: () => void } }).loss;
  model.dispose();
  optimizer?.dispose();
  if (typeof loss?.dispose === 'function') loss.dispose();
}

async function compare(model: tf.LayersModel, loss: StatefulLoss, loaded: tf.LayersModel, dir: string, probe: ClassificationSplit): Promise<ReloadCheck> {
  const loadedLoss = (loaded as unknown as { loss: unknown }).loss as Partial<StatefulLoss> | undefined;
  const lossClass = typeof loadedLoss?.getClassName === 'function' ? loadedLoss.getClassName() : null;
  let lossState: ReloadCheck['lossState'] = null;
  if (typeof loss.getState === 'function') {
    const saved = loss.getState();
    const restored = typeof loadedLoss?.getState === 'function' ? loadedLoss.getState() : null;
    lossState = {
      savedSteps: saved.steps,
      loadedSteps: restored?.steps ?? Number.NaN,
      maxAbsDifference: restored === null ? Number.NaN : maxAbsDifference([...saved.positive, ...saved.negative], [...restored.positive, ...restored.negative]),
    };
  }
  const rows = Math.min(PROBE_ROWS, probe.numExamples);
  const head: ClassificationSplit = { ...probe, features: probe.features.subarray(0, rows * probe.numFeatures), labels: probe.labels.subarray(0, rows), numExamples: rows };
  const [before, after] = [predictAll(model, head), predictAll(loaded, head)];
  let outputMaxAbsDifference: number;
  try {
    outputMaxAbsDifference = maxAbsDifference(await before.data(), await after.data());
  } finally {
    tf.dispose([before, after]);
  }
  return {
    dir,
    lossClass,
    optimizerIterations: { saved: model.optimizer.iterations, loaded: loaded.optimizer?.iterations ?? Number.NaN },
    lossState,
    outputMaxAbsDifference,
    probeRows: rows,
  };
}

function reloadProblems(check: ReloadCheck, loss: StatefulLoss): string[] {
  const problems: string[] = [];
  const expectedClass = typeof loss.getClassName === 'function' ? loss.getClassName() : null;
  if (check.lossClass !== expectedClass) problems.push(`loss ${check.lossClass ?? 'none'} instead of ${expectedClass ?? 'none'}`);
  const { saved, loaded } = check.optimizerIterations;
  if (saved !== loaded) problems.push(`optimizer at step ${loaded} instead of ${saved}`);
  if (check.lossState !== null) {
    const { savedSteps, loadedSteps, maxAbsDifference: stateDifference } = check.lossState;
    if (savedSteps !== loadedSteps) problems.push(`loss state at step ${loadedSteps} instead of ${savedSteps}`);
    if (!(stateDifference <= 1e-6)) problems.push(`loss state differs by up to ${stateDifference}`);
  }
  if (!(check.outputMaxAbsDifference <= 1e-6)) problems.push(`outputs differ by up to ${check.outputMaxAbsDifference}`);
  return problems;
}

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}
