import * as tf from '@tensorflow/tfjs';

import { timeLossOnly, timeTrainingStep } from '../../src/bench/perf';
import { perfVariants, renderLossTable, renderStepTable } from '../../src/bench_perf';

describe('perf harness', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('times training steps of both models and frees models, optimizers and loss', async () => {
    const before = tf.memory().numTensors;
    const timing = await timeTrainingStep({ steps: 2, warmup: 1, batchSize: 8, numClasses: 4 });
    expect(tf.memory().numTensors).toBe(before);
    expect(timing.backend).toBe('cpu');
    expect(timing.msGala).toBeGreaterThan(0);
    expect(timing.ratio).toBeCloseTo(timing.msGala / timing.msCrossEntropy, 12);
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

  it('measures cpu, stock wasm and wasm with the matMul fix', () => {
    expect(perfVariants(['cpu', 'wasm'])).toEqual([
      { backend: 'cpu', matMulFix: false },
      { backend: 'wasm', matMulFix: false },
      { backend: 'wasm', matMulFix: true },
    ]);
  });

  it('renders the tables with ratios and whether targets are met', () => {
    const step = renderStepTable([{ backend: 'wasm', batchSize: 128, steps: 80, msGala: 21, msCrossEntropy: 20, ratio: 1.05, crossEntropy: '' }]);
    expect(step).toMatch(/│ wasm\s+│\s+21\.00 │\s+20\.00 │ 1\.050 │ met\s+│\s+80 │/);
    const loss = renderLossTable([
      { backend: 'cpu', numClasses: 1000, batchSize: 256, msGala: 30, msCrossEntropy: 10, ratio: 3, peakBytesGala: 256 * 1000 * 4 * 5, peakBytesCrossEntropy: 256 * 1000 * 4 * 3, bytesPerClassGala: 5120, bytesPerClassCrossEntropy: 3072 },
    ]);
    expect(loss).toMatch(/│ cpu\s+│\s+1000 │\s+30\.00 │\s+10\.00 │\s+3\.00 │ MISSED\s+│\s+4\.88 │\s+2\.93 │\s+5120 │\s+5\.0 │\s+3\.0 │/);
  });
});
