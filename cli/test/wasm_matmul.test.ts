import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

import { isWasmTransposedMatMulFixInstalled, setWasmTransposedMatMulFix } from '../src/wasm_matmul';
import { expectClose } from '../../test/helpers';

describe('setWasmTransposedMatMulFix', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    await tf.ready();
    expect(tf.getBackend()).toBe('wasm');
  });
  afterEach(() => setWasmTransposedMatMulFix(false));
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  // Shapes chosen so that a transposition mix-up cannot pass: every dimension differs.
  const cases: [string, number[], number[], boolean, boolean][] = [
    ['transposeA, rank 2', [5, 3], [5, 4], true, false],
    ['transposeB, rank 2', [3, 5], [4, 5], false, true],
    ['both, rank 2', [5, 3], [4, 5], true, true],
    ['transposeA, rank 3 batch 2', [2, 5, 3], [2, 5, 4], true, false],
    ['transposeB, rank 3 broadcast batch', [2, 3, 5], [1, 4, 5], false, true],
    ['no transpose (left to the stock kernel)', [3, 5], [5, 4], false, false],
  ];

  it.each(cases)('gives the stock result for %s', (_, aShape, bShape, transposeA, transposeB) => {
    const a = tf.randomNormal(aShape, 0, 1, 'float32', 1);
    const b = tf.randomNormal(bShape, 0, 1, 'float32', 2);
    const stock = tf.matMul(a, b, transposeA, transposeB);
    setWasmTransposedMatMulFix(true);
    expect(isWasmTransposedMatMulFixInstalled()).toBe(true);
    const fixed = tf.matMul(a, b, transposeA, transposeB);
    expect(fixed.shape).toEqual(stock.shape);
    expectClose(fixed, stock, 1e-5);
    tf.dispose([a, b, stock, fixed]);
  });

  it('frees its intermediate transposes (no wasm buffer left behind)', () => {
    const a = tf.randomNormal([64, 32], 0, 1, 'float32', 3);
    const b = tf.randomNormal([64, 16], 0, 1, 'float32', 4);
    setWasmTransposedMatMulFix(true);
    tf.matMul(a, b, true, false).dispose(); // warm-up
    const buffers = tf.backend().numDataIds();
    const tensors = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) tf.matMul(a, b, true, false).dispose();
    expect(tf.backend().numDataIds()).toBe(buffers);
    expect(tf.memory().numTensors).toBe(tensors);
    tf.dispose([a, b]);
  });

  it('trains a dense model to the same weights as the stock kernel', async () => {
    const train = async () => {
      const model = tf.sequential({
        layers: [
          tf.layers.dense({ units: 6, activation: 'relu', inputShape: [7], kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
          tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
        ],
      });
      const optimizer = tf.train.adam(0.01);
      model.compile({ optimizer, loss: 'meanSquaredError' });
      const x = tf.randomNormal([9, 7], 0, 1, 'float32', 5);
      const y = tf.randomNormal([9, 3], 0, 1, 'float32', 6);
      for (let i = 0; i < 3; i++) await model.trainOnBatch(x, y);
      const weights = model.getWeights().map((w) => Array.from(w.dataSync()));
      tf.dispose([x, y]);
      model.dispose();
      optimizer.dispose();
      return weights;
    };
    const stock = await train();
    setWasmTransposedMatMulFix(true);
    const fixed = await train();
    fixed.forEach((w, i) => expectClose(w, stock[i], 1e-5));
  });

  it('restores the stock kernel when turned off, and is idempotent', () => {
    const stock = tf.getKernel('BatchMatMul', 'wasm');
    setWasmTransposedMatMulFix(true);
    setWasmTransposedMatMulFix(true);
    expect(tf.getKernel('BatchMatMul', 'wasm')).not.toBe(stock);
    setWasmTransposedMatMulFix(false);
    setWasmTransposedMatMulFix(false);
    expect(isWasmTransposedMatMulFixInstalled()).toBe(false);
    expect(tf.getKernel('BatchMatMul', 'wasm')).toBe(stock);
  });
});
