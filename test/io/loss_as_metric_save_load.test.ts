/**
 * A package loss listed as a metric too, saved and loaded: `compile({loss: g, metrics: [g]})`
 * (tfjs writes a function metric by its name, `gala_loss`, which its loader then looks up in its
 * own metric map and fails on: "Unknown metric galaLoss"). The hooks write a marker in
 * `trainingConfig.metrics` and record the metric under `trainingConfig.tfjs_gala.metrics`
 * (format 2): as `{loss: key}` when it is the loss (restored as the restored loss itself, so they
 * share their state), `{metric: key}` for the same object listed again, or in full for another
 * instance. Stock metrics beside them keep working; saves without package-loss metrics are
 * written and read as before (format 1). Every case runs on cpu and wasm.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

import { installSaveLoadHooks, metricMarker, uninstallSaveLoadHooks } from '../../src/io/save_load';
import { CrossEntropyLoss, crossEntropyLoss } from '../../src/losses/cross_entropy_loss';
import { GalaLoss, galaLoss, type GalaState } from '../../src/losses/gala_loss';
import { expectClose } from '../helpers';
import { failingLoad as failingLoadOf, rejection, roundTrip, saveToMemory, smallData, smallModel, useBackend } from './io_helpers';

interface Block {
  format: number;
  losses: Record<string, { class_name: string; config: Record<string, unknown>; state?: unknown }>;
  metrics?: Record<string, { loss?: string; metric?: string; class_name?: string; config?: Record<string, unknown>; state?: unknown }>;
}

const trainingConfig = (a: tf.io.ModelArtifacts) => a.trainingConfig as unknown as { loss: unknown; metrics: unknown; tfjs_gala?: Block };
const block = (a: tf.io.ModelArtifacts) => trainingConfig(a).tfjs_gala!;
const metricsOf = (m: tf.LayersModel) => m.metrics as unknown;
const historyKeys = (h: tf.History) => Object.keys(h.history).sort();

/** A marker as tfjs writes it (snake-cased, as it writes every metric name): only its note survives as written. */
const NOTE = metricMarker('X').slice(1);

/** One more epoch (3 batches) with validation data, the same for every model it is given. */
function fitOnce(m: tf.LayersModel, xs: tf.Tensor, ys: tf.Tensor | tf.Tensor[]): Promise<tf.History> {
  return m.fit(xs, ys, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0, validationData: [xs, ys] });
}

describe.each(['cpu', 'wasm'])('a package loss as a metric, saved and loaded, on the %s backend', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it("loss g and metrics ['accuracy', g]: the restored metric is the restored loss, and history after one more fit has the same keys and values", async () => {
    const loss = galaLoss({ numClasses: 3, lambda1: 1.2, lambda2: 0.9 });
    const m = smallModel();
    m.compile({ optimizer: tf.train.adam(0.01), loss, metrics: ['accuracy', loss] });
    const { xs, ys } = smallData();
    const first = await fitOnce(m, xs, ys);
    expect(historyKeys(first)).toEqual(['acc', 'gala_loss', 'loss', 'val_acc', 'val_gala_loss', 'val_loss']);

    const artifacts = await saveToMemory(m);
    const config = trainingConfig(artifacts);
    expect(config.metrics).toEqual(['accuracy', expect.stringContaining(NOTE)]);
    expect(block(artifacts).format).toBe(2);
    expect(block(artifacts).metrics).toEqual({ '1': { loss: 'loss' } });
    expect(block(artifacts).losses.loss.state).toEqual(loss.getState()); // saved once, with the loss
    expect(metricsOf(m)).toEqual(['accuracy', loss]); // saving leaves the compiled model as it was

    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    const restored = loaded.loss as unknown as GalaLoss;
    expect(restored).toBeInstanceOf(GalaLoss);
    const restoredMetrics = metricsOf(loaded) as unknown[];
    expect(restoredMetrics).toHaveLength(2);
    expect(restoredMetrics[0]).toBe('accuracy');
    expect(restoredMetrics[1]).toBe(restored); // the same object: one state, shared
    expect(restored.getState()).toEqual(loss.getState());

    const original = await fitOnce(m, xs, ys);
    const resumed = await fitOnce(loaded, xs, ys);
    expect(historyKeys(resumed)).toEqual(historyKeys(original));
    for (const key of historyKeys(original)) expectClose(resumed.history[key] as number[], original.history[key] as number[], 1e-5);
    // The state moved once per batch (3), not twice: the metric call is the loss's own call.
    expect(restored.getState().steps).toBe(loss.getState().steps);
    expect(restored.getState().steps).toBe(6);
    expectClose(restored.getState().positive, loss.getState().positive, 1e-5);
    loss.dispose();
    restored.dispose();
  });

  it('another instance as a metric (crossEntropyLoss on a GALA model) is saved in full and restored as its own loss', async () => {
    const loss = galaLoss({ numClasses: 3 });
    const ce = crossEntropyLoss();
    const m = smallModel();
    m.compile({ optimizer: tf.train.adam(0.01), loss, metrics: [ce, 'accuracy'] });
    const { xs, ys } = smallData();
    await fitOnce(m, xs, ys);

    const artifacts = await saveToMemory(m);
    expect(block(artifacts).metrics).toEqual({ '0': { class_name: ce.getClassName(), config: ce.getConfig() } });
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    const [metric, accuracy] = metricsOf(loaded) as unknown[];
    expect(metric).toBeInstanceOf(CrossEntropyLoss);
    expect(metric).not.toBe(loaded.loss);
    expect((metric as CrossEntropyLoss).getConfig()).toEqual(ce.getConfig());
    expect(accuracy).toBe('accuracy');

    const original = await fitOnce(m, xs, ys);
    const resumed = await fitOnce(loaded, xs, ys);
    expect(historyKeys(resumed)).toEqual(['acc', 'cross_entropy_loss', 'loss', 'val_acc', 'val_cross_entropy_loss', 'val_loss']);
    expect(historyKeys(resumed)).toEqual(historyKeys(original));
    for (const key of historyKeys(original)) expectClose(resumed.history[key] as number[], original.history[key] as number[], 1e-5);
    loss.dispose();
    ce.dispose();
    (loaded.loss as unknown as GalaLoss).dispose();
    (metric as CrossEntropyLoss).dispose();
  });

  it('another GalaLoss as a metric keeps its own state, read with getStateAsync once per object at save', async () => {
    const loss = galaLoss({ numClasses: 3 });
    const other = galaLoss({ numClasses: 3, variant: 'reference' });
    const m = smallModel();
    // A single function (not a list): tfjs saves it as a list of one.
    m.compile({ optimizer: tf.train.adam(0.01), loss, metrics: other });
    const { xs, ys } = smallData();
    await fitOnce(m, xs, ys);
    const readLoss = jest.spyOn(loss, 'getStateAsync');
    const readOther = jest.spyOn(other, 'getStateAsync');
    const artifacts = await saveToMemory(m);
    expect(readLoss).toHaveBeenCalledTimes(1);
    expect(readOther).toHaveBeenCalledTimes(1);
    expect(trainingConfig(artifacts).metrics).toEqual([expect.stringContaining(NOTE)]);
    expect(block(artifacts).metrics!['0'].state).toEqual(other.getState());

    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    const [metric] = metricsOf(loaded) as GalaLoss[];
    expect(metric).toBeInstanceOf(GalaLoss);
    expect(metric).not.toBe(loaded.loss);
    expect(metric.getConfig()).toEqual(other.getConfig());
    expect(metric.getState()).toEqual(other.getState());
    expect((loaded.loss as unknown as GalaLoss).getState()).toEqual(loss.getState());
    loss.dispose();
    other.dispose();
    metric.dispose();
    (loaded.loss as unknown as GalaLoss).dispose();
  });

  it('a package metric on a model with a stock loss: the loss stays stock, the metric is restored', async () => {
    const ce = crossEntropyLoss();
    const m = smallModel();
    m.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy', ce] });
    const { xs, ys } = smallData();
    await fitOnce(m, xs, ys);
    const artifacts = await saveToMemory(m);
    expect(trainingConfig(artifacts).loss).toBe('categorical_crossentropy');
    expect(block(artifacts)).toEqual({ format: 2, losses: {}, metrics: { '1': { class_name: ce.getClassName(), config: ce.getConfig() } } });
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    expect(loaded.loss).toBe('categoricalCrossentropy');
    expect((metricsOf(loaded) as unknown[])[1]).toBeInstanceOf(CrossEntropyLoss);
    const original = await fitOnce(m, xs, ys);
    const resumed = await fitOnce(loaded, xs, ys);
    expect(historyKeys(resumed)).toEqual(historyKeys(original));
    for (const key of historyKeys(original)) expectClose(resumed.history[key] as number[], original.history[key] as number[], 1e-5);
    ce.dispose();
    ((metricsOf(loaded) as unknown[])[1] as CrossEntropyLoss).dispose();
  });

  it('a multi-output model with dict metrics: a loss by reference, and one metric object on two outputs restored as one object', async () => {
    const input = tf.input({ shape: [4] });
    const a = tf.layers.dense({ units: 3, name: 'a' }).apply(input) as tf.SymbolicTensor;
    const b = tf.layers.dense({ units: 3, name: 'b' }).apply(input) as tf.SymbolicTensor;
    const c = tf.layers.dense({ units: 3, name: 'c' }).apply(input) as tf.SymbolicTensor;
    const m = tf.model({ inputs: input, outputs: [a, b, c] });
    const lossA = galaLoss({ numClasses: 3 });
    const ce = crossEntropyLoss();
    // tfjs's types want all-strings or all-functions; mixing works at run time.
    m.compile({ optimizer: tf.train.sgd(0.1), loss: [lossA, 'categoricalCrossentropy', 'categoricalCrossentropy'] as never, metrics: { a: lossA, b: ce, c: ce } });
    const { xs, ys } = smallData();
    await fitOnce(m, xs, [ys, ys, ys]);
    const artifacts = await saveToMemory(m);
    expect(block(artifacts).metrics).toEqual({
      a: { loss: '0' },
      b: { class_name: ce.getClassName(), config: ce.getConfig() },
      c: { metric: 'b' },
    });
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    const metrics = metricsOf(loaded) as Record<string, unknown>;
    expect(metrics.a).toBe((loaded.loss as unknown[])[0]);
    expect(metrics.b).toBeInstanceOf(CrossEntropyLoss);
    expect(metrics.c).toBe(metrics.b);
    const original = await fitOnce(m, xs, [ys, ys, ys]);
    const resumed = await fitOnce(loaded, xs, [ys, ys, ys]);
    expect(historyKeys(resumed)).toEqual(historyKeys(original));
    expect(historyKeys(resumed)).toEqual(expect.arrayContaining(['a_gala_loss', 'b_cross_entropy_loss', 'c_cross_entropy_loss']));
    for (const key of historyKeys(original)) expectClose(resumed.history[key] as number[], original.history[key] as number[], 1e-5);
    lossA.dispose();
    ce.dispose();
    ((loaded.loss as unknown[])[0] as GalaLoss).dispose();
    (metrics.b as CrossEntropyLoss).dispose();
  });

  it('saves without package-loss metrics stay format 1, without a metrics field, and load as before', async () => {
    const loss = galaLoss({ numClasses: 3 });
    const m = smallModel();
    m.compile({ optimizer: tf.train.adam(0.01), loss, metrics: ['accuracy'] });
    const artifacts = await saveToMemory(m);
    expect(trainingConfig(artifacts).metrics).toEqual(['accuracy']);
    expect(block(artifacts)).toEqual({ format: 1, losses: { loss: expect.any(Object) } });
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    expect(metricsOf(loaded)).toEqual(['accuracy']);
    loss.dispose();
    (loaded.loss as unknown as GalaLoss).dispose();
  });

  describe('a damaged or partial save', () => {
    let saved: tf.io.ModelArtifacts;
    let modelWeights: number;
    let state: GalaState;

    beforeAll(async () => {
      const loss = galaLoss({ numClasses: 3 });
      const other = galaLoss({ numClasses: 3 });
      const m = smallModel();
      m.compile({ optimizer: tf.train.adam(0.01), loss, metrics: ['accuracy', loss, other] });
      const { xs, ys } = smallData();
      await fitOnce(m, xs, ys);
      saved = await saveToMemory(m);
      modelWeights = m.weights.length;
      state = loss.getState();
      loss.dispose();
      other.dispose();
    });

    /** Loads edited artifacts; expects a rejection that leaks only the model's weights, as stock tfjs does. */
    const failingLoad = (edit: (a: tf.io.ModelArtifacts) => void): Promise<string> => failingLoadOf(saved, modelWeights, edit);

    it('the intact save loads (the control for the cases below)', async () => {
      expect(block(saved).metrics).toEqual({ '1': { loss: 'loss' }, '2': expect.objectContaining({ class_name: 'tfjs-gala.GalaLoss' }) });
      const loaded = await tf.loadLayersModel(tf.io.fromMemory(roundTrip(saved)));
      const restored = loaded.loss as unknown as GalaLoss;
      expect(restored.getState()).toEqual(state);
      const metrics = metricsOf(loaded) as unknown[];
      expect(metrics[1]).toBe(restored);
      restored.dispose();
      (metrics[2] as GalaLoss).dispose();
    });

    it('a metric marker whose entry was removed names the entry, not "Unknown metric"', async () => {
      const message = await failingLoad((a) => delete block(a).metrics!['2']);
      expect(message).toMatch(
        /^tf\.loadLayersModel: model\.json's trainingConfig\.tfjs_gala\.metrics\["2"\] must be present: trainingConfig\.metrics\[2\] names a loss saved by tfjs-gala \(tfjs-gala\.GalaLoss\) as a metric/,
      );
      expect(message).not.toMatch(/Unknown metric/);
      const noMetrics = await failingLoad((a) => delete block(a).metrics);
      expect(noMetrics).toMatch(/trainingConfig\.tfjs_gala\.metrics\["1"\] must be present: .*; received a tfjs_gala block without metrics\./);
    });

    it('a damaged entry names its field: a loss reference, a metric reference, a state', async () => {
      expect(await failingLoad((a) => (block(a).metrics!['1'] = { loss: 'nope' }))).toMatch(
        /trainingConfig\.tfjs_gala\.metrics\["1"\]\.loss must be the key of a loss saved in trainingConfig\.tfjs_gala\.losses \("loss"\); received "nope"/,
      );
      expect(await failingLoad((a) => (block(a).metrics!['1'] = { metric: '1' }))).toMatch(
        /trainingConfig\.tfjs_gala\.metrics\["1"\]\.metric must be the key of another entry of trainingConfig\.tfjs_gala\.metrics/,
      );
      expect(await failingLoad((a) => delete block(a).metrics!['2'].state)).toMatch(
        /trainingConfig\.tfjs_gala\.metrics\["2"\]\.state must be the saved state of its tfjs-gala\.GalaLoss/,
      );
      expect(await failingLoad((a) => ((block(a) as unknown as Record<string, unknown>).metrics = ['x']))).toMatch(
        /trainingConfig\.tfjs_gala\.metrics must be an object with one entry per metric that is a package loss; received \["x"\]/,
      );
    });

    it('a removed tfjs_gala block names both fields that refer to it', async () => {
      const message = await failingLoad((a) => delete trainingConfig(a).tfjs_gala);
      expect(message).toMatch(
        /^tf\.loadLayersModel: model\.json's trainingConfig\.tfjs_gala must be present: trainingConfig\.loss and trainingConfig\.metrics name losses saved by tfjs-gala \(tfjs-gala\.GalaLoss\)/,
      );
    });

    it('without the hooks, stock tfjs refuses the metric with a message that says to import tfjs-gala', async () => {
      const ce = crossEntropyLoss();
      const m = smallModel();
      m.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: [ce] });
      const artifacts = await saveToMemory(m);
      expect(uninstallSaveLoadHooks()).toBe(true);
      try {
        expect(await rejection(tf.loadLayersModel(tf.io.fromMemory(artifacts)))).toMatch(
          /^Unknown metric tfjs-gala\.CrossEntropyLoss \(saved by tfjs-gala: import 'tfjs-gala' before loading this model, to restore this metric\)/,
        );
      } finally {
        installSaveLoadHooks();
      }
      ce.dispose();
    });
  });
});
