import { formatBackend } from '../../src/cli/backend';

describe('formatBackend', () => {
  it('names the package and, for the slow cpu backend, how to get a faster one', () => {
    expect(formatBackend({ name: 'cpu', packageName: '@tensorflow/tfjs (tfjs-backend-cpu)' })).toBe(
      'cpu (@tensorflow/tfjs (tfjs-backend-cpu); pure JavaScript, slow: npm install @tensorflow/tfjs-backend-wasm for ~20x faster training)',
    );
    expect(formatBackend({ name: 'wasm', packageName: '@tensorflow/tfjs-backend-wasm', note: 'fix' })).toBe('wasm (@tensorflow/tfjs-backend-wasm; fix)');
  });
});
