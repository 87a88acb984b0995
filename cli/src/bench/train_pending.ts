/** Trains the benchmark's pending runs (fixed and tuned) in plan order and stores each as it ends. */

import { SingleBar } from 'cli-progress';

import type { BenchOptions, PlannedRun } from '../bench_plan';
import type { loadFashionMnist } from '../data/fashion_mnist';
import { makeLongTailed, selectExamples, type LongTailedDataset, type ValidationDraw } from '../data/splits';
import type { CliEnvironment } from '../environment';
import type { MethodContext } from '../methods';
import { scheduleOf } from '../protocol';
import { accuracyRow, trainAndEvaluate, trainTunedAndEvaluate, type EvaluationRow, type TrainOptions } from '../trainer';
import { runSettings, type BenchRun, type RunRow, type RunStore } from './runs';
import type { PlannedTunedRun } from './tuned';

type FullData = Awaited<ReturnType<typeof loadFashionMnist>>;

/** What {@link trainInOrder} hands each run: its data, method context, training options and start time. */
interface RunStep<E> {
  /** The run's long-tailed split, with what `extra` added. */
  readonly data: { readonly dataset: LongTailedDataset } & E;
  readonly context: MethodContext;
  /** The protocol's schedule with the run's seed and the progress bar's batch callback. */
  readonly trainOptions: TrainOptions;
  readonly started: number;
}

/**
 * Runs `train` for each pending run in order, with one progress bar over all their steps; the
 * long-tailed split (and `extra`) is built once per imbalance factor and seed, which the plan
 * keeps together.
 */
async function trainInOrder<R extends PlannedRun, E extends object>(
  pending: readonly R[],
  options: BenchOptions,
  full: FullData,
  env: CliEnvironment,
  extra: (run: R) => E,
  describe: (run: R) => string,
  train: (run: R, step: RunStep<E>) => Promise<void>,
): Promise<void> {
  if (pending.length === 0) return;
  const bar = options.progress ? createBenchBar(env.stderr, pending.reduce((sum, run) => sum + run.steps, 0)) : null;
  let stepsBefore = 0;
  let cached = null as { id: string; data: RunStep<E>['data'] } | null;
  try {
    for (const [index, run] of pending.entries()) {
      const id = `${run.imbalanceFactor}/${run.seed}`;
      if (cached?.id !== id) {
        const dataset = makeLongTailed(full, { imbalanceFactor: run.imbalanceFactor, nMax: options.nMax, seed: run.seed });
        cached = { id, data: { dataset, ...extra(run) } };
      }
      const { data } = cached;
      const labels = { run: `${index + 1}/${pending.length}`, what: describe(run) };
      const before = stepsBefore;
      await train(run, {
        data,
        context: { numClasses: data.dataset.numClasses, classCounts: data.dataset.classCounts, epochs: options.epochs },
        trainOptions: {
          ...scheduleOf(options),
          seed: run.seed,
          onBatchEnd: bar
            ? ({ epoch, batch, batchesPerEpoch }) => bar.update(before + epoch * batchesPerEpoch + batch + 1, { ...labels, epoch: epoch + 1 })
            : undefined,
        },
        started: performance.now(),
      });
      stepsBefore += run.steps;
    }
  } finally {
    bar?.stop();
  }
}

/** The fields of a stored run that do not depend on which protocol (fixed or tuned) trained it. */
function runRecord(
  run: PlannedRun,
  dataset: LongTailedDataset,
  backend: string,
  result: { readonly secondsPerEpoch: number; readonly finalLoss: number },
  started: number,
): Omit<BenchRun, 'key' | 'settings' | 'rows' | 'validation'> {
  return {
    imbalanceFactor: run.imbalanceFactor,
    method: run.method.name,
    seed: run.seed,
    backend,
    classCounts: dataset.classCounts,
    secondsPerEpoch: result.secondsPerEpoch,
    finalLoss: Number.isFinite(result.finalLoss) ? result.finalLoss : null,
    seconds: (performance.now() - started) / 1000,
    finishedAt: new Date().toISOString(),
  };
}

function runRows(rows: readonly EvaluationRow[]): RunRow[] {
  return rows.map((r) => ({ name: r.name, ...accuracyRow(r) }));
}

/** Trains the pending fixed-protocol runs in plan order, appending each finished run to the store. */
export async function trainPending(
  pending: readonly PlannedRun[],
  options: BenchOptions,
  full: FullData,
  backend: string,
  store: RunStore,
  env: CliEnvironment,
): Promise<void> {
  await trainInOrder(
    pending,
    options,
    full,
    env,
    () => ({}),
    (run) => `IF ${run.imbalanceFactor} ${run.method.name} seed ${run.seed}`,
    async (run, { data: { dataset }, context, trainOptions, started }) => {
      const results = await trainAndEvaluate(run.method, dataset.train, dataset.test, context, trainOptions);
      await store.append({
        ...runRecord(run, dataset, backend, results[0], started),
        key: run.key,
        settings: run.settings,
        rows: runRows(results),
      });
    },
  );
}

/**
 * Trains the pending tuned runs in plan order, appending each finished run to the store, and,
 * for a default grid point whose fixed run the store lacks, that fixed run too (its last epoch).
 */
export async function trainTunedPending(
  pending: readonly PlannedTunedRun[],
  options: BenchOptions,
  full: FullData,
  validationDraws: ReadonlyMap<string, ValidationDraw>,
  backend: string,
  store: RunStore,
  env: CliEnvironment,
): Promise<void> {
  await trainInOrder(
    pending,
    options,
    full,
    env,
    (run) => ({ validation: selectExamples(full.train, validationDraws.get(`${run.imbalanceFactor}/${run.seed}`)!.indices) }),
    (run) => `IF ${run.imbalanceFactor} ${run.method.name} ${run.knobs} seed ${run.seed} (tuned)`,
    async (run, { data: { dataset, validation }, context, trainOptions, started }) => {
      const evaluateLastEpoch = run.fixedKey !== null && !store.has(run.fixedKey);
      const result = await trainTunedAndEvaluate(run.method, dataset.train, validation, dataset.test, context, { ...trainOptions, evaluateLastEpoch });
      const common = runRecord(run, dataset, backend, result, started);
      if (evaluateLastEpoch && result.lastEpochRows !== null) {
        // The same training as the fixed protocol's run (the validation passes change no weight): its last epoch is that run.
        const fixedSettings = runSettings(options, run.settings.data, run.method.settings ?? {});
        await store.append({ ...common, key: run.fixedKey!, settings: fixedSettings, rows: runRows(result.lastEpochRows) });
      }
      await store.append({ ...common, key: run.key, settings: run.settings, rows: runRows(result.rows), validation: result.validation });
    },
  );
}

function createBenchBar(stream: NodeJS.WritableStream, totalSteps: number): SingleBar {
  const bar = new SingleBar({
    format: 'run {run} {what} |{bar}| epoch {epoch} | {percentage}% of the steps | ETA {eta_formatted}',
    stream,
    hideCursor: true,
    noTTYOutput: false,
    etaBuffer: 200,
  });
  bar.start(totalSteps, 0, { run: '-', what: '', epoch: 0 });
  return bar;
}
