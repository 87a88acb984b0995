/**
 * `tfjs-gala bench --perf`: what GALA costs next to softmax cross-entropy, measured in one
 * process on each backend: (a) a training step of the demo's MLP, GALA against tfjs's
 * 'categoricalCrossentropy', alternating; (b) the loss alone (forward, gradient, state update)
 * at batch 256 for 10, 1000 and 8142 classes, with peak memory to show linear growth.
 */

import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import Table from 'cli-table3';

import { timeLossOnly, timeTrainingStep, type LossTiming, type StepTiming } from './bench/perf';
import { selectBackend } from './backend';
import { isWasmTransposedMatMulFixInstalled, setWasmTransposedMatMulFix } from './wasm_matmul';
import { formatDuration } from './bench_plan';
import type { CliEnvironment } from './environment';
import { describeMachine, formatMachine, loadWarning, type MachineDescription } from './machine';

/** Target of the training-step ratio GALA / cross-entropy. */
export const STEP_RATIO_TARGET = 1.05;
/** Target of the loss-only ratio GALA / cross-entropy. */
export const LOSS_RATIO_TARGET = 2;
/** Class counts of the loss-only measurement: Fashion-MNIST, ImageNet-like, iNaturalist 2018. */
export const PERF_CLASS_COUNTS = [10, 1000, 8142] as const;
/** Batch size of the loss-only measurement. */
export const PERF_LOSS_BATCH = 256;

/** Options of {@link runPerf}. */
export interface PerfOptions {
  readonly backends: readonly ('cpu' | 'wasm')[];
  /** Folder for perf.json. */
  readonly out: string;
}

/** What `--perf` measured (also perf.json). */
export interface PerfReport {
  readonly machine: MachineDescription;
  readonly trainingStep: readonly StepTiming[];
  readonly lossOnly: readonly (LossTiming & { readonly bytesPerClassGala: number; readonly bytesPerClassCrossEntropy: number })[];
  readonly targets: { readonly trainingStepRatio: number; readonly lossOnlyRatio: number };
  readonly file: string;
  readonly totalSeconds: number;
}

// Per backend: steps of the training-step comparison and the time budget (ms) of each
// loss-only block. The pure-JS cpu backend takes about half a second per MLP step and seconds
// per loss step at 8142 classes; these keep `--perf` near 3 minutes on 2 cores.
const BUDGETS = {
  cpu: { steps: 24, warmup: 3, lossBudgetMs: 2500, lossRepeats: 15 },
  wasm: { steps: 80, warmup: 5, lossBudgetMs: 2500, lossRepeats: 30 },
} as const;

/** The measured variants: cpu; wasm as stock tfjs and with the transposed-matMul fix. */
export function perfVariants(backends: readonly ('cpu' | 'wasm')[]): PerfVariant[] {
  return backends.flatMap((backend): PerfVariant[] =>
    backend === 'wasm' ? [{ backend, matMulFix: false }, { backend, matMulFix: true }] : [{ backend, matMulFix: false }],
  );
}

/** A backend as measured: stock, or (wasm) with the command line's transposed-matMul fix. */
export interface PerfVariant {
  readonly backend: 'cpu' | 'wasm';
  readonly matMulFix: boolean;
}

/**
 * Measures on each backend of `options.backends`, prints two tables and writes perf.json.
 * @throws Error when a backend cannot be activated.
 */
export async function runPerf(options: PerfOptions, env: CliEnvironment): Promise<PerfReport> {
  const started = performance.now();
  const print = (line = '') => env.stdout.write(`${line}\n`);
  const machine = describeMachine();
  print(`Performance of GALA against softmax cross-entropy (one process, alternating).`);
  print(`Machine: ${formatMachine(machine)}`);
  const warning = loadWarning(machine);
  if (warning !== null) print(warning);
  print();

  const trainingStep: StepTiming[] = [];
  const lossOnly: PerfReport['lossOnly'][number][] = [];
  for (const { backend: name, matMulFix } of perfVariants(options.backends)) {
    const backend = await selectBackend(name);
    if (name === 'wasm' || isWasmTransposedMatMulFixInstalled()) setWasmTransposedMatMulFix(matMulFix);
    // Rows name the variant: stock tfjs, or wasm with the command line's transposed-matMul fix.
    const label = matMulFix ? `${backend.name}+fix` : backend.name;
    const budget = BUDGETS[name];
    print(`Backend ${label} (${backend.packageName}${matMulFix ? ', transposed matMul fix of src/cli/wasm_matmul.ts' : ', stock tfjs'}):`);
    print(`  training steps of the demo's MLP 784-256-128-10, batch 128...`);
    const step = await timeTrainingStep({ steps: budget.steps, warmup: budget.warmup, batchSize: 128, numClasses: 10 });
    trainingStep.push({ ...step, backend: label });
    print(`  the MLP trains on ${step.backend}: ${step.steps} GALA and ${step.steps} cross-entropy steps, ratio ${step.ratio.toFixed(3)}`);
    for (const numClasses of PERF_CLASS_COUNTS) {
      print(`  loss alone, batch ${PERF_LOSS_BATCH}, ${numClasses} classes...`);
      const timing = await timeLossOnly({ numClasses, batchSize: PERF_LOSS_BATCH, repeats: budget.lossRepeats, budgetMs: budget.lossBudgetMs });
      lossOnly.push({
        ...timing,
        backend: label,
        bytesPerClassGala: timing.peakBytesGala / numClasses,
        bytesPerClassCrossEntropy: timing.peakBytesCrossEntropy / numClasses,
      });
    }
  }
  if (isWasmTransposedMatMulFixInstalled()) setWasmTransposedMatMulFix(false);
  print();
  print(renderStepTable(trainingStep));
  print(renderLossTable(lossOnly));
  print(
    `Peak bytes: the largest allocation tf.profile saw during one step. "[B,C] tensors" = peak bytes / (batch x classes x 4 bytes): ` +
      `constant across class counts means memory grows linearly in numClasses (a numClasses x numClasses float32 tensor at 8142 classes alone would be 265 MB).`,
  );

  const out = path.resolve(options.out);
  await fs.mkdir(out, { recursive: true });
  const file = path.join(out, 'perf.json');
  const report: PerfReport = {
    machine: { ...machine, loadAverage: describeMachine().loadAverage },
    trainingStep,
    lossOnly,
    targets: { trainingStepRatio: STEP_RATIO_TARGET, lossOnlyRatio: LOSS_RATIO_TARGET },
    file,
    totalSeconds: (performance.now() - started) / 1000,
  };
  await fs.writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  print(`Written: ${file}. Total time: ${formatDuration(report.totalSeconds)}`);
  return report;
}

/** The training-step comparison as a text table, one row per backend. */
export function renderStepTable(timings: readonly StepTiming[]): string {
  const table = new Table({
    head: ['backend', 'ms/step GALA', "ms/step 'categoricalCrossentropy'", 'ratio', `target <= ${STEP_RATIO_TARGET}`, 'steps each'],
    colAligns: ['left', 'right', 'right', 'right', 'left', 'right'],
    style: { head: [], border: [] },
  });
  for (const t of timings) {
    table.push([t.backend, t.msGala.toFixed(2), t.msCrossEntropy.toFixed(2), t.ratio.toFixed(3), t.ratio <= STEP_RATIO_TARGET ? 'met' : 'MISSED', String(t.steps)]);
  }
  return `Training step (trainOnBatch, MLP 784-256-128-10, batch 128, Adam; median per step):\n${table.toString()}`;
}

/** The loss-only comparison as a text table, one row per backend and class count. */
export function renderLossTable(timings: PerfReport['lossOnly']): string {
  const table = new Table({
    head: ['backend', 'classes', 'ms GALA', 'ms CE', 'ratio', `target <= ${LOSS_RATIO_TARGET}`, 'peak MB GALA', 'peak MB CE', 'bytes/class GALA', '[B,C] tensors GALA', '[B,C] tensors CE'],
    colAligns: ['left', 'right', 'right', 'right', 'right', 'left', 'right', 'right', 'right', 'right', 'right'],
    style: { head: [], border: [] },
  });
  for (const t of timings) {
    const perBatchClass = t.batchSize * t.numClasses * 4;
    table.push([
      t.backend,
      String(t.numClasses),
      t.msGala.toFixed(2),
      t.msCrossEntropy.toFixed(2),
      t.ratio.toFixed(2),
      t.ratio <= LOSS_RATIO_TARGET ? 'met' : 'MISSED',
      (t.peakBytesGala / 2 ** 20).toFixed(2),
      (t.peakBytesCrossEntropy / 2 ** 20).toFixed(2),
      t.bytesPerClassGala.toFixed(0),
      (t.peakBytesGala / perBatchClass).toFixed(1),
      (t.peakBytesCrossEntropy / perBatchClass).toFixed(1),
    ]);
  }
  return `Loss alone (forward, gradient w.r.t. the logits, GALA's state update; batch ${PERF_LOSS_BATCH}; median per step) vs tf.losses.softmaxCrossEntropy:\n${table.toString()}`;
}
