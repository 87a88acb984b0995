import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { CommanderError } from 'commander';

import { runBench } from '../src/bench';
import type { BenchRun } from '../src/bench/runs';
import { planTunedRuns, selectTuned, tuningGrid, VALIDATION_PER_CLASS, type PlannedTunedRun } from '../src/bench/tuned';
import { BENCH_DEFAULTS, planRuns, type BenchOptions } from '../src/bench_plan';
import { drawValidation, longTailedIndices, type ImageSplit } from '../src/data/splits';
import { benchmarkMethods } from '../src/methods';
import { row, run as fixture } from './bench/fixtures';
import { labelsPerClass, writeFakeFashionMnist } from './data/fake_fashion_mnist';
import { capture, COMMITTED_SUBSET, runCli, tinyBenchOptions } from './helpers';


/** A training split of labels only (drawValidation reads labels and count). */
function labelsOnly(labels: number[]): ImageSplit {
  return { images: new Uint8Array(0), labels: Uint8Array.from(labels), count: labels.length, height: 28, width: 28 };
}

describe('drawValidation', () => {
  const train = labelsOnly(labelsPerClass(40)); // 40 images per class

  it('draws a balanced, seeded split disjoint from the long-tailed subset', () => {
    const subset = longTailedIndices(train, { imbalanceFactor: 10, nMax: 30, seed: 3 });
    const draw = drawValidation(train, subset.indices, 10, 5, 3);
    expect(draw.perClass).toBe(5);
    expect(draw.indices).toHaveLength(50);
    const used = new Set(subset.indices);
    expect([...draw.indices].some((i) => used.has(i))).toBe(false);
    const counts = new Array(10).fill(0);
    draw.indices.forEach((i) => counts[train.labels[i]]++);
    expect(counts).toEqual(new Array(10).fill(5));
    expect(draw.spare[0]).toBe(10); // 40 - 30
    expect(drawValidation(train, subset.indices, 10, 5, 3).indices).toEqual(draw.indices);
    expect(drawValidation(train, subset.indices, 10, 5, 4).indices).not.toEqual(draw.indices);
  });

  it('shrinks every class to the fewest spare images, and names a class with none', () => {
    const subset = longTailedIndices(train, { imbalanceFactor: 10, nMax: 30, seed: 0 });
    expect(drawValidation(train, subset.indices, 10, 200, 0).perClass).toBe(10);
    const all = longTailedIndices(train, { imbalanceFactor: 1, nMax: 40, seed: 0 });
    expect(() => drawValidation(train, all.indices, 10, 5, 0)).toThrow(/^No spare training image of class 0 for the validation split/);
  });
});

describe('planTunedRuns', () => {
  const options = { ...BENCH_DEFAULTS, imbalanceFactors: [10, 100] };
  const methods = benchmarkMethods();
  const tuned = planTunedRuns(options, methods, '/data', VALIDATION_PER_CLASS, BENCH_DEFAULTS.ldamScale);

  it('has every grid point: 16 runs per imbalance factor and seed', () => {
    expect(tuned).toHaveLength(16 * 2 * 3);
    expect(new Set(tuned.map((r) => r.key)).size).toBe(tuned.length);
    expect(tuningGrid(methods.find((m) => m.name === 'gala')!, 30).map((p) => p.knobs)).toEqual(['lambda 1/1', 'lambda 1.2/0.9', 'lambda 0.5/0.5']);
    expect(tuningGrid(methods.find((m) => m.name === 'ce')!, 30)[0].method.postHoc!.map((p) => p.name)).toEqual(['ce+pr', 'ce+la']);
  });

  it('keys the default grid points to the fixed runs they also yield, and never mixes the two', () => {
    const fixed = planRuns(options, methods, '/data');
    const yielded = tuned.filter((r) => r.fixedKey !== null);
    expect(yielded.map((r) => r.fixedKey).sort()).toEqual(fixed.map((r) => r.key).sort());
    const fixedKeys = new Set(fixed.map((r) => r.key));
    expect(tuned.some((r) => fixedKeys.has(r.key))).toBe(false);
    expect(yielded.find((r) => r.method.name === 'gala')!.settings.method).toEqual({
      variant: 'paper', lambda1: 1, lambda2: 1, epsilon: 1e-3, select: 'val-balanced-acc', valPerClass: 200,
    });
    const other = planTunedRuns(options, methods, '/data', 100, 30);
    expect(other.some((r) => tuned.some((t) => t.key === r.key))).toBe(false); // another validation size, other runs
  });
});

describe('selectTuned', () => {
  it('takes per row the grid point with the best validation score, the default on a tie', () => {
    const plan = planTunedRuns({ ...BENCH_DEFAULTS, imbalanceFactors: [100], seeds: [0] }, benchmarkMethods().filter((m) => m.name === 'gala'), '/d', 200, 30);
    const validation = (balanced: number, rebalanced: number) => ({
      examples: 2000, epoch: 7, balancedAccuracy: balanced, history: [balanced], rebalanceTau: 1.25, rebalanceBalancedAccuracy: rebalanced,
    });
    const runs = new Map<string, BenchRun>(
      plan.map((p: PlannedTunedRun, i) => [
        p.key,
        { ...fixture(100, 'gala', 0, [row('gala', 0.7 + i / 100, null, null, null), row('gala+pr', 0.6 + i / 100, null, null, null)]), key: p.key, validation: validation([0.5, 0.6, 0.6][i], [0.7, 0.6, 0.65][i]) },
      ]),
    );
    const selection = selectTuned(plan, (key) => runs.get(key));
    expect(selection.incomplete).toEqual([]);
    expect(selection.choices.map((c) => [c.row, c.knobs, c.tau])).toEqual([
      ['gala', 'lambda 1.2/0.9', null], // 0.6 beats 0.5; the tie with the third point keeps the earlier one
      ['gala+pr', 'lambda 1/1', 1.25],
    ]);
    expect(selection.runs[0].rows.map((r) => r.overall)).toEqual([0.71, 0.6]);
    runs.delete(plan[2].key);
    expect(selectTuned(plan, (key) => runs.get(key))).toMatchObject({ runs: [], choices: [], incomplete: ['IF 100 seed 0 gala'] });
  });
});

describe('runBench --tuned', () => {
  let root: string;
  let data: string;
  let options: BenchOptions;
  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'tfjs-gala-tuned-'));
    data = path.join(root, 'data');
    // 30 training images per class: at nMax 20 every class has at least 10 spare images.
    await writeFakeFashionMnist(data, { trainLabels: labelsPerClass(30), testLabels: labelsPerClass(5) });
    options = tinyBenchOptions(data, path.join(root, 'out'), { epochs: 2, tuned: true, validationPerClass: 4 });
  });
  afterAll(async () => {
    await fs.rm(root, { recursive: true, force: true });
    await tf.setBackend('cpu');
  });

  it('tunes on the validation split, reports the tuned rows beside the fixed ones, and yields the fixed runs', async () => {
    const { env, output } = capture(data);
    const tensorsBefore = tf.memory().numTensors;
    const report = await runBench(options, env);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    const text = output();
    expect(text).toContain('Benchmark (custom mode, tuned)');
    expect(text).toContain('Tuned: validation split of 4 images per class');
    expect(text).toContain('grids: ce –; gala lambda 1/1, lambda 1.2/0.9, lambda 0.5/0.5');
    expect(text).toContain('0 of 2 fixed runs already done, 0 of 4 tuned runs, 4 to run');
    expect(text).toMatch(/Estimated time: .* for 4 runs .*plus a pass over the 40 validation images after every epoch/);

    const tuned = report.tuned!;
    expect(tuned.validation.draws).toEqual([{ imbalanceFactor: 10, seed: 0, perClass: 4, examples: 40 }]);
    expect(tuned.runs).toHaveLength(4);
    for (const run of tuned.runs) {
      expect(run.validation!.history).toHaveLength(2);
      expect([1, 2]).toContain(run.validation!.epoch);
      expect(run.validation!.balancedAccuracy).toBe(Math.max(...run.validation!.history));
    }
    expect(tuned.summary.map((r) => r.name)).toEqual(['ce', 'ce+pr', 'ce+la', 'gala', 'gala+pr']);
    expect(tuned.choices.map((c) => c.row)).toEqual(['ce', 'ce+pr', 'ce+la', 'gala', 'gala+pr']);
    expect(report.summary.map((r) => r.name)).toEqual(['ce', 'ce+pr', 'ce+la', 'gala', 'gala+pr']); // the fixed rows, yielded
    expect(report.runs).toHaveLength(2);
    expect((await fs.readFile(report.files.runs, 'utf8')).trim().split('\n')).toHaveLength(6);
    expect(path.basename(report.files.markdown)).toBe('results-tuned.md');
    const markdown = await fs.readFile(report.files.markdown, 'utf8');
    expect(markdown).toContain('## Tuned on held-out data');
    expect(markdown).toContain('| IF | method | overall | many | medium | few | runs | fixed overall |');
    expect(markdown).toMatch(/\| 10 \| 0 \| gala \+PR \| lambda [\d./]+ \| [12] \| [\d.]+ \| [\d.]+ \|/);
    expect(text).toMatch(/│ 10 │ gala \+PR │ +[\d.]+ │ +empty │ +[\d.]+ │ +[\d.]+ │ +1 │ +[\d.]+ │/);

    // The yielded fixed runs are those a plain fixed benchmark trains: same keys, same accuracies.
    const plain = await runBench({ ...options, tuned: false, out: path.join(root, 'plain') }, capture(data).env);
    expect(plain.runs.map((r) => r.key)).toEqual(report.runs.map((r) => r.key));
    expect(plain.runs.map((r) => r.rows)).toEqual(report.runs.map((r) => r.rows));
    // A fixed benchmark in the tuned folder reuses them; a tuned rerun trains nothing.
    expect((await runBench({ ...options, tuned: false }, capture(data).env)).skippedRuns).toBe(2);
    const again = capture(data);
    const rerun = await runBench(options, again.env);
    expect(again.output()).toContain('2 of 2 fixed runs already done, 4 of 4 tuned runs)');
    expect(rerun.tuned!.summary).toEqual(tuned.summary);
  });

  it('needs spare training images: the committed subset at its own n_max has none', async () => {
    await expect(runBench({ ...options, data: COMMITTED_SUBSET, nMax: 500, imbalanceFactors: [100], epochs: 1 }, capture().env)).rejects.toThrow(
      /^--tuned: at imbalance factor 100, seed 0, n_max 500 in .*: No spare training image of class 0 for the validation split.*the full Fashion-MNIST/,
    );
  });

  it('parses --tuned and --val-per-class on the command line', async () => {
    // The options pass their checks: the data folder is read next.
    await expect(runCli(['bench', '--tuned', '--val-per-class', '100', '--data', '/nonexistent/fmnist'])).rejects.toThrow('Fashion-MNIST folder /nonexistent/fmnist does not exist.');
  });

  it('rejects a validation size below 1', async () => {
    const error = await runCli(['bench', '--tuned', '--val-per-class', '0']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommanderError);
    expect((error as CommanderError).message).toBe("error: option '--val-per-class, --validation-per-class <n>' argument '0' is invalid. Expected an integer >= 1.");
  });
});
