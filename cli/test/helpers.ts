import * as path from 'node:path';

import * as tf from '@tensorflow/tfjs';
import type { Command } from 'commander';

import { BENCH_DEFAULTS, type BenchOptions } from '../src/bench_plan';
import type { CliEnvironment } from '../src/environment';
import { createProgram } from '../src/program';

/** The long-tailed Fashion-MNIST subset shipped with the command (cli/data/fashion-mnist-lt). */
export const COMMITTED_SUBSET = path.join(__dirname, '..', 'data', 'fashion-mnist-lt');

/** An environment whose stdout is kept in memory; `output()` returns what was written. */
export function capture(dataDir = COMMITTED_SUBSET, extra: Partial<CliEnvironment> = {}): { env: CliEnvironment; output: () => string } {
  let text = '';
  return {
    env: { committedSubsetDir: dataDir, stdout: { write: (t: string) => (text += t) }, stderr: process.stderr, ...extra },
    output: () => text,
  };
}

/**
 * Runs `tfjs-gala ...args` in-process with commander's exits turned into exceptions; resolves
 * to what it printed (help and version included), rejects with the error.
 */
export async function runCli(args: string[], extra: Partial<CliEnvironment> = {}): Promise<string> {
  const { env, output } = capture(COMMITTED_SUBSET, extra);
  let printed = '';
  const program = createProgram(env);
  for (const command of [program, ...program.commands] as Command[]) {
    command.exitOverride().configureOutput({ writeErr: () => undefined, writeOut: (text) => (printed += text) });
  }
  try {
    await program.parseAsync(['node', 'tfjs-gala', ...args]);
  } catch (error) {
    (error as { printed?: string }).printed = printed;
    throw error;
  }
  return printed + output();
}

/** Asserts that two arrays (or tensors) agree within `tol` (relative above 1), index by index. */
export function expectClose(actual: tf.Tensor | ArrayLike<number>, expected: tf.Tensor | ArrayLike<number>, tol = 1e-5): void {
  const a = actual instanceof tf.Tensor ? Array.from(actual.dataSync()) : Array.from(actual);
  const e = expected instanceof tf.Tensor ? Array.from(expected.dataSync()) : Array.from(expected);
  expect(a.length).toBe(e.length);
  a.forEach((value, i) => {
    if (!(Math.abs(value - e[i]) <= tol * Math.max(1, Math.abs(e[i])))) throw new Error(`index ${i}: got ${value}, expected ${e[i]} (tolerance ${tol})`);
  });
}

/**
 * Benchmark options for the tiny fake datasets of the tests: IF 10, seed 0, ce and gala, nMax 20,
 * batch 32, wasm, no progress bar; `overrides` win.
 */
export function tinyBenchOptions(data: string, out: string, overrides: Partial<BenchOptions> = {}): BenchOptions {
  return {
    ...BENCH_DEFAULTS,
    data,
    imbalanceFactors: [10],
    seeds: [0],
    methods: ['ce', 'gala'],
    nMax: 20,
    epochs: 1,
    batchSize: 32,
    backend: 'wasm',
    out,
    progress: false,
    ...overrides,
  };
}
