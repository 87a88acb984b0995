import * as tf from '@tensorflow/tfjs';

import { selectBackend } from '../src/backend';
import { renderCoverage, renderGpuCheckTable, runGpuCheck } from '../src/gpu_check';
import { checkKernelCoverage, coverageComplete, LOSS_PROBES } from '../src/kernel_coverage';
import { capture } from './helpers';

describe('kernel coverage', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it("records the kernels of every package loss on cpu and runs them on wasm with the cpu's gradients", async () => {
    await selectBackend('wasm');
    const before = tf.memory().numTensors;
    const coverage = await checkKernelCoverage('wasm');
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.getBackend()).toBe('wasm');
    expect(coverage.kernels).toEqual(expect.arrayContaining(['Exp', 'Sum', 'Multiply', 'BatchMatMul']));
    expect(coverage.losses.map((l) => l.name)).toEqual(LOSS_PROBES.map((p) => p.name));
    expect(coverage.missing).toEqual([]);
    for (const loss of coverage.losses) {
      expect(loss.error).toBeNull();
      expect(loss.maxAbsDifference).toBeLessThan(1e-4);
    }
    expect(coverageComplete(coverage)).toBe(true);
    expect(renderCoverage(coverage)).toMatch(/^Kernel coverage: the package's 10 losses run \d+ kernels \(forward, gradient, state update\); all registered on wasm\.\nEvery loss runs on wasm/);
  });

  it('names missing kernels and failing losses', () => {
    const text = renderCoverage({
      backend: 'webgpu',
      kernels: ['A', 'B'],
      missing: ['B'],
      losses: [
        { name: 'galaLoss (paper)', maxAbsDifference: null, error: "Kernel 'B' not registered for backend 'webgpu'" },
        { name: 'focalLoss', maxAbsDifference: 1e-6, error: null },
      ],
    });
    expect(text).toContain('1 missing on webgpu: B.');
    expect(text).toContain("Losses that fail or differ on webgpu: galaLoss (paper) (Kernel 'B' not registered for backend 'webgpu').");
  });
});

describe('gpu-check', () => {
  it('renders both runs with steps per second, the step-time ratio, accuracy and the differences', () => {
    const run = (backend: string, ce: number, gala: number, accuracy: number) => ({
      backend,
      device: '',
      stepsPerSecond: { ce, gala },
      stepTimeRatio: ce / gala,
      overall: { ce: accuracy, gala: accuracy + 0.04, 'gala+pr': accuracy + 0.05 },
      seconds: 12,
    });
    const text = renderGpuCheckTable([run('webgpu', 200, 196, 0.7), run('wasm', 80, 79, 0.69)], { ce: 1, gala: 1, 'gala+pr': 1 });
    expect(text).toMatch(/│ webgpu +│ +200\.0 │ +196\.0 │ +1\.020 │ +70\.0 │ +74\.0 │ +75\.0 │ +12\.0 │/);
    expect(text).toContain('webgpu - wasm in points: ce +1.0, gala +1.0, gala+pr +1.0 (same within noise up to 2)');
  });

  it('says how to get an adapter when there is none (here: Dawn does not load under Jest)', async () => {
    const { env, output } = capture();
    await expect(runGpuCheck({ allowSoftware: false, model: 'mlp', epochs: 1, progress: false }, env)).rejects.toThrow(
      /^--backend: backend 'webgpu' is not available\..* VK_ICD_FILENAMES=/,
    );
    expect(output()).toBe('');
  });
});
