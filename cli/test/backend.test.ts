import * as tf from '@tensorflow/tfjs';

import { formatBackend, selectBackend, type BackendChoice } from '../src/backend';

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

  it('activates cpu when asked and checks tf.getBackend()', async () => {
    expect(await selectBackend('cpu')).toEqual({ name: 'cpu', packageName: '@tensorflow/tfjs (tfjs-backend-cpu)' });
    expect(tf.getBackend()).toBe('cpu');
  });

  it('activates wasm when asked', async () => {
    const selected = await selectBackend('wasm');
    expect(selected.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('picks the fastest installed backend for auto', async () => {
    const expected = installed('@tensorflow/tfjs-node') || installed('@tensorflow/tfjs-node-gpu') ? 'tensorflow' : 'wasm';
    expect((await selectBackend('auto')).name).toBe(expected);
  });

  const noNativeBackend = !installed('@tensorflow/tfjs-node') && !installed('@tensorflow/tfjs-node-gpu');
  (noNativeBackend ? it : it.skip)('explains that tensorflow needs tfjs-node when it is not installed', async () => {
    await expect(selectBackend('tensorflow')).rejects.toThrow(
      /^Backend 'tensorflow' is not available\. Tried @tensorflow\/tfjs-node-gpu: .*; @tensorflow\/tfjs-node: .*\. Install @tensorflow\/tfjs-node \(or @tensorflow\/tfjs-node-gpu\), or choose --backend wasm or cpu\.$/,
    );
  });

  it('rejects an unknown backend name', async () => {
    await expect(selectBackend('webgpu' as BackendChoice)).rejects.toThrow("Unknown backend 'webgpu'; allowed: auto, tensorflow, wasm, cpu.");
  });
});

describe('formatBackend', () => {
  it('names the package and, for the slow cpu backend, how to get a faster one', () => {
    expect(formatBackend({ name: 'cpu', packageName: '@tensorflow/tfjs (tfjs-backend-cpu)' })).toBe(
      'cpu (@tensorflow/tfjs (tfjs-backend-cpu); pure JavaScript, slow: npm install @tensorflow/tfjs-backend-wasm for ~20x faster training)',
    );
    expect(formatBackend({ name: 'wasm', packageName: '@tensorflow/tfjs-backend-wasm', note: 'fix' })).toBe('wasm (@tensorflow/tfjs-backend-wasm; fix)');
  });
});
