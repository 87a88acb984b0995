/**
 * The save/load hooks on `LayersModel.prototype` (issue 11 item 8; issue 10 item 3):
 * - installed once per tfjs-layers instance, recorded under Symbol.for('tfjs-gala.saveLoadHooks'),
 *   whatever the number of copies of the package (a second copy is loaded here with
 *   jest.isolateModules, sharing this process's tfjs, as an ESM and a CommonJS build would);
 * - a loss built by one copy saves and loads through the hooks of another (duck typing);
 * - removable with uninstallSaveLoadHooks and installable again;
 * - `model.save` reads each loss's state with `await getStateAsync()` when the loss has it, and
 *   never with the synchronous getState then;
 * - no tensor leaks of their own on the save and load paths.
 * Every case runs on cpu and wasm.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

import {
  SAVE_LOAD_HOOKS,
  areSaveLoadHooksInstalled,
  installSaveLoadHooks,
  uninstallSaveLoadHooks,
} from '../../src/io/save_load';
import { GalaLoss, galaLoss, type GalaState } from '../../src/losses/gala_loss';
import { expectClose } from '../helpers';
import { galaBlock, rejection, saveToMemory, smallData, smallModel, trainedModel, useBackend } from './io_helpers';

type SaveLoadModule = typeof import('../../src/io/save_load');
type GalaModule = typeof import('../../src/losses/gala_loss');

// The tfjs instance this file uses, by the names the package's modules import.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sharedCore = require('@tensorflow/tfjs-core');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sharedLayers = require('@tensorflow/tfjs-layers');

/** A second copy of the package's modules, on this process's tfjs (as two builds of the package would be). */
function secondCopy(): { saveLoad: SaveLoadModule; gala: GalaModule } {
  let copy: { saveLoad: SaveLoadModule; gala: GalaModule } | undefined;
  jest.isolateModules(() => {
    jest.doMock('@tensorflow/tfjs-core', () => sharedCore);
    jest.doMock('@tensorflow/tfjs-layers', () => sharedLayers);
    copy = {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      saveLoad: require('../../src/io/save_load'),
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      gala: require('../../src/losses/gala_loss'),
    };
  });
  jest.dontMock('@tensorflow/tfjs-core');
  jest.dontMock('@tensorflow/tfjs-layers');
  return copy!;
}

type Proto = Record<string | symbol, unknown>;
const proto = tf.LayersModel.prototype as unknown as Proto;
const METHODS = ['save', 'getTrainingConfig', 'loadTrainingConfig'] as const;
const methods = () => METHODS.map((m) => proto[m]);
const registry = () => tf.serialization.SerializationMap.getMap().classNameMap;

/** A loss as the hooks see it: duck-typed, possibly with an async state read. */
type LooseLoss = GalaLoss & { getStateAsync?: () => Promise<GalaState> };

describe.each(['cpu', 'wasm'])('the save/load hooks, on the %s backend', (backend) => {
  let copyB: { saveLoad: SaveLoadModule; gala: GalaModule };
  let registrySnapshot: Record<string, unknown>;
  let stock: Record<(typeof METHODS)[number], unknown>;

  beforeAll(async () => {
    await useBackend(backend);
    const record = proto[SAVE_LOAD_HOOKS] as { original: Record<string, { fn: unknown }> };
    stock = { save: record.original.save.fn, getTrainingConfig: record.original.getTrainingConfig.fn, loadTrainingConfig: record.original.loadTrainingConfig.fn };
    registrySnapshot = { ...registry() };
    const before = methods();
    copyB = secondCopy();
    // Importing the second copy changed nothing on the prototype.
    expect(methods()).toEqual(before);
  });

  /** The installed hooks, from the record on the prototype. */
  const installedHooks = () => (proto[SAVE_LOAD_HOOKS] as { installed: Record<string, unknown> } | undefined)?.installed;
  let hooksOfCopyA: Record<string, unknown>;
  beforeAll(() => {
    hooksOfCopyA = { ...installedHooks()! };
  });

  afterEach(() => {
    // Whatever a test did: copy A's hooks installed, the registry holding copy A's classes.
    if (installedHooks()?.save !== hooksOfCopyA.save) {
      uninstallSaveLoadHooks();
      installSaveLoadHooks();
      hooksOfCopyA = { ...installedHooks()! };
    }
    Object.assign(registry(), registrySnapshot);
  });

  it('are recorded once on the prototype under Symbol.for("tfjs-gala.saveLoadHooks"), not enumerable', () => {
    expect(SAVE_LOAD_HOOKS).toBe(Symbol.for('tfjs-gala.saveLoadHooks'));
    expect(Object.prototype.hasOwnProperty.call(proto, SAVE_LOAD_HOOKS)).toBe(true);
    expect(Object.keys(proto)).not.toContain('save');
    expect(areSaveLoadHooksInstalled()).toBe(true);
    expect(copyB.saveLoad.areSaveLoadHooksInstalled()).toBe(true);
    for (const m of METHODS) expect(proto[m]).not.toBe(stock[m]);
    // Installing again, from either copy, does nothing.
    const before = methods();
    installSaveLoadHooks();
    copyB.saveLoad.installSaveLoadHooks();
    expect(methods()).toEqual(before);
  });

  it('save and load a loss built by the other copy (duck typing), state and resumption exact', async () => {
    const lossB = copyB.gala.galaLoss({ numClasses: 3, lambda1: 1.2, lambda2: 0.9 }) as unknown as GalaLoss;
    expect(lossB).not.toBeInstanceOf(GalaLoss); // another copy's class
    const { m, xs, ys } = await trainedModel(lossB);
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(await saveToMemory(m)));
    const restored = loaded.loss as unknown as GalaLoss;
    expect(restored.getState()).toEqual(lossB.getState());
    expect(restored.getConfig()).toEqual(lossB.getConfig());
    expectClose((await loaded.trainOnBatch(xs, ys)) as number, (await m.trainOnBatch(xs, ys)) as number, 1e-5);
    restored.dispose();
    lossB.dispose();
  });

  it('can be removed by either copy, which restores the stock methods, and installed again by either', async () => {
    expect(copyB.saveLoad.uninstallSaveLoadHooks()).toBe(true);
    expect(areSaveLoadHooksInstalled()).toBe(false);
    for (const m of METHODS) expect(proto[m]).toBe(stock[m]);
    expect(uninstallSaveLoadHooks()).toBe(false); // nothing left to remove

    // Stock tfjs again: a package loss cannot be saved with the training config.
    const loss = galaLoss({ numClasses: 3 });
    const { m, xs } = await trainedModel(loss);
    await expect(saveToMemory(m)).rejects.toThrow(/Serialization of non-string loss is not supported/);

    // Copy B's hooks now, with copy A's loss.
    copyB.saveLoad.installSaveLoadHooks();
    expect(areSaveLoadHooksInstalled()).toBe(true);
    for (const m of METHODS) expect(proto[m]).not.toBe(stock[m]);
    const artifacts = await saveToMemory(m);
    expect(galaBlock(artifacts).losses.loss.state).toEqual(loss.getState());
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    expect((loaded.loss as unknown as GalaLoss).getState()).toEqual(loss.getState());
    expectClose(loaded.predict(xs) as tf.Tensor, m.predict(xs) as tf.Tensor, 1e-6);
    (loaded.loss as unknown as GalaLoss).dispose();

    // And copy A's again.
    expect(uninstallSaveLoadHooks()).toBe(true);
    installSaveLoadHooks();
    expect(installedHooks()!.save).toBe(proto.save);
    const again = await tf.loadLayersModel(tf.io.fromMemory(await saveToMemory(m)));
    expect((again.loss as unknown as GalaLoss).getState()).toEqual(loss.getState());
    (again.loss as unknown as GalaLoss).dispose();
    loss.dispose();
  });

  it('refuse to uninstall when another wrapper was installed on top of them, and change nothing', () => {
    const hook = proto.getTrainingConfig as (...args: unknown[]) => unknown;
    const wrapper = function (this: unknown, ...args: unknown[]) {
      return hook.apply(this, args);
    };
    proto.getTrainingConfig = wrapper;
    try {
      expect(() => uninstallSaveLoadHooks()).toThrow(
        /^uninstallSaveLoadHooks: LayersModel\.prototype\.getTrainingConfig must still be tfjs-gala's hook; received another function, installed after it\. Remove that wrapper first\.$/,
      );
      expect(areSaveLoadHooksInstalled()).toBe(true);
      expect(proto.save).toBe(hooksOfCopyA.save);
    } finally {
      proto.getTrainingConfig = hook;
    }
  });

  describe('model.save reads the state asynchronously', () => {
    it('with await getStateAsync() when the loss has it, and never with getState()', async () => {
      const loss = galaLoss({ numClasses: 3 }) as LooseLoss;
      const { m } = await trainedModel(loss);
      const expected = loss.getState();
      const asyncRead =
        typeof loss.getStateAsync === 'function'
          ? jest.spyOn(loss as Required<LooseLoss>, 'getStateAsync')
          : (loss.getStateAsync = jest.fn(async () => expected));
      const syncRead = jest.spyOn(loss, 'getState').mockImplementation(() => {
        throw new Error('getState: the synchronous read was used');
      });
      const artifacts = await saveToMemory(m);
      expect(asyncRead).toHaveBeenCalledTimes(1);
      expect(syncRead).not.toHaveBeenCalled();
      expect(galaBlock(artifacts).losses.loss.state).toEqual(expected);
      syncRead.mockRestore();
      loss.dispose();
    });

    it('the state written is the one the async read returned', async () => {
      const loss = galaLoss({ numClasses: 3 }) as LooseLoss;
      const { m } = await trainedModel(loss);
      const marked: GalaState = { ...loss.getState(), steps: 12345 };
      loss.getStateAsync = async () => marked;
      expect(galaBlock(await saveToMemory(m)).losses.loss.state).toEqual(marked);
      loss.dispose();
    });

    it('falls back to getState() for a loss without getStateAsync', async () => {
      const loss = galaLoss({ numClasses: 3 }) as LooseLoss;
      const { m } = await trainedModel(loss);
      Object.defineProperty(loss, 'getStateAsync', { value: undefined });
      const syncRead = jest.spyOn(loss, 'getState');
      const artifacts = await saveToMemory(m);
      expect(syncRead).toHaveBeenCalledTimes(1);
      expect(galaBlock(artifacts).losses.loss.state).toEqual(loss.getState());
      loss.dispose();
    });

    it('without includeOptimizer reads no state at all', async () => {
      const loss = galaLoss({ numClasses: 3 }) as LooseLoss;
      const { m } = await trainedModel(loss);
      loss.getStateAsync = jest.fn(async () => loss.getState());
      const syncRead = jest.spyOn(loss, 'getState');
      await saveToMemory(m, false);
      expect(loss.getStateAsync).not.toHaveBeenCalled();
      expect(syncRead).not.toHaveBeenCalled();
      loss.dispose();
    });

    it('a failing async read fails the save with its error', async () => {
      const loss = galaLoss({ numClasses: 3 }) as LooseLoss;
      const { m } = await trainedModel(loss);
      loss.getStateAsync = async () => {
        throw new Error('device lost');
      };
      expect(await rejection(saveToMemory(m))).toBe('device lost');
      loss.dispose();
    });
  });

  describe('leak nothing of their own', () => {
    async function saveDelta(m: tf.LayersModel): Promise<number> {
      const before = tf.memory().numTensors;
      await saveToMemory(m);
      return tf.memory().numTensors - before;
    }

    async function loadAndDisposeDelta(artifacts: tf.io.ModelArtifacts): Promise<number> {
      const before = tf.memory().numTensors;
      const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
      const loss = loaded.loss as unknown as { dispose?: () => void };
      if (typeof loss.dispose === 'function') loss.dispose();
      loaded.optimizer.dispose();
      loaded.dispose();
      return tf.memory().numTensors - before;
    }

    it('saving and loading leak exactly what stock tfjs leaks for a model with a stock loss', async () => {
      const stockModel = smallModel();
      stockModel.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
      const { xs, ys } = smallData();
      await stockModel.fit(xs, ys, { epochs: 3, batchSize: 8, shuffle: false, verbose: 0 });
      const gala = galaLoss({ numClasses: 3 }) as LooseLoss;
      const { m } = await trainedModel(gala);
      const stockSave = await saveDelta(stockModel);
      expect(await saveDelta(m)).toBe(stockSave);
      gala.getStateAsync ??= async () => gala.getState();
      expect(await saveDelta(m)).toBe(stockSave);

      const stockLoad = await loadAndDisposeDelta(await saveToMemory(stockModel));
      expect(await loadAndDisposeDelta(await saveToMemory(m))).toBe(stockLoad);
      gala.dispose();
    });
  });
});
