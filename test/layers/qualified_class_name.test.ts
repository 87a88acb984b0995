import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

import { PredictionRebalance, predictionRebalance } from '../../src/layers/prediction_rebalance';

/*
 * Package-qualified class name (issue 11, item 9): tfjs-layers 4.22 keys its class registry by
 * the bare className, so the qualified name is the className itself; tfjs derives default layer
 * and weight names from layers, which must pass its tensor-name test.
 */

const QUALIFIED = 'tfjs-gala.PredictionRebalance';
/** tfjs-layers 4.22's test of layer and weight names (engine/common.ts). */
const VALID_TENSOR_NAME = /^[A-Za-z0-9][-A-Za-z0-9._/]*$/;

type Artifacts = tf.io.ModelArtifacts;

async function saveToMemory(model: tf.LayersModel): Promise<Artifacts> {
  let saved: Artifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return saved!;
}

function servingModel(layer: PredictionRebalance): tf.Sequential {
  return tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [2], kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) }), layer] });
}

describe('PredictionRebalance class name', () => {
  it("is 'tfjs-gala.PredictionRebalance', the key tfjs's registry holds it under", () => {
    expect(PredictionRebalance.className).toBe(QUALIFIED);
    expect(tf.serialization.SerializationMap.getMap().classNameMap[QUALIFIED]?.[0]).toBe(PredictionRebalance);
    expect(predictionRebalance({ mode: 'transductive' }).getClassName()).toBe(QUALIFIED);
  });

  it("would also give valid default names the way tfjs derives them from the className", () => {
    class Derived extends tf.layers.Layer {
      static className = QUALIFIED;
    }
    const layer = new Derived({});
    expect(layer.name).toMatch(VALID_TENSOR_NAME);
    expect(layer.name.startsWith('tfjs-gala._prediction_rebalance_')).toBe(true);
  });

  it('rejects unknown option keys, with a did-you-mean and the allowed keys', () => {
    expect(() => predictionRebalance({ mode: 'calibrated', classPrior: [2, 1] } as never)).toThrow(
      "PredictionRebalance: unknown argument 'classPrior' (did you mean 'classPriors'?); allowed: mode, tau, fromLogits, classPriors, name, trainable, " +
        'inputShape, batchInputShape, batchSize, dtype, inputDType, weights, customObjects.',
    );
  });
});

describe.each(['cpu', 'wasm'])('on the %s backend', (backend) => {
  beforeAll(async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    await tf.ready();
    expect(tf.getBackend()).toBe(backend);
  });

  it('a layer with a default name works in a model that is saved and loaded, and the saved class name is kept as is', async () => {
    const layer = predictionRebalance({ classPriors: [0.6, 0.3, 0.1] });
    expect(layer.name).toMatch(/^prediction_rebalance_\d+$/);
    const model = servingModel(layer);
    const x = tf.tensor2d([[1, 0], [0, 1], [0.5, -0.5]]);
    const expected = (model.predict(x) as tf.Tensor).arraySync();
    expect(model.getWeights().length).toBe(3); // kernel, bias, mass
    for (const w of model.weights) expect(w.name).toMatch(VALID_TENSOR_NAME);

    const artifacts = await saveToMemory(model);
    const topology = JSON.stringify(artifacts.modelTopology);
    expect(topology).toContain(`"class_name":"${QUALIFIED}"`);
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    const restored = loaded.layers[1];
    expect(restored).toBeInstanceOf(PredictionRebalance);
    expect(restored.name).toBe(layer.name);
    expect(restored.getClassName()).toBe(QUALIFIED);
    const actual = (loaded.predict(x) as tf.Tensor).arraySync() as number[][];
    (expected as number[][]).flat().forEach((v, i) => expect(actual.flat()[i]).toBeCloseTo(v, 5));
  });

  it("an unknown-class message names tfjs-gala when the package is not imported", async () => {
    const artifacts = await saveToMemory(servingModel(predictionRebalance({ classPriors: [0.6, 0.3, 0.1] })));
    const map = tf.serialization.SerializationMap.getMap().classNameMap;
    const entry = map[QUALIFIED];
    delete map[QUALIFIED]; // as in a program that did not import tfjs-gala
    try {
      await expect(tf.loadLayersModel(tf.io.fromMemory(artifacts))).rejects.toThrow(/^Unknown layer: tfjs-gala\.PredictionRebalance\./);
    } finally {
      map[QUALIFIED] = entry;
    }
  });
});
