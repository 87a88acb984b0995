import * as tf from '@tensorflow/tfjs';

import '../../src/io/save_load';
import type { CallableLoss } from '../../src/losses/callable_loss';
import { BalancedSoftmaxLoss, balancedSoftmaxLoss } from '../../src/losses/balanced_softmax_loss';
import { CrossEntropyLoss, crossEntropyLoss } from '../../src/losses/cross_entropy_loss';
import { FocalLoss, focalLoss } from '../../src/losses/focal_loss';
import { LDAMLoss, ldamLoss } from '../../src/losses/ldam_loss';
import { LogitAdjustedLoss, logitAdjustedLoss } from '../../src/losses/logit_adjusted_loss';
import { expectClose } from '../helpers';

// The package's save/load hooks (src/io/save_load) keep each baseline loss through
// model.save / tf.loadLayersModel: same class, same config, and the loaded model trains on.

const LABELS = [0, 0, 0, 0, 1, 1, 2, 0];

async function saveAndLoad(model: tf.LayersModel): Promise<tf.LayersModel> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
    { includeOptimizer: true },
  );
  const weightData = (saved!.weightData as ArrayBuffer).slice(0);
  const json = JSON.parse(JSON.stringify({ ...saved, weightData: undefined }));
  return tf.loadLayersModel(tf.io.fromMemory({ ...json, weightData }));
}

const cases: Array<[string, () => CallableLoss & { dispose?: () => void }, new (...args: never[]) => CallableLoss]> = [
  ['CrossEntropyLoss', () => crossEntropyLoss(), CrossEntropyLoss],
  ['FocalLoss', () => focalLoss({ gamma: 1.5, alpha: [1, 2, 4] }), FocalLoss],
  ['LogitAdjustedLoss', () => logitAdjustedLoss({ priors: [0.6, 0.3, 0.1], tau: 1.2 }), LogitAdjustedLoss],
  ['BalancedSoftmaxLoss', () => balancedSoftmaxLoss({ classCounts: [5, 2, 1] }), BalancedSoftmaxLoss],
  ['LDAMLoss (class weights switched)', () => {
    const loss = ldamLoss({ classCounts: [5, 2, 1], scale: 2 });
    loss.setClassWeights([0.4, 1, 2]);
    return loss;
  }, LDAMLoss],
];

describe.each(cases)('%s through save and load', (_, make, cls) => {
  it('comes back with the same class and config, and the loaded model trains', async () => {
    const loss = make();
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [2], kernelInitializer: tf.initializers.glorotUniform({ seed: 9 }) })] });
    model.compile({ optimizer: tf.train.adam(0.01), loss });
    const xs = tf.randomNormal([LABELS.length, 2], 0, 1, 'float32', 4);
    const ys = tf.oneHot(tf.tensor1d(LABELS, 'int32'), 3);
    await model.fit(xs, ys, { epochs: 1, batchSize: 4 });

    const loaded = await saveAndLoad(model);
    const loadedLoss = loaded.loss as unknown as CallableLoss;
    expect(loadedLoss).toBeInstanceOf(cls);
    expect(loadedLoss).not.toBe(loss);
    expect(loadedLoss.getConfig()).toEqual(loss.getConfig());
    const outputs = loaded.predict(xs) as tf.Tensor;
    expectClose(loadedLoss(ys, outputs), loss(ys, outputs), 1e-6);
    const history = await loaded.fit(xs, ys, { epochs: 1, batchSize: 4 });
    expect(Number.isFinite(history.history.loss[0] as number)).toBe(true);
    loss.dispose?.();
    (loadedLoss as { dispose?: () => void }).dispose?.();
  });
});
