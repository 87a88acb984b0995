/**
 * Callbacks arrays mixing the package's callbacks, tfjs class callbacks and plain objects
 * (tfjs#1792): every order works with fit and fitDataset; with the mixing hook off, the
 * package's callbacks fail with a message that names the fix, never a TypeError of their own.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

import { DeferredReweighting } from '../../src/callbacks/deferred_reweighting';
import { GradientMonitor } from '../../src/callbacks/gradient_monitor/gradient_monitor';
import {
  CALLBACK_MIXING_KEY,
  installCallbackMixing,
  isCallbackMixingInstalled,
  mixCallbacks,
  uninstallCallbackMixing,
} from '../../src/callbacks/mixed_callbacks';
import type { ClassWeightedLoss } from '../../src/core/class_weighted_loss';

const LABELS = [0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 0, 1];
const EPOCHS = 6;
/** With a learning rate of 0 the loss never improves (by more than minDelta): earlyStopping (patience 1) stops after epoch 1. */
const EPOCHS_RUN = 2;

/** A cross-entropy loss with per-class weights, recording what DeferredReweighting sets. */
function weightedLoss(): ClassWeightedLoss & ((yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor) & { readonly set: Array<number[] | null> } {
  const set: Array<number[] | null> = [];
  const fn = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.losses.softmaxCrossEntropy(yTrue, yPred, undefined, undefined, tf.Reduction.NONE);
  return Object.assign(fn, {
    numClasses: 3,
    set,
    setClassWeights: (w: readonly number[] | null) => void set.push(w == null ? null : w.slice()),
    getClassWeights: () => set.at(-1) ?? null,
  }) as never;
}

function model(loss: unknown): tf.Sequential {
  const m = tf.sequential({
    layers: [
      tf.layers.dense({ units: 5, inputShape: [4], activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
      tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }),
    ],
  });
  m.compile({ optimizer: tf.train.sgd(0), loss: loss as string });
  return m;
}

/** A plain-object callback as tfvis.show.fitCallbacks returns one. */
function plainObject(): { onEpochEnd: (epoch: number, logs?: tf.Logs) => Promise<void>; onBatchEnd: () => Promise<void>; epochs: number[]; batches: number } {
  const object = {
    epochs: [] as number[],
    batches: 0,
    onEpochEnd: async (epoch: number, logs?: tf.Logs) => {
      expect(typeof logs?.loss).toBe('number');
      object.epochs.push(epoch);
    },
    onBatchEnd: async () => void object.batches++,
  };
  return object;
}

type Entry = 'monitor' | 'earlyStopping' | 'plain' | 'drw';

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

const ORDERS = permutations<Entry>(['monitor', 'earlyStopping', 'plain', 'drw']);

async function train(method: 'fit' | 'fitDataset', m: tf.LayersModel, callbacks: unknown[]): Promise<tf.History> {
  const xs = tf.randomNormal([LABELS.length, 4], 0, 1, 'float32', 5);
  const ys = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(LABELS, 'int32'), 3), 'float32'));
  try {
    if (method === 'fit') {
      return await m.fit(xs, ys, { epochs: EPOCHS, batchSize: 4, shuffle: false, verbose: 0, callbacks: callbacks as tf.Callback[] });
    }
    const dataset = tf.data.zip({ xs: tf.data.array(tf.unstack(xs)), ys: tf.data.array(tf.unstack(ys)) }).batch(4);
    return await m.fitDataset(dataset as never, { epochs: EPOCHS, verbose: 0, callbacks: callbacks as tf.Callback[] });
  } finally {
    tf.dispose([xs, ys]);
  }
}

describe.each(['cpu', 'wasm'])('on the %s backend', (backend) => {
  beforeAll(async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    await tf.ready();
  });

  describe.each(['fit', 'fitDataset'] as const)('%s', (method) => {
    it.each(ORDERS.map((order) => [order.join(', '), order]))('runs every callback in the order [%s]', async (_name, order) => {
      const loss = weightedLoss();
      const plain = plainObject();
      const monitor = new GradientMonitor();
      const entries: Record<Entry, unknown> = {
        monitor,
        earlyStopping: tf.callbacks.earlyStopping({ monitor: 'loss', patience: 1, minDelta: 1e-3 }),
        plain,
        drw: new DeferredReweighting({ loss, switchEpoch: 1, classWeights: [1, 2, 3] }),
      };
      const history = await train(method, model(loss), (order as Entry[]).map((e) => entries[e]));
      expect(history.epoch).toEqual([0, 1]); // earlyStopping stopped training
      expect(plain.epochs).toEqual([0, 1]);
      expect(plain.batches).toBe(EPOCHS_RUN * 3);
      expect(monitor.history).toHaveLength(EPOCHS_RUN);
      expect(monitor.history[0].statistics.samples).toEqual([7, 4, 1]);
      expect(loss.set).toEqual([null, [1, 2, 3]]);
    });
  });
});

describe('the mixing hook', () => {
  afterEach(() => installCallbackMixing());

  it('is installed at import, once, under a global marker on LayersModel.prototype', () => {
    const proto = tf.LayersModel.prototype as unknown as Record<symbol, unknown>;
    expect(isCallbackMixingInstalled()).toBe(true);
    expect(CALLBACK_MIXING_KEY).toBe(Symbol.for('tfjs-gala.mixedCallbacks'));
    expect(proto[CALLBACK_MIXING_KEY]).toBeDefined();
    const fit = tf.LayersModel.prototype.fit;
    expect(installCallbackMixing()).toBe(false);
    expect(tf.LayersModel.prototype.fit).toBe(fit);
  });

  it('is not installed twice by a second copy of the package on the same tfjs', () => {
    const fit = tf.LayersModel.prototype.fit;
    const fitDataset = tf.LayersModel.prototype.fitDataset;
    jest.isolateModules(() => {
      // A second copy of the module, sharing this tfjs instance.
      jest.doMock('@tensorflow/tfjs-layers', () => jest.requireActual('@tensorflow/tfjs-layers'));
      jest.doMock('@tensorflow/tfjs-core', () => jest.requireActual('@tensorflow/tfjs-core'));
      const copy = require('../../src/callbacks/mixed_callbacks') as typeof import('../../src/callbacks/mixed_callbacks');
      expect(copy.installCallbackMixing).not.toBe(installCallbackMixing);
      expect(copy.installCallbackMixing()).toBe(false);
    });
    expect(tf.LayersModel.prototype.fit).toBe(fit);
    expect(tf.LayersModel.prototype.fitDataset).toBe(fitDataset);
  });

  it("uninstallCallbackMixing gives fit and fitDataset back to tfjs; installCallbackMixing puts the hook back", () => {
    const wrapped = tf.LayersModel.prototype.fit;
    expect(uninstallCallbackMixing()).toBe(true);
    expect(isCallbackMixingInstalled()).toBe(false);
    expect(tf.LayersModel.prototype.fit).not.toBe(wrapped);
    expect((tf.LayersModel.prototype as unknown as Record<symbol, unknown>)[CALLBACK_MIXING_KEY]).toBeUndefined();
    expect(uninstallCallbackMixing()).toBe(false);
    expect(installCallbackMixing()).toBe(true);
    expect(isCallbackMixingInstalled()).toBe(true);
  });

  it('passes calls straight through after uninstall when something else wrapped fit since', async () => {
    const proto = tf.LayersModel.prototype as unknown as { fit: (...args: unknown[]) => unknown };
    const ours = proto.fit;
    const outer = function fit(this: unknown, ...args: unknown[]) {
      return ours.apply(this, args);
    };
    proto.fit = outer;
    try {
      expect(uninstallCallbackMixing()).toBe(true);
      expect(proto.fit).toBe(outer);
      expect(isCallbackMixingInstalled()).toBe(false);
      const m = model('categoricalCrossentropy');
      await expect(train('fit', m, [tf.callbacks.earlyStopping({ monitor: 'loss' }), plainObject()])).rejects.toThrow(/setParams is not a function/);
      expect(installCallbackMixing()).toBe(true);
      const history = await train('fit', m, [tf.callbacks.earlyStopping({ monitor: 'loss', patience: 1, minDelta: 1e-3 }), plainObject()]);
      expect(history.epoch).toEqual([0, 1]);
    } finally {
      proto.fit = ours;
    }
  });

  it("leaves the caller's args and arrays of one kind untouched", () => {
    const a = tf.callbacks.earlyStopping();
    const plain = plainObject();
    expect(mixCallbacks([a])).toEqual([a]);
    const plains = [plain, {}];
    expect(mixCallbacks(plains)).toBe(plains);
    const mixed = [a, plain];
    const out = mixCallbacks(mixed) as unknown[];
    expect(mixed).toEqual([a, plain]);
    expect(out[0]).toBe(a);
    expect(out[1]).toBeInstanceOf(tf.CustomCallback);
  });

  it('names a mixed-array entry that is neither a callback nor an object, and a misspelt hook', async () => {
    const m = model('categoricalCrossentropy');
    await expect(train('fit', m, [new GradientMonitor(), null])).rejects.toThrow(
      /^LayersModel\.fit: callbacks\[1\] must be a tf\.Callback or a plain object of hooks like \{onEpochEnd: .*\}; received null\.$/,
    );
    await expect(train('fitDataset', m, [{ onEpochEnds: () => undefined }, new GradientMonitor()])).rejects.toThrow(
      /^LayersModel\.fitDataset: callbacks\[0\]\.onEpochEnds must be one of the hooks onTrainBegin, .* \(did you mean 'onEpochEnd'\?\); received 'onEpochEnds', which tfjs would never call\.$/,
    );
  });
});

describe('without the mixing hook (tfjs wraps every callback in tf.CustomCallback)', () => {
  beforeAll(() => uninstallCallbackMixing());
  afterAll(() => installCallbackMixing());

  it('GradientMonitor fails with a message that names the plain object and the fix, not a TypeError', async () => {
    const m = model('categoricalCrossentropy');
    const error = await train('fit', m, [plainObject(), new GradientMonitor()]).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^GradientMonitor: model must be set by fit before training starts; received none\./);
    expect((error as Error).message).toContain('plain object');
    expect((error as Error).message).toContain('new tf.CustomCallback({...})');
    expect((error as Error).message).not.toMatch(/is not a function/);
  });

  it('DeferredReweighting, which needs no model, still works', async () => {
    const loss = weightedLoss();
    const plain = plainObject();
    await train('fit', model(loss), [plain, new DeferredReweighting({ loss, switchEpoch: 2, classWeights: [1, 2, 3] })]);
    expect(loss.set).toEqual([null, null, [1, 2, 3], [1, 2, 3], [1, 2, 3], [1, 2, 3]]);
    expect(plain.epochs).toHaveLength(EPOCHS);
  });

  it('works when the plain object is wrapped by hand, as the docs say', async () => {
    const monitor = new GradientMonitor();
    const plain = plainObject();
    await train('fit', model('categoricalCrossentropy'), [monitor, new tf.CustomCallback(plain)]);
    expect(monitor.history).toHaveLength(EPOCHS);
    expect(plain.epochs).toHaveLength(EPOCHS);
  });
});
