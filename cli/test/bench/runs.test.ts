import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { canonicalJson, modelOfRun, runKey, runSettings, RunStore, RUNS_FILE } from '../../src/bench/runs';
import { row, run, SETTINGS } from './fixtures';

describe('runKey', () => {
  it('is readable and the same for equal settings written in another key order', () => {
    const reordered = { method: {}, initialization: 'pytorch', learningRate: 1e-3, batchSize: 128, epochs: 30, nMax: 500, data: '/data/fashion-mnist' };
    const key = runKey(100, 'gala', 2, SETTINGS);
    expect(key).toMatch(/^if100\/gala\/seed2\/[0-9a-f]{12}$/);
    expect(runKey(100, 'gala', 2, reordered)).toBe(key);
  });

  it('changes with any setting that changes the result', () => {
    const key = runKey(100, 'ldamdrw', 0, { ...SETTINGS, method: { scale: 30 } });
    expect(runKey(100, 'ldamdrw', 0, { ...SETTINGS, method: { scale: 1 } })).not.toBe(key);
    expect(runKey(100, 'ldamdrw', 0, { ...SETTINGS, method: { scale: 30 }, epochs: 10 })).not.toBe(key);
    expect(runKey(50, 'ldamdrw', 0, { ...SETTINGS, method: { scale: 30 } })).not.toBe(key);
    expect(runKey(100, 'ldamdrw', 1, { ...SETTINGS, method: { scale: 30 } })).not.toBe(key);
  });

  it('stores the model only when it is not the MLP, so that older MLP records keep their keys', () => {
    const schedule = { model: 'mlp', nMax: 500, epochs: 30, batchSize: 128, learningRate: 1e-3, initialization: 'pytorch' } as const;
    expect(runSettings(schedule, '/data/fashion-mnist', {})).toEqual(SETTINGS);
    expect(runSettings({ ...schedule, model: 'cnn' }, '/data/fashion-mnist', {})).toEqual({ ...SETTINGS, model: 'cnn' });
    expect(runKey(100, 'ce', 0, { ...SETTINGS, model: 'cnn' })).toMatch(/^cnn\/if100\/ce\/seed0\//);
    expect(modelOfRun({ settings: SETTINGS })).toBe('mlp');
    expect(modelOfRun({ settings: { ...SETTINGS, model: 'cnn' } })).toBe('cnn');
  });

  it('canonicalJson sorts keys at every level', () => {
    expect(canonicalJson({ b: [{ d: 1, c: 2 }], a: null })).toBe('{"a":null,"b":[{"c":2,"d":1}]}');
  });
});

describe('RunStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tfjs-gala-runs-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('appends one line per run and finds them again after reopening', async () => {
    const store = await RunStore.open(path.join(dir, 'nested'));
    expect(store.size).toBe(0);
    await store.append(run(100, 'ce', 0, [row('ce', 0.7, 0.8, 0.6, 0.5)]));
    await store.append(run(100, 'ce', 1, [row('ce', 0.72, 0.8, 0.6, 0.5)]));
    const text = await fs.readFile(path.join(dir, 'nested', RUNS_FILE), 'utf8');
    expect(text.split('\n')).toHaveLength(3); // two lines and the final newline
    const reopened = await RunStore.open(path.join(dir, 'nested'));
    expect(reopened.size).toBe(2);
    expect(reopened.get('if100/ce/seed1/test')!.rows[0].overall).toBe(0.72);
    expect(reopened.skippedLines).toEqual([]);
  });

  it('reads a record written before there was a choice of model (no settings.model) as an MLP run', async () => {
    const old = {
      key: 'if100/gala/seed0/65496e78b354',
      imbalanceFactor: 100,
      method: 'gala',
      seed: 0,
      settings: { data: '/usr/share/datasets/fashion-mnist', nMax: 500, epochs: 30, batchSize: 128, learningRate: 0.001, initialization: 'pytorch', method: { variant: 'paper', lambda1: 1, lambda2: 1, epsilon: 0.001 } },
      backend: 'wasm',
      classCounts: [500, 299, 179, 107, 64, 38, 23, 13, 8, 5],
      rows: [{ name: 'gala', label: 'GALA', overall: 0.73, many: 0.86, medium: 0.54, few: 0.75, perClass: [] }],
      secondsPerEpoch: 0.2,
      finalLoss: 0.3,
      seconds: 8,
      finishedAt: '2026-11-30T00:00:00.000Z',
    };
    await fs.writeFile(path.join(dir, RUNS_FILE), `${JSON.stringify(old)}\n`);
    const store = await RunStore.open(dir);
    const run = store.get(runKey(100, 'gala', 0, old.settings))!;
    expect(run.rows[0].overall).toBe(0.73);
    expect(modelOfRun(run)).toBe('mlp');
  });

  it('skips a line cut short and starts the next run on a line of its own', async () => {
    const file = path.join(dir, RUNS_FILE);
    const complete = JSON.stringify(run(100, 'ce', 0, [row('ce', 0.7, 0.8, 0.6, 0.5)]));
    await fs.writeFile(file, `${complete}\n${complete.slice(0, 40)}`);
    const store = await RunStore.open(dir);
    expect(store.size).toBe(1);
    expect(store.skippedLines).toEqual([2]);
    await store.append(run(100, 'gala', 0, [row('gala', 0.74, 0.8, 0.6, 0.5)]));
    const reopened = await RunStore.open(dir);
    expect(reopened.has('if100/gala/seed0/test')).toBe(true);
    expect(reopened.skippedLines).toEqual([2]);
  });
});
