import * as tf from '@tensorflow/tfjs';

import { galaLoss, galaLossOf } from '../../src/losses/gala_loss';
import '../../src/io/save_load';

// docs/guide/02-save-load.md, "Freeing a loaded model": model.dispose() frees the weights only;
// the restored loss and the optimizer are freed by their own dispose().
describe('freeing a loaded model', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('gives back every tensor the load created after model, loss and optimizer are disposed', async () => {
    const loss = galaLoss({ numClasses: 3 });
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4] })] });
    model.compile({ optimizer: tf.train.adam(0.01), loss });
    const xs = tf.randomNormal([8, 4], 0, 1, 'float32', 3);
    const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 0, 0, 1, 2], 'int32'), 3);
    await model.fit(xs, ys, { epochs: 1, verbose: 0 });
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
      { includeOptimizer: true },
    );

    const before = tf.memory().numTensors;
    const restored = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
    const restoredLoss = galaLossOf(restored);
    restored.dispose();
    // The loss's state and the optimizer's slots outlive model.dispose() ...
    expect(tf.memory().numTensors).toBeGreaterThan(before);
    restoredLoss.dispose();
    restored.optimizer.dispose();
    // ... and nothing is left once they are disposed too.
    expect(tf.memory().numTensors).toBe(before);

    model.dispose();
    loss.dispose();
    tf.dispose([xs, ys]);
  });
});
