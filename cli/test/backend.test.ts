import * as tf from '@tensorflow/tfjs';

import { isWasmTrainingEnabled } from 'tfjs-gala';
import { checkBackendTrains, formatBackend, selectBackend, type BackendChoice } from '../src/backend';

function installed(packageName: string): boolean {
  try {
    require.resolve(packageName);
    return true;
  } catch {
    return false;
  }
}

describe('selectBackend', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('activates cpu when asked, checks tf.getBackend() and names the CPU', async () => {
    const selected = await selectBackend('cpu');
    expect(selected).toMatchObject({ name: 'cpu', packageName: '@tensorflow/tfjs (tfjs-backend-cpu)', softwareAdapter: false, note: null });
    expect(selected.device).toMatch(/^CPU: \d+ cores of /);
    expect(tf.getBackend()).toBe('cpu');
  });

  it("activates wasm when asked, with the package's training kernels", async () => {
    const selected = await selectBackend('wasm');
    expect(selected.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(isWasmTrainingEnabled()).toBe(true);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
    expect(selected.note).toContain('enableWasmTraining()');
    expect(() => checkBackendTrains('cnn', 'wasm')).not.toThrow();
  });

  it('picks a native backend for auto when one is installed, else wasm, and never a software GPU', async () => {
    // Dawn (the npm package webgpu) is ESM and does not load under Jest's CommonJS: webgpu is skipped here.
    const expected = installed('@tensorflow/tfjs-node') || installed('@tensorflow/tfjs-node-gpu') ? 'tensorflow' : 'wasm';
    expect((await selectBackend('auto')).name).toBe(expected);
  });

  const noNativeBackend = !installed('@tensorflow/tfjs-node') && !installed('@tensorflow/tfjs-node-gpu');
  (noNativeBackend ? it : it.skip)('explains that tensorflow needs tfjs-node when it is not installed', async () => {
    await expect(selectBackend('tensorflow')).rejects.toThrow(
      /^--backend: backend 'tensorflow' is not available\. Tried @tensorflow\/tfjs-node-gpu: .*; @tensorflow\/tfjs-node: .*\. Install @tensorflow\/tfjs-node \(or @tensorflow\/tfjs-node-gpu\), or choose --backend wasm or cpu\.$/,
    );
  });

  it('rejects an unknown backend name', async () => {
    await expect(selectBackend('webgl' as BackendChoice)).rejects.toThrow('--backend: the backend must be one of auto, tensorflow, webgpu, wasm, cpu; received webgl.');
  });
});

describe('checkBackendTrains', () => {
  it('lets the MLP train anywhere and names the kernels the CNN lacks', () => {
    expect(() => checkBackendTrains('mlp', 'nowhere')).not.toThrow();
    expect(() => checkBackendTrains('cnn', 'nowhere')).toThrow(
      "--model: the cnn must be trainable on the backend 'nowhere'; received a backend without the kernels Conv2D, Conv2DBackpropFilter, Conv2DBackpropInput, MaxPool, MaxPoolGrad. Choose --backend cpu or wasm.",
    );
  });
});

describe('formatBackend', () => {
  it('names the package, the device and, for the slow cpu backend, how to get a faster one', () => {
    expect(formatBackend({ name: 'cpu', packageName: '@tensorflow/tfjs (tfjs-backend-cpu)' })).toBe(
      'cpu (@tensorflow/tfjs (tfjs-backend-cpu); pure JavaScript, slow: npm install @tensorflow/tfjs-backend-wasm for ~20x faster training)',
    );
    expect(formatBackend({ name: 'wasm', packageName: '@tensorflow/tfjs-backend-wasm', device: 'CPU: 2 cores of X', note: 'fix' })).toBe(
      'wasm (@tensorflow/tfjs-backend-wasm; CPU: 2 cores of X; fix)',
    );
    expect(formatBackend({ name: 'webgpu', packageName: 'tfjs-backend-webgpu', device: 'SwiftShader Device', softwareAdapter: true })).toBe(
      'webgpu (tfjs-backend-webgpu; adapter: SwiftShader Device; software adapter: CPU speed or less)',
    );
  });
});
