/**
 * `tfjs-gala gpu-check`: does GALA train on this machine's GPU through WebGPU, as fast as it
 * should and to the same accuracy as on the CPU? Prints the adapter, checks that every kernel
 * the package's losses run is registered on webgpu (and gives the cpu's gradients), trains the
 * demo on webgpu and on wasm, and prints one table: steps per second, the GALA / cross-entropy
 * step-time ratio, and accuracy on both backends.
 */

import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import Table from 'cli-table3';
import { Command, Option } from 'commander';

import { formatBackend, selectBackend, type SelectedBackend } from './backend';
import { runDemoOn, DEMO_DEFAULTS, type DemoOptions, type DemoReport } from './demo';
import type { CliEnvironment } from './environment';
import { checkKernelCoverage, GRADIENT_TOLERANCE, type KernelCoverage } from './kernel_coverage';
import { integerOption } from './options';
import { checkWritable } from './output_paths';
import { MODELS, type ModelName } from './protocol';
import { percent } from './table';

/** Options of `tfjs-gala gpu-check`. */
export interface GpuCheckOptions {
  /** Accept a software WebGPU adapter (SwiftShader) when there is no GPU: checks the code path, not the speed. */
  readonly allowSoftware: boolean;
  readonly model: ModelName;
  readonly epochs: number;
  /** Folder with the four Fashion-MNIST IDX files; default as the demo's. */
  readonly data?: string;
  /** Also write the report as JSON to this file. */
  readonly json?: string;
  readonly progress: boolean;
}

/** Overall accuracy differences between webgpu and wasm up to this many points are float noise. */
export const ACCURACY_TOLERANCE_POINTS = 2;
/** Target of the GALA / cross-entropy step-time ratio. */
export const GPU_STEP_RATIO_TARGET = 1.05;

/** One backend's demo, condensed. */
export interface GpuCheckRun {
  readonly backend: string;
  readonly device: string;
  /** Training steps per second (median epoch) of each method. */
  readonly stepsPerSecond: Readonly<Record<string, number>>;
  /** GALA's median step time / cross-entropy's. */
  readonly stepTimeRatio: number;
  /** Overall top-1 accuracy (fraction) of each row ('ce', 'gala', 'gala+pr'). */
  readonly overall: Readonly<Record<string, number>>;
  readonly seconds: number;
}

/** What `gpu-check` found (also its JSON output). */
export interface GpuCheckReport {
  readonly adapter: string;
  readonly softwareAdapter: boolean;
  readonly coverage: KernelCoverage;
  readonly runs: readonly GpuCheckRun[];
  /** webgpu - wasm overall accuracy per row, in points. */
  readonly accuracyDifference: Readonly<Record<string, number>>;
  /** What did not pass; empty when all did. */
  readonly problems: readonly string[];
  readonly totalSeconds: number;
}

/** Adds the `gpu-check` subcommand to `program`. */
export function registerGpuCheckCommand(program: Command, env: CliEnvironment): Command {
  return program
    .command('gpu-check')
    .description(
      'Check training on the GPU through WebGPU: print the adapter, check that every kernel of the package\'s losses is registered on webgpu, ' +
        'train the demo on webgpu and on wasm, and compare steps per second, the GALA / cross-entropy step-time ratio and accuracy.',
    )
    .option('--allow-software', 'accept a software adapter (SwiftShader) when there is no GPU: checks the code path, not the speed', false)
    .addOption(new Option('--model <name>', 'the demo\'s model').choices(MODELS).default(DEMO_DEFAULTS.model))
    .option('--epochs <n>', 'training epochs of each demo run', integerOption(1), DEMO_DEFAULTS.epochs)
    .option('--data <dir>', 'folder with the 4 Fashion-MNIST IDX files; default as the demo\'s')
    .option('--json <file>', 'also write the report as JSON to this file')
    .option('--no-progress', 'do not draw progress bars')
    .action(async (options: GpuCheckOptions) => {
      const report = await runGpuCheck(options, env);
      if (report.problems.length > 0) throw new Error(`gpu-check: ${report.problems.join('; ')}.`);
    });
}

/**
 * Runs the check. The report lists what failed in `problems` (the command then exits with an
 * error); an unavailable WebGPU adapter throws at once, saying how to get one.
 */
export async function runGpuCheck(options: GpuCheckOptions, env: CliEnvironment): Promise<GpuCheckReport> {
  if (options.json !== undefined) await checkWritable('--json', 'file', options.json);
  const started = performance.now();
  const print = (line = '') => env.stdout.write(`${line}\n`);
  const gpu = await selectBackend('webgpu', { allowSoftwareGpu: options.allowSoftware });
  print(`Backend: ${formatBackend(gpu)}`);
  if (gpu.softwareAdapter) print('The adapter is a software one: the steps per second say nothing about a GPU; the other checks still hold.');

  print('Checking the kernels of the package\'s losses on webgpu...');
  const coverage = await checkKernelCoverage('webgpu');
  print(renderCoverage(coverage));

  const demo: DemoOptions = { ...DEMO_DEFAULTS, model: options.model, epochs: options.epochs, data: options.data, progress: options.progress, backend: 'webgpu' };
  // The demo's own output (data, tables) is not repeated: the table below condenses both runs.
  const quiet: CliEnvironment = { ...env, stdout: { write: () => true } };
  print(`Training the demo (${options.model}, ${options.epochs} epochs) on webgpu...`);
  const onGpu = await timedDemo(gpu, demo, quiet);
  const wasm = await selectBackend('wasm'); // releases the WebGPU device
  print(`Training the demo on ${formatBackend(wasm)}...`);
  const onWasm = await timedDemo(wasm, { ...demo, backend: 'wasm' }, quiet);

  const runs = [onGpu, onWasm];
  const accuracyDifference = Object.fromEntries(Object.keys(onGpu.overall).map((row) => [row, 100 * (onGpu.overall[row] - onWasm.overall[row])]));
  const problems: string[] = [];
  if (coverage.missing.length > 0) problems.push(`kernels missing on webgpu: ${coverage.missing.join(', ')}`);
  for (const loss of coverage.losses) {
    if (loss.error !== null) problems.push(`${loss.name} fails on webgpu: ${loss.error}`);
    else if (!(loss.maxAbsDifference! <= GRADIENT_TOLERANCE)) problems.push(`${loss.name}'s gradient on webgpu differs from cpu's by ${loss.maxAbsDifference}`);
  }
  for (const [row, points] of Object.entries(accuracyDifference)) {
    if (!(Math.abs(points) <= ACCURACY_TOLERANCE_POINTS)) problems.push(`${row} accuracy on webgpu differs from wasm by ${points.toFixed(1)} points`);
  }
  if (!gpu.softwareAdapter && !(onGpu.stepTimeRatio <= GPU_STEP_RATIO_TARGET)) {
    problems.push(`GALA / cross-entropy step time on webgpu is ${onGpu.stepTimeRatio.toFixed(3)} (target <= ${GPU_STEP_RATIO_TARGET})`);
  }

  print();
  print(renderGpuCheckTable(runs, accuracyDifference));
  const report: GpuCheckReport = {
    adapter: gpu.device,
    softwareAdapter: gpu.softwareAdapter,
    coverage,
    runs,
    accuracyDifference,
    problems,
    totalSeconds: (performance.now() - started) / 1000,
  };
  print(problems.length === 0 ? 'gpu-check: all checks passed.' : `gpu-check: ${problems.length} problem(s): ${problems.join('; ')}.`);
  print(`Total time: ${report.totalSeconds.toFixed(1)} s`);
  if (options.json !== undefined) {
    await fs.mkdir(path.dirname(path.resolve(options.json)), { recursive: true });
    await fs.writeFile(options.json, `${JSON.stringify(report, null, 2)}\n`);
    print(`Results written to ${options.json}`);
  }
  return report;
}

async function timedDemo(backend: SelectedBackend, options: DemoOptions, env: CliEnvironment): Promise<GpuCheckRun> {
  const started = performance.now();
  const report: Omit<DemoReport, 'totalSeconds'> = await runDemoOn(backend, options, env);
  const trained = report.rows.filter((row) => !row.method.includes('+'));
  const stepsPerSecond = Object.fromEntries(trained.map((row) => [row.method, row.stepsPerEpoch / row.medianSecondsPerEpoch]));
  return {
    backend: backend.name,
    device: backend.device,
    stepsPerSecond,
    stepTimeRatio: stepsPerSecond.ce / stepsPerSecond.gala,
    overall: Object.fromEntries(report.rows.map((row) => [row.method, row.overall])),
    seconds: (performance.now() - started) / 1000,
  };
}

/** One line per problem, or one line saying all is well. */
export function renderCoverage(coverage: KernelCoverage): string {
  const failed = coverage.losses.filter((l) => l.error !== null || !(l.maxAbsDifference! <= GRADIENT_TOLERANCE));
  const worst = Math.max(...coverage.losses.map((l) => l.maxAbsDifference ?? 0));
  const lines = [
    `Kernel coverage: the package's ${coverage.losses.length} losses run ${coverage.kernels.length} kernels (forward, gradient, state update); ` +
      (coverage.missing.length === 0 ? `all registered on ${coverage.backend}.` : `${coverage.missing.length} missing on ${coverage.backend}: ${coverage.missing.join(', ')}.`),
  ];
  lines.push(
    failed.length === 0
      ? `Every loss runs on ${coverage.backend} with the cpu's gradients (largest difference ${worst.toExponential(1)}, tolerance ${GRADIENT_TOLERANCE}).`
      : `Losses that fail or differ on ${coverage.backend}: ${failed.map((l) => `${l.name} (${l.error ?? `max |diff| ${l.maxAbsDifference}`})`).join('; ')}.`,
  );
  return lines.join('\n');
}

/** The two runs side by side. */
export function renderGpuCheckTable(runs: readonly GpuCheckRun[], accuracyDifference: Readonly<Record<string, number>>): string {
  const rows = Object.keys(runs[0].overall);
  const table = new Table({
    head: ['backend', 'steps/s CE', 'steps/s GALA', 'GALA/CE step time', ...rows.map((row) => `${row} %`), 'seconds'],
    colAligns: ['left', 'right', 'right', 'right', ...rows.map(() => 'right' as const), 'right'],
    style: { head: [], border: [] },
  });
  for (const run of runs) {
    table.push([
      run.backend,
      run.stepsPerSecond.ce.toFixed(1),
      run.stepsPerSecond.gala.toFixed(1),
      run.stepTimeRatio.toFixed(3),
      ...rows.map((row) => percent(run.overall[row])),
      run.seconds.toFixed(1),
    ]);
  }
  const differences = rows.map((row) => `${row} ${accuracyDifference[row] >= 0 ? '+' : ''}${accuracyDifference[row].toFixed(1)}`).join(', ');
  return (
    `${table.toString()}\n` +
    `Overall top-1 accuracy on the balanced test split; webgpu - wasm in points: ${differences} ` +
    `(same within noise up to ${ACCURACY_TOLERANCE_POINTS}). Step time ratio target on a GPU: <= ${GPU_STEP_RATIO_TARGET}.`
  );
}
