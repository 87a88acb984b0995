import * as tf from '@tensorflow/tfjs';

import { PredictionRebalance, predictionRebalance } from '../../src/layers/prediction_rebalance';
import { expectClose, expectNoLeak } from '../helpers';

/*
 * PredictionRebalance built from known class priors instead of adapt (Zhang et al., ICASSP 2024,
 * arXiv 2403.09036, prediction re-balancing; docs/guide/03-rebalancing.md).
 *
 * Hand example, probabilities P (3 samples x 3 classes): column mass [1.5, 1.0, 0.5], i.e. mean
 * mass [1/2, 1/3, 1/6], proportional to classPriors [3, 2, 1]. With tau = 1 the re-balanced rows
 * are p / m normalised (derived in prediction_rebalance.test.ts):
 *   [4/9, 3/9, 2/9], [4/13, 3/13, 6/13], [16/61, 27/61, 18/61]
 */
const P = [
  [0.6, 0.3, 0.1],
  [0.5, 0.25, 0.25],
  [0.4, 0.45, 0.15],
];
const PRIORS = [3, 2, 1];
const EXPECTED_TAU_1 = [4 / 9, 3 / 9, 2 / 9, 4 / 13, 3 / 13, 6 / 13, 16 / 61, 27 / 61, 18 / 61];

/** Saves through memory with a JSON round trip of topology and weights, as a file or browser store would. */
async function saveAndLoad(model: tf.LayersModel, config?: tf.io.SaveConfig, strict = true): Promise<tf.LayersModel> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
    config,
  );
  const weightData = tf.io.CompositeArrayBuffer.join(saved!.weightData!).slice(0);
  const json = JSON.parse(JSON.stringify({ modelTopology: saved!.modelTopology, weightSpecs: saved!.weightSpecs }));
  return tf.loadLayersModel(tf.io.fromMemory({ ...json, weightData }), { strict });
}

describe('PredictionRebalance with classPriors', () => {
  beforeAll(async () => {
    expect(await tf.setBackend('cpu')).toBe(true);
  });

  it('is a calibrated layer straight away: mode defaults to calibrated, numClasses is known', () => {
    const layer = predictionRebalance({ classPriors: PRIORS, fromLogits: false });
    expect(layer.mode).toBe('calibrated');
    expect(layer.numClasses).toBe(3);
    expectClose(layer.apply(tf.tensor2d(P)) as tf.Tensor, EXPECTED_TAU_1, 1e-6);
    // Stored normalised, as adapt stores the mean probability per class.
    expectClose(layer.getWeights()[0], [1 / 2, 1 / 3, 1 / 6], 1e-7);
  });

  it('holds one tensor, its mass weight, and leaks none per call', async () => {
    const x = tf.tensor2d(P);
    const before = tf.memory().numTensors;
    const layer = predictionRebalance({ classPriors: PRIORS, fromLogits: false });
    (layer.apply(x) as tf.Tensor).dispose(); // builds
    expect(tf.memory().numTensors).toBe(before + 1);
    await expectNoLeak(() => (layer.apply(x) as tf.Tensor).dispose());
  });

  it('equals adapt on a set whose mass equals the priors', async () => {
    const logits = tf.add(tf.randomNormal([60, 4], 0, 1.5, 'float32', 3), tf.tensor2d([[2, 1, 0, -1]])) as tf.Tensor2D;
    const adapted = predictionRebalance({ mode: 'calibrated', tau: 1.5 });
    await adapted.adapt(logits);
    const meanMass = Array.from(tf.mean(tf.softmax(logits), 0).dataSync());
    // Any scale: only the ratios of the mass matter.
    const known = predictionRebalance({ mode: 'calibrated', tau: 1.5, classPriors: meanMass.map((m) => m * 40) });
    const x = tf.randomNormal([7, 4], 0, 2, 'float32', 4);
    expectClose(known.apply(x) as tf.Tensor, adapted.apply(x) as tf.Tensor, 1e-5);
    expectClose(known.getWeights()[0], adapted.getWeights()[0], 1e-6);
  });

  it('serves single samples with no adapt, alone and inside a model', () => {
    const layer = predictionRebalance({ classPriors: PRIORS, fromLogits: false });
    expectClose(layer.apply(tf.tensor2d([P[1]])) as tf.Tensor, EXPECTED_TAU_1.slice(3, 6), 1e-6);
    const model = tf.sequential({ layers: [tf.layers.activation({ activation: 'linear', inputShape: [3] }), predictionRebalance({ classPriors: PRIORS, fromLogits: false })] });
    expectClose(model.predict(tf.tensor2d([P[2]])) as tf.Tensor, EXPECTED_TAU_1.slice(6, 9), 1e-6);
  });

  it('adapt replaces the mass given as classPriors', async () => {
    const layer = predictionRebalance({ classPriors: [1, 1, 1], fromLogits: false });
    await layer.adapt(tf.tensor2d(P));
    expectClose(layer.getWeights()[0], [1 / 2, 1 / 3, 1 / 6], 1e-7);
    expect(layer.getConfig().classPriors).toEqual([1, 1, 1]); // the constructor argument, as given
  });

  it('round-trips its config (classPriors as given) through the class registry', () => {
    const layer = predictionRebalance({ classPriors: PRIORS, tau: 1.4, name: 'known_mass' });
    const config = layer.getConfig();
    expect(config).toMatchObject({ mode: 'calibrated', tau: 1.4, fromLogits: true, classPriors: PRIORS, name: 'known_mass' });
    const [cls, fromConfig] = tf.serialization.SerializationMap.getMap().classNameMap[PredictionRebalance.className];
    const copy = fromConfig(cls, JSON.parse(JSON.stringify(config))) as PredictionRebalance;
    expect(copy.getConfig()).toEqual(config);
  });

  it('loads configs saved before classPriors existed (no classPriors key) as before', () => {
    const [cls, fromConfig] = tf.serialization.SerializationMap.getMap().classNameMap[PredictionRebalance.className];
    const old = fromConfig(cls, { mode: 'calibrated', tau: 1, fromLogits: true, name: 'old', trainable: true }) as PredictionRebalance;
    expect(old.classPriors).toBeNull();
    expect(old.numClasses).toBeNull();
    expect(() => old.apply(tf.tensor2d(P))).toThrow(/the layer is not adapted/);
  });

  it('saves and loads: same predictions, and the priors in the config', async () => {
    const input = tf.input({ shape: [3] });
    const layer = predictionRebalance({ classPriors: PRIORS, tau: 2 });
    const model = tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
    const loaded = await saveAndLoad(model);
    const loadedLayer = loaded.getLayer(layer.name) as PredictionRebalance;
    expect(loadedLayer.classPriors).toEqual(PRIORS);
    const x = tf.randomNormal([5, 3], 0, 1, 'float32', 5);
    expectClose(loaded.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor, 1e-6);
  });

  it('keeps the priors when the mass weight is not saved (trainableOnly, non-strict load)', async () => {
    const input = tf.input({ shape: [3] });
    const layer = predictionRebalance({ classPriors: PRIORS, fromLogits: false });
    const model = tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
    const loaded = await saveAndLoad(model, { trainableOnly: true }, false);
    expectClose(loaded.predict(tf.tensor2d(P)) as tf.Tensor, EXPECTED_TAU_1, 1e-6);
  });

  it('rejects invalid classPriors, naming the class, the argument and the value', () => {
    expect(() => predictionRebalance({ classPriors: [1, 0, 1] })).toThrow(
      /^PredictionRebalance: classPriors must be an array of at least 2 finite numbers > 0 .*; received \[1, 0, 1\] \(length 3\)\.$/,
    );
    expect(() => predictionRebalance({ classPriors: [1] })).toThrow(/^PredictionRebalance: classPriors must be .*; received \[1\] \(length 1\)\.$/);
    expect(() => predictionRebalance({ classPriors: [1, Number.NaN] })).toThrow(/^PredictionRebalance: classPriors must be .*; received \[1, NaN\]/);
    expect(() => predictionRebalance({ classPriors: 'uniform' as never })).toThrow(/^PredictionRebalance: classPriors must be an array .*; received "uniform"\.$/);
  });

  it("rejects classPriors in mode 'transductive'", () => {
    expect(() => predictionRebalance({ mode: 'transductive', classPriors: PRIORS })).toThrow(
      "PredictionRebalance: classPriors must be null in mode 'transductive', which takes the mass from the rows of each call; received [3, 2, 1].",
    );
  });

  it('rejects inputs and adapt data whose class count differs from the length of classPriors', async () => {
    const layer = predictionRebalance({ classPriors: PRIORS });
    expect(() => layer.apply(tf.ones([2, 4]))).toThrow(
      /: input last dimension must equal numClasses = 3 \(the length of classPriors\); received shape \[2, 4\]\.$/,
    );
    expect(() => layer.apply(tf.input({ shape: [4] }))).toThrow(/numClasses = 3 \(the length of classPriors\); received shape \[null, 4\]/);
    await expect(predictionRebalance({ classPriors: PRIORS }).adapt(tf.ones([2, 5]))).rejects.toThrow(
      /adapt\(data\) last dimension must equal numClasses = 3 \(the length of classPriors\); received shape \[2, 5\]/,
    );
  });
});
