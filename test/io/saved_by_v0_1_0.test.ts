import * as fs from 'node:fs';
import * as path from 'node:path';

import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

import '../../src/io/save_load';
import { fileSystem } from '../../src/io/file_system';
import { PredictionRebalance } from '../../src/layers/prediction_rebalance';
import { crossEntropyLoss } from '../../src/losses/cross_entropy_loss';
import { GalaLoss, type GalaState } from '../../src/losses/gala_loss';
import { LogitAdjustedLoss } from '../../src/losses/logit_adjusted_loss';
import { expectClose } from '../helpers';
import { galaBlock, saveToMemory, useBackend } from './io_helpers';

// A model saved by 0.1.0 with softmax cross-entropy written as LogitAdjustedLoss at tau 0
// (how cross-entropy was saved before CrossEntropyLoss existed): it must load as it was
// saved, and train on. How the fixture was made: test/fixtures/v0.1.0/README.md.

const FIXTURE = path.resolve(__dirname, '../fixtures/v0.1.0/cross_entropy_as_logit_adjusted_tau0');

interface Expected {
  xs: number[][];
  labels: number[];
  predictions: number[][];
}

function expected(): Expected {
  return JSON.parse(fs.readFileSync(path.join(FIXTURE, 'expected.json'), 'utf8')) as Expected;
}

describe('a model saved by 0.1.0 with LogitAdjustedLoss at tau 0', () => {
  beforeAll(async () => {
    expect(await tf.setBackend('cpu')).toBe(true);
  });

  it('loads with its loss, config and optimizer, through fileSystem(dir) and a file:// URL', async () => {
    for (const source of [fileSystem(FIXTURE), `file://${path.join(FIXTURE, 'model.json')}`]) {
      const loaded = await tf.loadLayersModel(source);
      const loss = loaded.loss as unknown as LogitAdjustedLoss;
      expect(loss).toBeInstanceOf(LogitAdjustedLoss);
      expect(loss.getConfig()).toEqual({ tau: 0, classCounts: [4, 2, 1], priors: null, fromLogits: true });
      expect(loaded.optimizer.getClassName()).toBe('Adam');
      expect(loaded.optimizer.getConfig()).toMatchObject({ learningRate: 0.05 });
      const { xs, predictions } = expected();
      expectClose(loaded.predict(tf.tensor2d(xs)) as tf.Tensor, predictions.flat(), 1e-6);
    }
  });

  it('computes softmax cross-entropy, the same as CrossEntropyLoss', async () => {
    const loaded = await tf.loadLayersModel(fileSystem(FIXTURE));
    const { xs, labels } = expected();
    const outputs = loaded.predict(tf.tensor2d(xs)) as tf.Tensor;
    const ys = tf.tensor1d(labels, 'int32');
    expectClose((loaded.loss as unknown as LogitAdjustedLoss)(ys, outputs), crossEntropyLoss()(ys, outputs), 1e-6);
  });

  it('trains on: the reported loss is the mean cross-entropy before the step, and the weights move', async () => {
    const loaded = await tf.loadLayersModel(fileSystem(FIXTURE));
    const { xs, labels } = expected();
    const x = tf.tensor2d(xs);
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 3);
    const before = tf.mean(crossEntropyLoss()(y, loaded.predict(x) as tf.Tensor)).dataSync()[0];
    const kernel = loaded.getWeights()[0].dataSync().slice();
    const history = await loaded.fit(x, y, { epochs: 1, batchSize: xs.length, shuffle: false });
    expectClose(history.history.loss[0] as number, before, 1e-6);
    expect(Array.from(loaded.getWeights()[0].dataSync()).some((v, i) => Math.abs(v - kernel[i]) > 1e-6)).toBe(true);
    const after = tf.mean(crossEntropyLoss()(y, loaded.predict(x) as tf.Tensor)).dataSync()[0];
    expect(after).toBeLessThan(before);
  });
});

// A model saved by 0.1.0, when classes were registered under bare names: GalaLoss in both
// variants (paper on the 'logits' output, reference on the 'rebalanced' one) in
// trainingConfig.tfjs_gala, and a calibrated PredictionRebalance layer in the topology. It must
// load with the current, package-qualified classes, its state included, and train on.

const GALA_FIXTURE = path.resolve(__dirname, '../fixtures/v0.1.0/gala_paper_and_reference_with_rebalance');

interface GalaExpected {
  xs: number[][];
  labels: number[];
  predictions: { logits: number[][]; rebalanced: number[][] };
  states: [GalaState, GalaState];
}

function galaExpected(): GalaExpected {
  return JSON.parse(fs.readFileSync(path.join(GALA_FIXTURE, 'expected.json'), 'utf8')) as GalaExpected;
}

function galaModelJson(): { modelTopology: { config: { layers: Array<{ class_name: string }> } }; trainingConfig: Record<string, never> } {
  return JSON.parse(fs.readFileSync(path.join(GALA_FIXTURE, 'model.json'), 'utf8'));
}

describe.each(['cpu', 'wasm'])('a model saved by 0.1.0 with GalaLoss (paper and reference) and PredictionRebalance, on the %s backend', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  const losses = (m: tf.LayersModel) => m.loss as unknown as [GalaLoss, GalaLoss];
  const disposeLosses = (m: tf.LayersModel) => losses(m).forEach((l) => l.dispose());

  it('names its classes by their bare 0.1.0 names (the fixture is what 0.1.0 wrote)', () => {
    const json = galaModelJson();
    expect(json.modelTopology.config.layers.map((l) => l.class_name)).toContain('PredictionRebalance');
    const block = json.trainingConfig.tfjs_gala as { losses: Record<string, { class_name: string }> };
    expect(Object.values(block.losses).map((l) => l.class_name)).toEqual(['GalaLoss', 'GalaLoss']);
  });

  it('loads with both losses, their config and saved state, the optimizer, and the re-balancing layer', async () => {
    const loaded = await tf.loadLayersModel(fileSystem(GALA_FIXTURE));
    const [paper, reference] = losses(loaded);
    expect(paper).toBeInstanceOf(GalaLoss);
    expect(reference).toBeInstanceOf(GalaLoss);
    expect(paper.getConfig()).toEqual({ numClasses: 3, lambda1: 1.2, lambda2: 0.9, epsilon: 1e-3, fromLogits: true, variant: 'paper' });
    expect(reference.getConfig()).toEqual({ numClasses: 3, lambda1: 1, lambda2: 1, epsilon: 1e-3, fromLogits: false, variant: 'reference' });
    const { states, xs, predictions } = galaExpected();
    // Newer versions may add fields to the state, and GalaLoss may migrate a 0.1.0 state when it
    // reads one (0.1.0's reference variant summed phi once; it is theta's twin there and drives
    // no loss value): theta, its running sum and the step count must come back as saved.
    expect(paper.getState()).toMatchObject(states[0]);
    const { negative: _, ...referenceTheta } = states[1];
    expect(reference.getState()).toMatchObject(referenceTheta);
    expect(states[1].steps).toBe(4);
    expect(loaded.optimizer.getClassName()).toBe('Adam');
    const layer = loaded.getLayer('rebalanced');
    expect(layer).toBeInstanceOf(PredictionRebalance);
    expect(layer.getClassName()).toBe(PredictionRebalance.className);
    expect((layer as PredictionRebalance).mode).toBe('calibrated');
    const [logits, rebalanced] = loaded.predict(tf.tensor2d(xs)) as tf.Tensor[];
    expectClose(logits, predictions.logits.flat(), 1e-5);
    expectClose(rebalanced, predictions.rebalanced.flat(), 1e-5);
    disposeLosses(loaded);
  });

  it('trains on: both states go on from the saved ones, the trained head moves, the frozen head and the class mass stay', async () => {
    const loaded = await tf.loadLayersModel(fileSystem(GALA_FIXTURE));
    const { xs, labels, states } = galaExpected();
    const x = tf.tensor2d(xs);
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 3);
    const weights = (name: string) => loaded.getLayer(name).getWeights().map((w) => Array.from(w.dataSync()));
    const trained = weights('logits');
    const frozen = weights('frozen_logits');
    const mass = weights('rebalanced');
    await loaded.fit(x, [y, y], { epochs: 1, batchSize: 4, shuffle: false, verbose: 0 });
    const [paper, reference] = losses(loaded);
    for (const [loss, saved] of [[paper, states[0]], [reference, states[1]]] as const) {
      const now = loss.getState();
      expect(now.steps).toBe(saved.steps + 2);
      now.positive.forEach((v, j) => expect(v).toBeGreaterThan(saved.positive[j]));
      now.negative.forEach((v, j) => expect(v).toBeGreaterThan(saved.negative[j]));
    }
    expect(weights('logits')[0].some((v, i) => Math.abs(v - trained[0][i]) > 1e-6)).toBe(true);
    expect(weights('frozen_logits')).toEqual(frozen);
    expect(weights('rebalanced')).toEqual(mass);
    disposeLosses(loaded);
  });

  it('saved again, it is written with the current class names and loads back the same', async () => {
    const loaded = await tf.loadLayersModel(fileSystem(GALA_FIXTURE));
    const artifacts = await saveToMemory(loaded);
    const block = galaBlock(artifacts);
    expect(Object.values(block.losses).map((l) => l.class_name)).toEqual([GalaLoss.className, GalaLoss.className]);
    const topology = artifacts.modelTopology as { config: { layers: Array<{ class_name: string; name: string }> } };
    expect(topology.config.layers.find((l) => l.name === 'rebalanced')!.class_name).toBe(PredictionRebalance.className);
    const again = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    expect(losses(again).map((l) => l.getState())).toEqual(losses(loaded).map((l) => l.getState()));
    expect(again.getLayer('rebalanced')).toBeInstanceOf(PredictionRebalance);
    disposeLosses(loaded);
    disposeLosses(again);
  });
});
