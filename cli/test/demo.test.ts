import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as tf from '@tensorflow/tfjs';

import { runDemo, type DemoOptions } from '../src/demo';
import type { CliEnvironment } from '../src/environment';
import { buildMlp, epochShuffler } from '../src/trainer';

const COMMITTED_SUBSET = path.join(__dirname, '..', '..', 'data', 'fashion-mnist-lt');

// A tiny run: IF 10 at nMax 20 gives counts 20 15 11 9 7 5 4 3 2 2 (medium [0], few [1..9], many empty).
const TINY: DemoOptions = {
  data: COMMITTED_SUBSET,
  imbalance: 10,
  nMax: 20,
  epochs: 2,
  batchSize: 32,
  seed: 3,
  backend: 'wasm', // faster than cpu on the 2000 test images
  lr: 1e-3,
  init: 'glorot',
  progress: false,
};

function capture(): { env: CliEnvironment; output: () => string } {
  let text = '';
  return {
    env: { committedSubsetDir: COMMITTED_SUBSET, stdout: { write: (t: string) => (text += t) }, stderr: process.stderr },
    output: () => text,
  };
}

describe('runDemo', () => {
  it('trains cross-entropy and GALA, prints data, backend, counts and the table, and writes JSON', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tfjs-gala-demo-'));
    const json = path.join(dir, 'nested', 'results.json');
    const { env, output } = capture();
    try {
      const tensorsBefore = tf.memory().numTensors;
      const report = await runDemo({ ...TINY, json }, env);
      expect(tf.memory().numTensors).toBe(tensorsBefore);

      expect(report.data.classCounts).toEqual([20, 15, 11, 9, 7, 5, 4, 3, 2, 2]);
      expect(report.data.shotGroups).toEqual({ many: [], medium: [0], few: [1, 2, 3, 4, 5, 6, 7, 8, 9] });
      expect(report.data.testExamples).toBe(2000);
      expect(report.backend).toBe('wasm');
      expect(report.rows.map((r) => r.method)).toEqual(['ce', 'gala', 'gala+pr']);
      expect(report.rows[2].label).toBe('GALA + re-balancing');
      expect(report.saved).toBeUndefined();
      for (const row of report.rows) {
        expect(row.many).toBeNull();
        expect(row.overall).toBeGreaterThan(0.1); // above chance after 2 epochs
        expect(row.secondsPerEpoch).toBeGreaterThan(0);
        expect(Number.isFinite(row.finalTrainingLoss)).toBe(true);
      }

      const text = output();
      expect(text).toContain(`Data: committed subset ${COMMITTED_SUBSET}`);
      expect(text).toContain('Training images per class: 20 15 11 9 7 5 4 3 2 2');
      expect(text).toContain('Backend: wasm');
      expect(text).toMatch(/│ method\s+│ overall │ many \(0\) │ medium \(1\) │ few \(9\) │ s\/epoch │/);
      expect(text).toMatch(/│ GALA\s+│\s+[\d.]+ │\s+empty │/);
      expect(text).toMatch(/│ GALA \+ re-balancing\s+│\s+[\d.]+ │\s+empty │/);

      const written = JSON.parse(await fs.readFile(json, 'utf8'));
      expect(written.rows[1].few).toBe(report.rows[1].few);
      expect(written.rows[0].many).toBeNull();
      expect(written.settings).toEqual({ model: 'MLP 784-256-128-10', imbalanceFactor: 10, nMax: 20, epochs: 2, batchSize: 32, learningRate: 1e-3, seed: 3, initialization: 'glorot' });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('with --save, saves each model with its loss state, reloads it and evaluates the reloaded model', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tfjs-gala-demo-save-'));
    const { env, output } = capture();
    try {
      const tensorsBefore = tf.memory().numTensors;
      const saved = await runDemo({ ...TINY, save: dir }, env);
      // tfjs 4.22's save({includeOptimizer: true}) leaks one tensor per call: the scalar
      // Optimizer.getWeights() makes for the iteration count. Everything else is freed.
      expect(tf.memory().numTensors - tensorsBefore).toBe(2);
      for (const method of ['ce', 'gala']) {
        expect((await fs.readdir(path.join(dir, method))).sort()).toEqual(['model.json', 'weights.bin']);
      }
      const [ce, gala] = saved.saved!;
      expect(ce.lossClass).toBe('LogitAdjustedLoss'); // cross-entropy as a package loss (tau 0), so that it is saved
      expect(ce.lossState).toBeNull();
      expect(gala.lossClass).toBe('GalaLoss');
      // 2 epochs of 3 batches (78 images, batch 32): the state and Adam both count 6 steps.
      expect(gala.lossState).toEqual({ savedSteps: 6, loadedSteps: 6, maxAbsDifference: 0 });
      expect(gala.optimizerIterations).toEqual({ saved: 6, loaded: 6 });
      expect(gala.outputMaxAbsDifference).toBe(0);
      const savedJson = JSON.parse(await fs.readFile(path.join(dir, 'gala', 'model.json'), 'utf8'));
      expect(savedJson.trainingConfig.tfjs_gala.losses.loss.state.steps).toBe(6);

      // The reloaded models give the results the trained ones give.
      const direct = await runDemo(TINY, capture().env);
      expect(saved.rows.map((r) => r.perClass)).toEqual(direct.rows.map((r) => r.perClass));
      expect(output()).toMatch(/GALA: saved to .*gala and reloaded with tf\.loadLayersModel: loss GalaLoss, loss state 6 steps \(saved 6, max \|diff\| 0\)/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('with --monitor, writes each run\'s gradient JSON and pictures and summarises them, without changing the results', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tfjs-gala-demo-monitor-'));
    const { env, output } = capture();
    try {
      const monitored = await runDemo({ ...TINY, monitor: dir }, env);
      const direct = await runDemo(TINY, capture().env);
      expect(monitored.rows.map((r) => r.perClass)).toEqual(direct.rows.map((r) => r.perClass));
      expect(monitored.gradients!.map((g) => g.method)).toEqual(['ce', 'gala']);
      for (const method of ['ce', 'gala']) {
        const files = await fs.readdir(path.join(dir, method));
        expect(files).toEqual(expect.arrayContaining(['gradient-monitor-epoch-0000.json', 'gradient-monitor-epoch-0001.json', 'gradient-monitor.json']));
      }
      for (const g of monitored.gradients!) {
        // TINY's counts: medium [0], few [1..9], many empty (reported as null, never 0).
        expect(g.summary.groups.many).toEqual({ classes: [], meanRatio: null, meanRowCoefficientOfVariation: null });
        expect(g.summary.groups.few.classes).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
        expect(g.summary.groups.few.meanRatio).toBeGreaterThan(0);
      }
      expect(output()).toMatch(/Logit gradients .*\n +cross-entropy +many empty \| empty +medium [0-9.]+ \| [0-9.]+ +few [0-9.]+/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('gives the same results for the same seed and different ones for another seed', async () => {
    const accuracies = async (seed: number) => (await runDemo({ ...TINY, seed }, capture().env)).rows.map((row) => row.perClass);
    const first = await accuracies(3);
    expect(await accuracies(3)).toEqual(first);
    expect(await accuracies(4)).not.toEqual(first);
  });
});

describe('buildMlp', () => {
  it('starts from the same weights for the same seed, whatever the output layer', () => {
    const a = buildMlp({ numFeatures: 784, numClasses: 10, seed: 5, fromLogits: true });
    const b = buildMlp({ numFeatures: 784, numClasses: 10, seed: 5, fromLogits: false });
    const c = buildMlp({ numFeatures: 784, numClasses: 10, seed: 6, fromLogits: true });
    expect(a.layers.map((l) => l.outputShape)).toEqual([[null, 256], [null, 128], [null, 10]]);
    const weights = (m: tf.Sequential) => m.getWeights().map((w) => Array.from(w.dataSync()));
    expect(weights(b)).toEqual(weights(a));
    expect(weights(c)[0]).not.toEqual(weights(a)[0]);
    for (const m of [a, b, c]) m.dispose();
  });

  it("with 'pytorch' initialisation draws kernels and biases from U(-1/sqrt(fanIn), 1/sqrt(fanIn))", () => {
    const model = buildMlp({ numFeatures: 784, numClasses: 10, seed: 1, fromLogits: true, initialization: 'pytorch' });
    const fanIns = [784, 256, 128];
    model.getWeights().forEach((weight, i) => {
      const limit = 1 / Math.sqrt(fanIns[Math.floor(i / 2)]);
      const values = Array.from(weight.dataSync());
      const maxAbs = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(maxAbs).toBeLessThanOrEqual(limit);
      expect(maxAbs).toBeGreaterThan(0.9 * limit); // spans the interval, biases included
    });
    model.dispose();
  });
});

describe('epochShuffler', () => {
  it('gives a new permutation every epoch, the same sequence for the same seed', () => {
    const next = epochShuffler(100, 0);
    const [first, second] = [next(), next()];
    const sorted = (order: Int32Array) => Array.from(order).sort((a, b) => a - b);
    expect(sorted(first)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(sorted(second)).toEqual(sorted(first));
    expect(Array.from(second)).not.toEqual(Array.from(first));
    const again = epochShuffler(100, 0);
    expect(Array.from(again())).toEqual(Array.from(first));
    expect(Array.from(again())).toEqual(Array.from(second));
    expect(Array.from(epochShuffler(100, 1)())).not.toEqual(Array.from(first));
  });
});
