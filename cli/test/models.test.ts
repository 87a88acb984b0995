import * as tf from '@tensorflow/tfjs';

import { buildCnn, buildMlp, buildModel, describeArchitecture } from '../src/models';

const weights = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));

describe('buildMlp', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('starts from the same weights for the same seed, whatever the output layer', () => {
    const a = buildMlp({ numFeatures: 784, numClasses: 10, seed: 5, fromLogits: true });
    const b = buildMlp({ numFeatures: 784, numClasses: 10, seed: 5, fromLogits: false });
    const c = buildMlp({ numFeatures: 784, numClasses: 10, seed: 6, fromLogits: true });
    expect(a.layers.map((l) => l.outputShape)).toEqual([[null, 256], [null, 128], [null, 10]]);
    expect(weights(b)).toEqual(weights(a));
    expect(weights(c)[0]).not.toEqual(weights(a)[0]);
    for (const m of [a, b, c]) m.dispose();
  });

  it("with 'pytorch' initialisation draws kernels and biases from U(-1/sqrt(fanIn), 1/sqrt(fanIn))", () => {
    const model = buildMlp({ numFeatures: 784, numClasses: 10, seed: 1, fromLogits: true, initialization: 'pytorch' });
    const fanIns = [784, 256, 128];
    model.getWeights().forEach((weight, i) => {
      const limit = 1 / Math.sqrt(fanIns[Math.floor(i / 2)]);
      const maxAbs = Array.from(weight.dataSync()).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(maxAbs).toBeLessThanOrEqual(limit);
      expect(maxAbs).toBeGreaterThan(0.9 * limit); // spans the interval, biases included
    });
    model.dispose();
  });
});

describe('buildCnn', () => {
  it('is the protocol CNN: conv16 3x3 valid, pool 2, conv32 3x3 valid, pool 2, flatten 800, dense 128, dense C', () => {
    const model = buildCnn({ numFeatures: 784, imageShape: [28, 28], numClasses: 10, seed: 0, fromLogits: true });
    expect(model.layers.map((l) => l.getClassName())).toEqual(['Reshape', 'Conv2D', 'MaxPooling2D', 'Conv2D', 'MaxPooling2D', 'Flatten', 'Dense', 'Dense']);
    expect(model.layers.map((l) => l.outputShape)).toEqual([
      [null, 28, 28, 1],
      [null, 26, 26, 16],
      [null, 13, 13, 16],
      [null, 11, 11, 32],
      [null, 5, 5, 32],
      [null, 800],
      [null, 128],
      [null, 10],
    ]);
    expect(model.countParams()).toBe(16 * 9 + 16 + 32 * 16 * 9 + 32 + 800 * 128 + 128 + 128 * 10 + 10);
    model.dispose();
  });

  it("with 'pytorch' initialisation draws conv weights from U(±1/sqrt(kh * kw * inChannels)), biases included", () => {
    const model = buildCnn({ numFeatures: 784, numClasses: 10, seed: 2, fromLogits: true, initialization: 'pytorch' });
    const fanIns = [9, 9 * 16, 800, 128];
    model.getWeights().forEach((weight, i) => {
      const limit = 1 / Math.sqrt(fanIns[Math.floor(i / 2)]);
      const maxAbs = Array.from(weight.dataSync()).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(maxAbs).toBeLessThanOrEqual(limit);
      expect(maxAbs).toBeGreaterThan(0.8 * limit); // 16 biases of the first layer span most of it
    });
    model.dispose();
  });

  it('is seeded like the MLP: same seed, same weights; another seed, others', () => {
    const options = { model: 'cnn', numFeatures: 784, numClasses: 10, fromLogits: true } as const;
    const [a, b, c] = [buildModel({ ...options, seed: 4 }), buildModel({ ...options, seed: 4, fromLogits: false }), buildModel({ ...options, seed: 5 })];
    expect(weights(b)).toEqual(weights(a));
    expect(weights(c)[0]).not.toEqual(weights(a)[0]);
    for (const m of [a, b, c]) m.dispose();
  });

  it('names images too small for the two convolutions and poolings', () => {
    expect(() => buildCnn({ numFeatures: 64, numClasses: 10, seed: 0, fromLogits: true })).toThrow(
      'buildCnn: the images must be at least 10x10 pixels for two 3x3 convolutions and 2x2 poolings; received 8x8.',
    );
  });
});

describe('describeArchitecture', () => {
  it('names layers and sizes', () => {
    expect(describeArchitecture('mlp', 784, 10)).toBe('MLP 784-256-128-10');
    expect(describeArchitecture('cnn', 784, 10, [28, 28])).toBe('CNN 28x28x1 conv16-pool-conv32-pool-128-10');
  });
});
