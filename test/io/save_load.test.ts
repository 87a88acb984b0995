import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as tf from '@tensorflow/tfjs';

import { GalaLoss, galaLoss } from '../../src/losses/gala_loss';
import { fileSystem } from '../../src/io/file_system';
import { installSaveLoadHooks, lossMarker, TRAINING_CONFIG_KEY } from '../../src/io/save_load';
import { expectClose } from '../helpers';

function model(seed = 1): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({ units: 8, inputShape: [4], activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
      tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
}

function data(n = 24) {
  const labels = Array.from({ length: n }, (_, i) => (i % 6 < 3 ? 0 : i % 6 < 5 ? 1 : 2));
  const xs = tf.tensor2d(labels.map((c, i) => [c === 0 ? 1 : -1, c === 1 ? 1 : -1, c === 2 ? 1 : -1, ((i * 7) % 5) / 5]));
  return { xs, ys: tf.oneHot(tf.tensor1d(labels, 'int32'), 3) as tf.Tensor2D, sparse: tf.tensor1d(labels, 'float32') };
}

/** Saves through memory and a JSON round trip of the artifacts, as a real medium would. */
async function saveToMemory(m: tf.LayersModel, includeOptimizer = true): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await m.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
    { includeOptimizer },
  );
  const weightData = saved!.weightData as ArrayBuffer;
  const json = JSON.parse(JSON.stringify({ ...saved, weightData: undefined }));
  return { ...json, weightData: weightData.slice(0) };
}

async function trained(loss: GalaLoss) {
  const m = model();
  m.compile({ optimizer: tf.train.adam(0.01), loss, metrics: ['accuracy'] });
  const { xs, ys } = data();
  await m.fit(xs, ys, { epochs: 3, batchSize: 8, shuffle: false });
  return { m, xs, ys };
}

describe('save and load keep GalaLoss (memory handler)', () => {
  it('restores config, state, step count and optimizer; resuming is exact', async () => {
    const loss = galaLoss({ numClasses: 3, lambda1: 1.2, lambda2: 0.9 });
    const { m, xs, ys } = await trained(loss);
    const artifacts = await saveToMemory(m);
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));

    const loadedLoss = loaded.loss as unknown as GalaLoss;
    expect(loadedLoss).toBeInstanceOf(GalaLoss);
    expect(loadedLoss).not.toBe(loss);
    expect(loadedLoss.getConfig()).toEqual(loss.getConfig());
    const state = loss.getState();
    expect(state.steps).toBe(9);
    expect(loadedLoss.getState()).toEqual(state);
    expect(loaded.optimizer.getClassName()).toBe('Adam');

    const lossA = (await m.trainOnBatch(xs, ys)) as number[];
    const lossB = (await loaded.trainOnBatch(xs, ys)) as number[];
    expectClose(lossB, lossA, 1e-5);
    const wA = m.getWeights();
    const wB = loaded.getWeights();
    expect(wB.length).toBe(wA.length);
    wA.forEach((w, i) => expectClose(wB[i], w, 1e-5));
    expectClose(loadedLoss.getState().positive, loss.getState().positive, 1e-5);
    expect(loadedLoss.getState().steps).toBe(10);
    loss.dispose();
    loadedLoss.dispose();
  });

  it('keeps the reference variant\'s running sum, so resuming is exact there too', async () => {
    const loss = galaLoss({ numClasses: 3, variant: 'reference' });
    const { m, xs, ys } = await trained(loss);
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(await saveToMemory(m)));
    const loadedLoss = loaded.loss as unknown as GalaLoss;
    expect(loadedLoss.getState()).toEqual(loss.getState());
    expectClose((await loaded.trainOnBatch(xs, ys)) as number[], (await m.trainOnBatch(xs, ys)) as number[], 1e-5);
    expectClose(loadedLoss.getState().positive, loss.getState().positive, 1e-5);
    loss.dispose();
    loadedLoss.dispose();
  });

  it('writes a marker as the loss name and the loss under trainingConfig.tfjs_gala', async () => {
    const loss = galaLoss({ numClasses: 3 });
    const { m } = await trained(loss);
    const artifacts = await saveToMemory(m);
    const config = artifacts.trainingConfig as unknown as Record<string, unknown>;
    // tfjs snake-cases loss names on save (and camel-cases them back on load); the note stays.
    const note = lossMarker(loss.getClassName()).slice(loss.getClassName().length);
    expect(config.loss).toMatch(/gala/i);
    expect((config.loss as string).endsWith(note)).toBe(true);
    expect(config[TRAINING_CONFIG_KEY]).toEqual({
      format: 1,
      losses: { loss: { class_name: loss.getClassName(), config: loss.getConfig(), state: loss.getState() } },
    });
    expect(m.loss).toBe(loss); // saving leaves the compiled model as it was
    loss.dispose();
  });

  it('without includeOptimizer stays stock: the loaded model is not compiled', async () => {
    const loss = galaLoss({ numClasses: 3 });
    const { m, xs, ys } = await trained(loss);
    const artifacts = await saveToMemory(m, false);
    expect(artifacts.trainingConfig).toBeUndefined();
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    expect(loaded.optimizer).toBeUndefined();
    await expect(loaded.fit(xs, ys, { epochs: 1 })).rejects.toThrow(/compile/);
    loss.dispose();
  });

  it('leaves models compiled with a stock loss exactly as before', async () => {
    const m = model();
    m.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const artifacts = await saveToMemory(m);
    expect(artifacts.trainingConfig).toEqual({
      loss: 'categorical_crossentropy',
      metrics: ['accuracy'],
      optimizer_config: { class_name: 'Adam', config: m.optimizer.getConfig() },
    });
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    expect(loaded.loss).toBe('categoricalCrossentropy');
  });

  it('handles a multi-output model with GALA on one output (array and dict forms)', async () => {
    const input = tf.input({ shape: [4] });
    const hidden = tf.layers.dense({ units: 6, activation: 'relu', name: 'hidden' }).apply(input) as tf.SymbolicTensor;
    const classes = tf.layers.dense({ units: 3, name: 'classes' }).apply(hidden) as tf.SymbolicTensor;
    const score = tf.layers.dense({ units: 1, name: 'score' }).apply(hidden) as tf.SymbolicTensor;
    const { xs, ys } = data();
    const score1 = tf.ones([24, 1]);
    for (const form of ['array', 'dict'] as const) {
      const m = tf.model({ inputs: input, outputs: [classes, score] });
      const loss = galaLoss({ numClasses: 3 });
      m.compile({
        optimizer: tf.train.sgd(0.1),
        // tfjs's types want all-strings or all-functions; mixing works at run time.
        loss: (form === 'array' ? [loss, 'meanSquaredError'] : { classes: loss, score: 'meanSquaredError' }) as never,
      });
      await m.fit(xs, [ys, score1], { epochs: 1, batchSize: 8 });
      const loaded = await tf.loadLayersModel(tf.io.fromMemory(await saveToMemory(m)));
      const restored = (form === 'array' ? (loaded.loss as unknown[])[0] : (loaded.loss as Record<string, unknown>).classes) as GalaLoss;
      const other = form === 'array' ? (loaded.loss as unknown[])[1] : (loaded.loss as Record<string, unknown>).score;
      expect(restored).toBeInstanceOf(GalaLoss);
      expect(restored.getState()).toEqual(loss.getState());
      expect(other).toBe('meanSquaredError');
      loss.dispose();
      restored.dispose();
    }
  });

  it('fails loudly when the installed tfjs-layers lacks the methods it wraps, or loads differently', () => {
    class NoHooks {}
    expect(() => installSaveLoadHooks(NoHooks)).toThrow(
      /^installSaveLoadHooks: modelClass must have LayersModel.prototype.save\/getTrainingConfig\/loadTrainingConfig, .*; received one without save, getTrainingConfig, loadTrainingConfig/,
    );
    class LoadsWithoutCompile {
      loss: unknown = null;
      async save() {
        return {};
      }
      getTrainingConfig() {
        return {};
      }
      loadTrainingConfig() {
        /* a version that builds the model some other way */
      }
    }
    installSaveLoadHooks(LoadsWithoutCompile);
    const stored = { format: 1, losses: { loss: { class_name: 'GalaLoss', config: { numClasses: 3 } } } };
    const fake = new LoadsWithoutCompile() as unknown as { loadTrainingConfig(config: unknown): void };
    expect(() => fake.loadTrainingConfig({ loss: 'x', [TRAINING_CONFIG_KEY]: stored })).toThrow(
      /must compile the model with the losses saved in trainingConfig.tfjs_gala; received a model that was not compiled/,
    );
  });
});

describe('save and load keep GalaLoss (folder)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-gala-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('round-trips through fileSystem(dir) and through a file:// URL', async () => {
    const loss = galaLoss({ numClasses: 3 });
    const { m, xs } = await trained(loss);
    await m.save(fileSystem(path.join(dir, 'a')), { includeOptimizer: true });
    await m.save(`file://${path.join(dir, 'b')}`, { includeOptimizer: true });
    expect(fs.readdirSync(path.join(dir, 'a')).sort()).toEqual(['model.json', 'weights.bin']);
    // A folder, a folder URL, and (as with tfjs-node) the URL of the model.json file itself.
    for (const source of [fileSystem(path.join(dir, 'a')), `file://${path.join(dir, 'b')}`, `file://${path.join(dir, 'b', 'model.json')}`]) {
      const loaded = await tf.loadLayersModel(source);
      expect((loaded.loss as unknown as GalaLoss).getState()).toEqual(loss.getState());
      expectClose(loaded.predict(xs) as tf.Tensor, m.predict(xs) as tf.Tensor, 1e-6);
      (loaded.loss as unknown as GalaLoss).dispose();
    }
    loss.dispose();
  });

  it('names the path when the folder has no model', async () => {
    await expect(tf.loadLayersModel(fileSystem(path.join(dir, 'missing')))).rejects.toThrow(/cannot read '.*missing\/model.json'/);
  });

  it('without the package, stock tfjs refuses the model and says to import tfjs-gala', async () => {
    const loss = galaLoss({ numClasses: 3 });
    const { m } = await trained(loss);
    const artifacts = await saveToMemory(m);
    const file = path.join(dir, 'artifacts.json');
    fs.writeFileSync(file, JSON.stringify({ ...artifacts, weightData: Buffer.from(artifacts.weightData as ArrayBuffer).toString('base64') }));
    const script = `
      const tf = require('@tensorflow/tfjs');
      const a = JSON.parse(require('fs').readFileSync(${JSON.stringify(file)}, 'utf8'));
      const b = Buffer.from(a.weightData, 'base64');
      a.weightData = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
      tf.loadLayersModel(tf.io.fromMemory(a)).then(() => console.log('LOADED'), (e) => console.log('ERROR ' + e.message));`;
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd: path.resolve(__dirname, '../..') });
    expect(out).toMatch(/ERROR Unknown loss \S*GalaLoss \(saved by tfjs-gala: import 'tfjs-gala' before loading this model/);
    loss.dispose();
  });
});
