/**
 * `tfjs-gala bench --perf`: training speed and what GALA costs, measured in one process:
 * (a) CNN training steps per second on wasm with the package's `enableWasmTraining()` against
 * the pure-JS cpu backend (stock wasm cannot train the CNN at all); (b) MLP step time on stock
 * wasm against wasm with `enableWasmTraining()` (its transposed-matMul fix), alternating;
 * (c) the CNN's GALA / cross-entropy step-time ratio on wasm, alternating; (d) the loss alone
 * (forward, gradient, state update) at batch 256 for 10, 1000 and 8142 classes, with peak memory
 * to show linear growth.
 */

import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import Table from 'cli-table3';

import { crossEntropyLoss, disableWasmTraining, enableWasmTraining, galaLoss } from 'tfjs-gala';
import { timeLossOnly, timeTrainingSteps, type LossTiming, type StepTiming } from './bench/perf';
import { formatBackend, selectBackend } from './backend';
import { formatDuration } from './bench_plan';
import type { CliEnvironment } from './environment';
import { describeMachine, formatMachine, loadWarning, type MachineDescription } from './machine';
import { checkWritable } from './output_paths';

/** Target of the CNN speed-up of wasm (with the training kernels) over cpu. */
export const WASM_SPEEDUP_TARGET = 10;
/** Target of the training-step ratio GALA / cross-entropy. */
export const STEP_RATIO_TARGET = 1.05;
/** Target of the loss-only ratio GALA / cross-entropy. */
export const LOSS_RATIO_TARGET = 2;
/** Class counts of the loss-only measurement: Fashion-MNIST, ImageNet-like, iNaturalist 2018. */
export const PERF_CLASS_COUNTS = [10, 1000, 8142] as const;
/** Batch size of the loss-only measurement. */
export const PERF_LOSS_BATCH = 256;
/** Batch size of the training steps (the protocol's). */
export const PERF_STEP_BATCH = 128;

/** Steps and time budgets; the pure-JS cpu backend takes seconds per CNN step. */
export interface PerfBudget {
  /** Batch size of the training steps. */
  readonly batchSize: number;
  readonly cnnWasmSteps: number;
  readonly cnnCpuSteps: number;
  readonly mlpSteps: number;
  readonly ratioSteps: number;
  readonly warmup: number;
  readonly lossBudgetMs: number;
  readonly lossRepeats: number;
  /** Class counts of the loss-only table. */
  readonly classCounts: readonly number[];
}

/** About 3 minutes on 2 cores. */
export const PERF_BUDGET: PerfBudget = {
  batchSize: PERF_STEP_BATCH,
  cnnWasmSteps: 30,
  cnnCpuSteps: 3,
  mlpSteps: 40,
  ratioSteps: 60,
  warmup: 3,
  lossBudgetMs: 2500,
  lossRepeats: 30,
  classCounts: PERF_CLASS_COUNTS,
};

/** Options of {@link runPerf}. */
export interface PerfOptions {
  /** Folder for perf.json. */
  readonly out: string;
  /** Default {@link PERF_BUDGET} (tests pass a tiny one). */
  readonly budget?: PerfBudget;
}

/** What `--perf` measured (also perf.json). */
export interface PerfReport {
  readonly machine: MachineDescription;
  /** CNN steps on wasm with enableWasmTraining() and on cpu, and the speed-up. */
  readonly cnnSpeed: { readonly wasm: StepTiming; readonly cpu: StepTiming; readonly speedup: number };
  /** MLP steps on stock wasm and with enableWasmTraining(), alternating. */
  readonly mlpWasmFix: StepTiming & { readonly speedup: number };
  /** CNN steps with GALA and with cross-entropy on wasm, alternating. */
  readonly cnnLossRatio: StepTiming & { readonly ratio: number };
  readonly lossOnly: readonly (LossTiming & { readonly bytesPerClassGala: number; readonly bytesPerClassCrossEntropy: number })[];
  readonly targets: { readonly wasmSpeedup: number; readonly trainingStepRatio: number; readonly lossOnlyRatio: number };
  readonly file: string;
  readonly totalSeconds: number;
}

const crossEntropyVariant = { label: 'cross-entropy', loss: () => crossEntropyLoss() };

/**
 * Measures, prints the tables and writes perf.json. Leaves the wasm backend active with
 * `enableWasmTraining()` in effect.
 * @throws Error when the output folder cannot be written or the wasm backend cannot be activated.
 */
export async function runPerf(options: PerfOptions, env: CliEnvironment): Promise<PerfReport> {
  await checkWritable('--out', 'folder', options.out);
  const budget = options.budget ?? PERF_BUDGET;
  const started = performance.now();
  const print = (line = '') => env.stdout.write(`${line}\n`);
  const machine = describeMachine();
  const wasm = await selectBackend('wasm');
  print(`Backend: ${formatBackend(wasm)}; also cpu (@tensorflow/tfjs (tfjs-backend-cpu)) for comparison.`);
  print(`Training speed and the cost of GALA against softmax cross-entropy (one process; compared steps alternate).`);
  print(`Machine: ${formatMachine(machine)}`);
  const warning = loadWarning(machine);
  if (warning !== null) print(warning);
  print();

  const { batchSize } = budget;
  print(`CNN training steps (batch ${batchSize}) on wasm with enableWasmTraining()...`);
  const cnnWasm = await timeTrainingSteps({ model: 'cnn', variants: [crossEntropyVariant], steps: budget.cnnWasmSteps, warmup: budget.warmup, batchSize });
  print(`CNN training steps on cpu (pure JavaScript, seconds per step)...`);
  await selectBackend('cpu');
  const cnnCpu = await timeTrainingSteps({ model: 'cnn', variants: [crossEntropyVariant], steps: budget.cnnCpuSteps, warmup: Math.min(1, budget.warmup), batchSize });
  await selectBackend('wasm');

  print(`MLP training steps on stock wasm and with enableWasmTraining(), alternating...`);
  const mlp = await timeTrainingSteps({
    model: 'mlp',
    variants: [
      { ...crossEntropyVariant, label: 'stock wasm', before: disableWasmTraining },
      { ...crossEntropyVariant, label: 'wasm + enableWasmTraining()', before: () => enableWasmTraining() },
    ],
    steps: budget.mlpSteps,
    warmup: budget.warmup,
    batchSize,
  });
  enableWasmTraining();

  print(`CNN training steps with GALA and with cross-entropy on wasm, alternating...`);
  const ratio = await timeTrainingSteps({
    model: 'cnn',
    variants: [{ label: 'GALA', loss: () => galaLoss({ numClasses: 10 }) }, crossEntropyVariant],
    steps: budget.ratioSteps,
    warmup: budget.warmup,
    batchSize,
  });

  const lossOnly: PerfReport['lossOnly'][number][] = [];
  for (const backend of ['wasm', 'cpu'] as const) {
    await selectBackend(backend);
    for (const numClasses of budget.classCounts) {
      print(`Loss alone on ${backend}, batch ${PERF_LOSS_BATCH}, ${numClasses} classes...`);
      const timing = await timeLossOnly({ numClasses, batchSize: PERF_LOSS_BATCH, repeats: budget.lossRepeats, budgetMs: budget.lossBudgetMs });
      lossOnly.push({ ...timing, bytesPerClassGala: timing.peakBytesGala / numClasses, bytesPerClassCrossEntropy: timing.peakBytesCrossEntropy / numClasses });
    }
  }
  await selectBackend('wasm');

  const report: Omit<PerfReport, 'file' | 'totalSeconds'> = {
    machine: { ...machine, loadAverage: describeMachine().loadAverage },
    cnnSpeed: { wasm: cnnWasm, cpu: cnnCpu, speedup: cnnCpu.ms[0] / cnnWasm.ms[0] },
    mlpWasmFix: { ...mlp, speedup: mlp.ms[0] / mlp.ms[1] },
    cnnLossRatio: { ...ratio, ratio: ratio.ms[0] / ratio.ms[1] },
    lossOnly,
    targets: { wasmSpeedup: WASM_SPEEDUP_TARGET, trainingStepRatio: STEP_RATIO_TARGET, lossOnlyRatio: LOSS_RATIO_TARGET },
  };
  print();
  print(renderSpeedTable(report));
  print(renderLossTable(lossOnly));
  print(
    `Peak bytes: the largest allocation tf.profile saw during one step. "[B,C] tensors" = peak bytes / (batch x classes x 4 bytes): ` +
      `constant across class counts means memory grows linearly in numClasses (a numClasses x numClasses float32 tensor at 8142 classes alone would be 265 MB).`,
  );

  const out = path.resolve(options.out);
  await fs.mkdir(out, { recursive: true });
  const file = path.join(out, 'perf.json');
  const full: PerfReport = { ...report, file, totalSeconds: (performance.now() - started) / 1000 };
  await fs.writeFile(file, `${JSON.stringify(full, null, 2)}\n`);
  print(`Written: ${file}. Total time: ${formatDuration(full.totalSeconds)}`);
  return full;
}

const met = (ok: boolean) => (ok ? 'met' : 'MISSED');

/** The three training-step measurements as one text table. */
export function renderSpeedTable(report: Pick<PerfReport, 'cnnSpeed' | 'mlpWasmFix' | 'cnnLossRatio'>): string {
  const batchSize = report.cnnSpeed.wasm.batchSize;
  const table = new Table({
    head: ['measurement', 'A', 'B', 'A ms/step', 'B ms/step', 'result', 'target', '', 'steps each'],
    colAligns: ['left', 'left', 'left', 'right', 'right', 'right', 'left', 'left', 'right'],
    style: { head: [], border: [] },
  });
  const { cnnSpeed, mlpWasmFix, cnnLossRatio } = report;
  table.push([
    'CNN steps/s',
    'wasm + enableWasmTraining()',
    'cpu',
    cnnSpeed.wasm.ms[0].toFixed(1),
    cnnSpeed.cpu.ms[0].toFixed(1),
    `${(1000 / cnnSpeed.wasm.ms[0]).toFixed(2)} vs ${(1000 / cnnSpeed.cpu.ms[0]).toFixed(2)} steps/s: ${cnnSpeed.speedup.toFixed(1)}x`,
    `>= ${WASM_SPEEDUP_TARGET}x`,
    met(cnnSpeed.speedup >= WASM_SPEEDUP_TARGET),
    `${cnnSpeed.wasm.steps} / ${cnnSpeed.cpu.steps}`,
  ]);
  table.push([
    'MLP step time',
    mlpWasmFix.labels[0],
    mlpWasmFix.labels[1],
    mlpWasmFix.ms[0].toFixed(1),
    mlpWasmFix.ms[1].toFixed(1),
    `${mlpWasmFix.speedup.toFixed(1)}x faster`,
    '',
    '',
    String(mlpWasmFix.steps),
  ]);
  table.push([
    'CNN GALA / CE',
    `${cnnLossRatio.labels[0]} (${cnnLossRatio.backend})`,
    cnnLossRatio.labels[1],
    cnnLossRatio.ms[0].toFixed(1),
    cnnLossRatio.ms[1].toFixed(1),
    `ratio ${cnnLossRatio.ratio.toFixed(3)}`,
    `<= ${STEP_RATIO_TARGET}`,
    met(cnnLossRatio.ratio <= STEP_RATIO_TARGET),
    String(cnnLossRatio.steps),
  ]);
  return `Training steps (trainOnBatch, batch ${batchSize}, Adam, 28x28 inputs; median per step):\n${table.toString()}`;
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
      met(t.ratio <= LOSS_RATIO_TARGET),
      (t.peakBytesGala / 2 ** 20).toFixed(2),
      (t.peakBytesCrossEntropy / 2 ** 20).toFixed(2),
      t.bytesPerClassGala.toFixed(0),
      (t.peakBytesGala / perBatchClass).toFixed(1),
      (t.peakBytesCrossEntropy / perBatchClass).toFixed(1),
    ]);
  }
  return `Loss alone (forward, gradient w.r.t. the logits, GALA's state update; batch ${PERF_LOSS_BATCH}; median per step) vs tf.losses.softmaxCrossEntropy:\n${table.toString()}`;
}
