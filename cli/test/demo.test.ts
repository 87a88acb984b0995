import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as tf from '@tensorflow/tfjs';

import { runDemo, type DemoOptions } from '../src/demo';
import { epochShuffler } from '../src/trainer';
import { capture, COMMITTED_SUBSET } from './helpers';

// A tiny run: IF 10 at nMax 20 gives counts 20 15 11 9 7 5 4 3 2 2 (medium [0], few [1..9], many empty).
const TINY: DemoOptions = {
  model: 'mlp',
  data: COMMITTED_SUBSET,
  imbalanceFactor: 10,
  nMax: 20,
  epochs: 2,
  batchSize: 32,
  seed: 3,
  backend: 'wasm', // faster than cpu on the 2000 test images
  learningRate: 1e-3,
  initialization: 'glorot',
  progress: false,
};

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
      expect(text.split('\n')[0]).toMatch(/^Backend: wasm \(@tensorflow\/tfjs-backend-wasm; CPU: \d+ cores of .*; tfjs-gala's enableWasmTraining\(\)/);
      expect(text).toContain(`Data: committed subset ${COMMITTED_SUBSET}`);
      expect(text).toContain('Training images per class: 20 15 11 9 7 5 4 3 2 2');
      expect(text).toMatch(/│ method\s+│ overall │ many \(0\) │ medium \(1\) │ few \(9\) │ s\/epoch │/);
      expect(text).toMatch(/│ GALA\s+│\s+[\d.]+ │\s+empty │/);
      expect(text).toMatch(/│ GALA \+ re-balancing\s+│\s+[\d.]+ │\s+empty │/);

      const written = JSON.parse(await fs.readFile(json, 'utf8'));
      expect(written.rows[1].few).toBe(report.rows[1].few);
      expect(written.rows[0].many).toBeNull();
      expect(written.protocol).toEqual({ model: 'mlp', imbalanceFactor: 10, nMax: 20, epochs: 2, batchSize: 32, learningRate: 1e-3, seed: 3, initialization: 'glorot' });
      expect(written.architecture).toBe('MLP 784-256-128-10');
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
      expect(ce.lossClass).toMatch(/(^|\.)CrossEntropyLoss$/); // a package loss, so that it is saved with the model
      expect(ce.lossState).toBeNull();
      expect(gala.lossClass).toMatch(/(^|\.)GalaLoss$/);
      // 2 epochs of 3 batches (78 images, batch 32): the state and Adam both count 6 steps.
      expect(gala.lossState).toEqual({ savedSteps: 6, loadedSteps: 6, maxAbsDifference: 0 });
      expect(gala.optimizerIterations).toEqual({ saved: 6, loaded: 6 });
      expect(gala.outputMaxAbsDifference).toBe(0);
      const savedJson = JSON.parse(await fs.readFile(path.join(dir, 'gala', 'model.json'), 'utf8'));
      expect(savedJson.trainingConfig.tfjs_gala.losses.loss.state.steps).toBe(6);

      // The reloaded models give the results the trained ones give.
      const direct = await runDemo(TINY, capture().env);
      expect(saved.rows.map((r) => r.perClass)).toEqual(direct.rows.map((r) => r.perClass));
      expect(output()).toMatch(/GALA: saved to .*gala and reloaded with tf\.loadLayersModel: loss (tfjs-gala\.)?GalaLoss, loss state 6 steps \(saved 6, max \|diff\| 0\)/);
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

  it('trains the CNN with --model cnn on wasm (with the training kernels of enableWasmTraining)', async () => {
    const { env, output } = capture();
    const tensorsBefore = tf.memory().numTensors;
    const report = await runDemo({ ...TINY, model: 'cnn', epochs: 1, initialization: 'pytorch' }, env);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(report.architecture).toBe('CNN 28x28x1 conv16-pool-conv32-pool-128-10');
    expect(report.protocol.model).toBe('cnn');
    expect(report.rows.map((r) => r.method)).toEqual(['ce', 'gala', 'gala+pr']);
    for (const row of report.rows) expect(row.overall).toBeGreaterThan(0);
    expect(output()).toContain('Model: CNN 28x28x1 conv16-pool-conv32-pool-128-10 (ReLU, pytorch initialisation)');
  });

  it('fails before training when --json, --save or --monitor cannot be written', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tfjs-gala-demo-paths-'));
    const file = path.join(dir, 'a-file');
    await fs.writeFile(file, '');
    try {
      const cases: [Partial<DemoOptions>, string][] = [
        [{ json: path.join(file, 'x.json') }, `--json: the file must be writable; received ${path.join(file, 'x.json')} (${file} is a file, not a folder).`],
        [{ json: dir }, `--json: the file must be writable; received ${dir} (it is a folder).`],
        [{ save: file }, `--save: the folder must be writable; received ${file} (it is a file).`],
        [{ monitor: path.join(file, 'sub', 'dir') }, `--monitor: the folder must be writable; received ${path.join(file, 'sub', 'dir')} (${file} is a file, not a folder).`],
      ];
      for (const [options, message] of cases) {
        const { env, output } = capture();
        await expect(runDemo({ ...TINY, ...options }, env)).rejects.toThrow(message);
        expect(output()).toBe(''); // nothing printed: no backend chosen, nothing trained
      }
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('explains how to get a WebGPU adapter when --backend webgpu has none', async () => {
    // Under Jest (CommonJS) Dawn's ESM package does not load, which is reported the same way.
    await expect(runDemo({ ...TINY, backend: 'webgpu' }, capture().env)).rejects.toThrow(
      /^--backend: backend 'webgpu' is not available\. Tried .*A WebGPU adapter needs a GPU driver with Vulkan support .* VK_ICD_FILENAMES=/,
    );
  });

  it('gives the same results for the same seed and different ones for another seed', async () => {
    const accuracies = async (seed: number) => (await runDemo({ ...TINY, seed }, capture().env)).rows.map((row) => row.perClass);
    const first = await accuracies(3);
    expect(await accuracies(3)).toEqual(first);
    expect(await accuracies(4)).not.toEqual(first);
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
