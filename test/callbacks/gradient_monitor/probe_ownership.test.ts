/**
 * The probe tensors stay the caller's: a float32 one-hot `ys` (the form fit needs) must survive
 * any number of fits, and every epoch must be measured. Both backends.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

import { GradientMonitor } from '../../../src/callbacks/gradient_monitor/gradient_monitor';

const LABELS = [0, 0, 0, 0, 1, 1, 2, 0, 0, 1, 0, 2];

function model(): tf.Sequential {
  const m = tf.sequential({
    layers: [
      tf.layers.dense({ units: 5, inputShape: [4], activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
      tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }),
    ],
  });
  m.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
  return m;
}

/** Float32 one-hot labels, as `fit` takes them. */
const oneHotFloat = () => tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(LABELS, 'int32'), 3), 'float32'));

describe.each(['cpu', 'wasm'])('on the %s backend', (backend) => {
  let warn: jest.SpyInstance;
  beforeAll(async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    await tf.ready();
  });
  beforeEach(() => {
    warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());

  it.each(['probe', 'training'] as const)(
    "source '%s': float32 one-hot probe labels survive two fits, and every epoch is measured",
    async (source) => {
      const xs = tf.randomNormal([LABELS.length, 4], 0, 1, 'float32', 11);
      const ys = oneHotFloat();
      expect(ys.dtype).toBe('float32');
      const monitor = new GradientMonitor({ source, probe: { xs, ys } });
      const m = model();
      await m.fit(xs, ys, { epochs: 2, batchSize: 4, verbose: 0, callbacks: [monitor] });
      expect(ys.isDisposed).toBe(false);
      await m.fit(xs, ys, { epochs: 2, batchSize: 4, verbose: 0, callbacks: [monitor] });
      expect(ys.isDisposed).toBe(false);
      expect(xs.isDisposed).toBe(false);
      expect(monitor.history).toHaveLength(4);
      expect(monitor.history.every((r) => r.similarity != null)).toBe(true);
      expect(warn.mock.calls.map((c) => String(c[0])).filter((m) => m.includes('GradientMonitor'))).toEqual([]);
      tf.dispose([xs, ys]);
    },
  );

  it('leaves the probe tensors alive when measuring fails the shape check', async () => {
    const xs = tf.zeros([LABELS.length, 4]);
    const ys = tf.zeros([LABELS.length, 5]);
    const monitor = new GradientMonitor({ probe: { xs, ys } });
    await expect(model().fit(xs, oneHotFloat(), { epochs: 1, verbose: 0, callbacks: [monitor] })).rejects.toThrow(/probe\.ys must be one-hot/);
    expect(ys.isDisposed).toBe(false);
    tf.dispose([xs, ys]);
  });

  it('leaks no tensor over two fits with a float32 one-hot probe', async () => {
    const xs = tf.randomNormal([LABELS.length, 4], 0, 1, 'float32', 11);
    const ys = oneHotFloat();
    const m = model();
    await m.fit(xs, ys, { epochs: 1, verbose: 0 }); // creates the optimizer's slots
    const before = tf.memory().numTensors;
    const monitor = new GradientMonitor({ source: 'probe', probe: { xs, ys } });
    await m.fit(xs, ys, { epochs: 2, verbose: 0, callbacks: [monitor] });
    await m.fit(xs, ys, { epochs: 2, verbose: 0, callbacks: [monitor] });
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([xs, ys]);
  });
});
