import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

import { crossEntropyLoss, galaLoss, isWasmTrainingEnabled } from 'tfjs-gala';
import { median, timeLossOnly, timeTrainingSteps } from '../../src/bench/perf';
import { renderLossTable, renderSpeedTable, runPerf, type PerfBudget } from '../../src/bench_perf';
import { selectBackend } from '../../src/backend';
import { capture } from '../helpers';

describe('perf harness', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('times alternating training-step variants, runs their set-up before each step, and frees everything', async () => {
    const before = tf.memory().numTensors;
    const calls: string[] = [];
    const timing = await timeTrainingSteps({
      model: 'mlp',
      variants: [
        { label: 'GALA', loss: () => galaLoss({ numClasses: 4 }), before: () => calls.push('gala') },
        { label: 'CE', loss: () => crossEntropyLoss(), before: () => calls.push('ce') },
      ],
      steps: 2,
      warmup: 1,
      batchSize: 8,
      numClasses: 4,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(timing).toMatchObject({ backend: 'cpu', model: 'mlp', labels: ['GALA', 'CE'], steps: 2 });
    expect(timing.ms.every((ms) => ms > 0)).toBe(true);
    expect(calls).toEqual(['gala', 'ce', 'ce', 'gala', 'gala', 'ce']); // which goes first alternates
  });

  it('times the CNN too', async () => {
    const timing = await timeTrainingSteps({ model: 'cnn', variants: [{ label: 'CE', loss: () => crossEntropyLoss() }], steps: 1, warmup: 0, batchSize: 2 });
    expect(timing.model).toBe('cnn');
    expect(timing.ms[0]).toBeGreaterThan(0);
  });

  it("times the loss alone and reports the step's own peak memory, which grows with numClasses", async () => {
    const small = await timeLossOnly({ numClasses: 200, batchSize: 4, repeats: 3, warmup: 1 });
    const large = await timeLossOnly({ numClasses: 2000, batchSize: 4, repeats: 3, warmup: 1 });
    for (const t of [small, large]) {
      // At least one [B, C] float32 tensor, far less than a C x C one.
      expect(t.peakBytesGala).toBeGreaterThanOrEqual(4 * t.numClasses * 4);
      expect(t.peakBytesGala).toBeLessThan(t.numClasses * t.numClasses * 4);
      expect(t.peakBytesCrossEntropy).toBeGreaterThan(0);
    }
    // Linear in numClasses: 10x the classes, about 10x the bytes (not 100x).
    const growth = large.peakBytesGala / small.peakBytesGala;
    expect(growth).toBeGreaterThan(5);
    expect(growth).toBeLessThan(15);
  });

  it('takes medians', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });

  it('renders the tables with results and whether targets are met', () => {
    const step = (labels: string[], ms: number[], backend = 'wasm') => ({ backend, model: 'cnn' as const, batchSize: 128, steps: 30, labels, ms });
    const text = renderSpeedTable({
      cnnSpeed: { wasm: step(['CE'], [100]), cpu: { ...step(['CE'], [2500], 'cpu'), steps: 3 }, speedup: 25 },
      mlpWasmFix: { ...step(['stock wasm', 'wasm + enableWasmTraining()'], [80, 13]), speedup: 80 / 13 },
      cnnLossRatio: { ...step(['GALA', 'cross-entropy'], [102, 100]), ratio: 1.02 },
    });
    expect(text).toMatch(/│ CNN steps\/s\s+│ wasm \+ enableWasmTraining\(\) │ cpu\s+│\s+100\.0 │\s+2500\.0 │ 10\.00 vs 0\.40 steps\/s: 25\.0x │ >= 10x\s+│ met │\s+30 \/ 3 │/);
    expect(text).toMatch(/│ MLP step time\s+│ stock wasm\s+│ wasm \+ enableWasmTraining\(\) │\s+80\.0 │\s+13\.0 │\s+6\.2x faster │/);
    expect(text).toMatch(/│ CNN GALA \/ CE\s+│ GALA \(wasm\)\s+│ cross-entropy\s+│\s+102\.0 │\s+100\.0 │\s+ratio 1\.020 │ <= 1\.05\s+│ met │/);
    const loss = renderLossTable([
      { backend: 'cpu', numClasses: 1000, batchSize: 256, msGala: 30, msCrossEntropy: 10, ratio: 3, peakBytesGala: 256 * 1000 * 4 * 5, peakBytesCrossEntropy: 256 * 1000 * 4 * 3, bytesPerClassGala: 5120, bytesPerClassCrossEntropy: 3072 },
    ]);
    expect(loss).toMatch(/│ cpu\s+│\s+1000 │\s+30\.00 │\s+10\.00 │\s+3\.00 │ MISSED\s+│\s+4\.88 │\s+2\.93 │\s+5120 │\s+5\.0 │\s+3\.0 │/);
  });
});

describe('bench --perf', () => {
  afterAll(async () => {
    await selectBackend('cpu');
  });

  it('measures CNN steps on wasm and cpu, MLP steps on stock and fixed wasm, the CNN GALA / CE ratio, and the loss alone', async () => {
    const tiny: PerfBudget = { batchSize: 2, cnnWasmSteps: 1, cnnCpuSteps: 1, mlpSteps: 1, ratioSteps: 1, warmup: 0, lossBudgetMs: 10, lossRepeats: 1, classCounts: [10] };
    const out = await fs.mkdtemp(path.join(os.tmpdir(), 'tfjs-gala-perf-'));
    const { env, output } = capture();
    const report = await runPerf({ out, budget: tiny }, env);
    expect(report.cnnSpeed.wasm.backend).toBe('wasm');
    expect(report.cnnSpeed.cpu.backend).toBe('cpu');
    expect(report.mlpWasmFix.labels).toEqual(['stock wasm', 'wasm + enableWasmTraining()']);
    expect(report.cnnLossRatio.labels).toEqual(['GALA', 'cross-entropy']);
    expect(report.lossOnly.map((t) => t.backend)).toEqual(['wasm', 'cpu']);
    expect(isWasmTrainingEnabled()).toBe(true); // left on, as the command line uses wasm
    const text = output();
    expect(text.split('\n')[0]).toMatch(/^Backend: wasm \(/);
    expect(text).toContain('CNN steps/s');
    expect(text).toContain(`Written: ${path.join(out, 'perf.json')}`);
    await fs.rm(out, { recursive: true, force: true });
  });
});
