/**
 * Benchmark runs: one trained model (an imbalance factor, a method, a seed) with its evaluation
 * rows, and the append-only file that makes the benchmark resumable. Node only.
 */

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import type { ModelName, TrainingSchedule } from '../protocol';

/** Value of a method setting (JSON-safe). */
export type SettingValue = number | string | boolean;

/**
 * Everything besides imbalance factor, method and seed that changes a run's result: the
 * training schedule ({@link TrainingSchedule}), the data folder and the method's own settings.
 */
export interface RunSettings extends Pick<TrainingSchedule, 'nMax' | 'epochs' | 'batchSize' | 'learningRate'> {
  /** The data folder read (absolute path). */
  readonly data: string;
  /**
   * The model when it is not the MLP. Absent for the MLP, so that runs stored before there was
   * a choice of model (which have no `model`) keep their keys and are reused.
   */
  readonly model?: Exclude<ModelName, 'mlp'>;
  /** An `Initialization` ('pytorch', 'glorot'); a string as stored. */
  readonly initialization: string;
  /** The method's own settings (e.g. LDAM's scale); `{}` when it has none. */
  readonly method: Readonly<Record<string, SettingValue>>;
}

/** The settings a run of `schedule` on `data` with a method's own `method` settings is stored under. */
export function runSettings(schedule: TrainingSchedule, data: string, method: Readonly<Record<string, SettingValue>>): RunSettings {
  const { model, nMax, epochs, batchSize, learningRate, initialization } = schedule;
  return { data, ...(model === 'mlp' ? {} : { model }), nMax, epochs, batchSize, learningRate, initialization, method };
}

/** The model a stored run trained: its settings' `model`, or the MLP for records without one. */
export function modelOfRun(run: { readonly settings: Pick<RunSettings, 'model'> }): ModelName {
  return run.settings.model ?? 'mlp';
}

/** Accuracies of one evaluated model, flattened for reports. Fractions in [0, 1]. */
export interface AccuracyRow {
  readonly label: string;
  readonly overall: number;
  /** null: the shot group is empty. */
  readonly many: number | null;
  readonly medium: number | null;
  readonly few: number | null;
  readonly perClass: readonly (number | null)[];
}

/** One evaluation row of a run: the method itself, or a post-hoc evaluation of its model. */
export interface RunRow extends AccuracyRow {
  /** Row name: the method's name, or e.g. 'gala+pr' for a post-hoc row. */
  readonly name: string;
}

/**
 * What a tuned run (`bench --tuned`) measured on its validation split. Accuracies are fractions
 * in [0, 1], balanced (mean of per-class accuracies).
 */
export interface ValidationRecord {
  /** Images in the validation split (class-balanced). */
  readonly examples: number;
  /** The epoch whose weights were kept and tested (1-based): the best balanced accuracy on the validation split. */
  readonly epoch: number;
  /** Validation balanced accuracy at that epoch. */
  readonly balancedAccuracy: number;
  /** Validation balanced accuracy after every epoch, first epoch first. */
  readonly history: readonly number[];
  /** Re-balancing tau chosen on the validation logits of the kept epoch (0: none). */
  readonly rebalanceTau: number;
  /** Validation balanced accuracy after re-balancing at that tau. */
  readonly rebalanceBalancedAccuracy: number;
  /** Post-hoc logit adjustment tau chosen the same way (methods with a "+la" row only). */
  readonly logitAdjustmentTau?: number;
  readonly logitAdjustmentBalancedAccuracy?: number;
}

/** A finished run, as stored (one JSON line) and reported. */
export interface BenchRun {
  /** {@link runKey} of imbalance factor, method, seed and settings. */
  readonly key: string;
  readonly imbalanceFactor: number;
  readonly method: string;
  readonly seed: number;
  readonly settings: RunSettings;
  /** tfjs backend it trained on (not part of the key). */
  readonly backend: string;
  readonly classCounts: readonly number[];
  readonly rows: readonly RunRow[];
  readonly secondsPerEpoch: number;
  /** Mean training loss of the last epoch; null when not finite. */
  readonly finalLoss: number | null;
  /** Wall-clock seconds of the whole run (training and evaluation). */
  readonly seconds: number;
  /** ISO 8601 time the run ended. */
  readonly finishedAt: string;
  /** Tuned runs only: the validation split and what was chosen on it; their rows are those of the kept epoch. */
  readonly validation?: ValidationRecord;
}

/** JSON with object keys sorted at every level, so equal settings give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The key a run is stored under: readable parts and a hash of the settings, e.g.
 * `if100/gala/seed0/3f2a9c1b7d0e` for the MLP, `cnn/if100/gala/seed0/...` for the CNN. Two runs
 * with the same key are the same experiment; runs of different models never share one.
 */
export function runKey(imbalanceFactor: number, method: string, seed: number, settings: RunSettings): string {
  const hash = createHash('sha256').update(canonicalJson(settings)).digest('hex').slice(0, 12);
  const model = settings.model === undefined ? '' : `${settings.model}/`;
  return `${model}if${imbalanceFactor}/${method}/seed${seed}/${hash}`;
}

/** Name of the run file in the output folder. */
export const RUNS_FILE = 'runs.jsonl';

/**
 * The finished runs of an output folder, one JSON object per line in `runs.jsonl`. Each run is
 * appended as soon as it ends, so an interrupted benchmark loses at most the run in progress.
 */
export class RunStore {
  private readonly runs = new Map<string, BenchRun>();

  private constructor(
    /** Path of `runs.jsonl`. */
    readonly file: string,
    /** Lines that could not be read (e.g. cut short when a run was killed while writing), 1-based. */
    readonly skippedLines: readonly number[],
    runs: readonly BenchRun[],
  ) {
    for (const run of runs) this.runs.set(run.key, run);
  }

  /**
   * Reads `dir/runs.jsonl` when it exists (creating `dir` when missing). Unreadable lines are
   * skipped and listed in {@link RunStore.skippedLines}; a later line with the same key wins.
   */
  static async open(dir: string): Promise<RunStore> {
    await fs.mkdir(dir, { recursive: true });
    const file = path.join(dir, RUNS_FILE);
    let text = '';
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const runs: BenchRun[] = [];
    const skipped: number[] = [];
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        const run = JSON.parse(line) as BenchRun;
        if (typeof run?.key !== 'string' || !Array.isArray(run.rows)) throw new Error('not a run');
        runs.push(run);
      } catch {
        skipped.push(i + 1);
      }
    });
    return new RunStore(file, skipped, runs);
  }

  has(key: string): boolean {
    return this.runs.has(key);
  }

  get(key: string): BenchRun | undefined {
    return this.runs.get(key);
  }

  /** Number of runs held (all settings). */
  get size(): number {
    return this.runs.size;
  }

  /** Appends `run` to the file (one line) and holds it. */
  async append(run: BenchRun): Promise<void> {
    // A file cut short mid-line would glue this run onto the broken line: start a new one.
    const needsNewline = await endsWithoutNewline(this.file);
    await fs.appendFile(this.file, `${needsNewline ? '\n' : ''}${JSON.stringify(run)}\n`);
    this.runs.set(run.key, run);
  }
}

async function endsWithoutNewline(file: string): Promise<boolean> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(file, 'r');
    const { size } = await handle.stat();
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  } finally {
    await handle?.close();
  }
}
