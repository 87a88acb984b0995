import * as tf from '@tensorflow/tfjs';

import { DeferredReweighting, deferredReweighting } from '../../src/callbacks/deferred_reweighting';
import { LDAMLoss, ldamLoss } from '../../src/losses/ldam_loss';
import { expectClose, expectNoLeak } from '../helpers';

const COUNTS = [6, 3, 1];
const WEIGHTS = [0.5, 1, 3];

/** Records the loss's class weights at the start of every epoch (after the callbacks before it). */
class WeightRecorder extends tf.Callback {
  readonly seen: Array<number[] | null> = [];
  constructor(private readonly loss: LDAMLoss) {
    super();
  }
  override async onEpochBegin(): Promise<void> {
    this.seen.push(this.loss.getClassWeights());
  }
}

function tinyData(): { xs: tf.Tensor2D; ys: tf.Tensor2D; labels: number[] } {
  const labels = [0, 0, 0, 0, 0, 0, 1, 1, 1, 2];
  const xs = tf.randomNormal([labels.length, 4], 0, 1, 'float32', 21) as tf.Tensor2D;
  return { xs, ys: tf.oneHot(tf.tensor1d(labels, 'int32'), 3) as tf.Tensor2D, labels };
}

function tinyModel(): tf.Sequential {
  return tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4], kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) })] });
}

describe('DeferredReweighting', () => {
  it('gives null before switchEpoch and the class weights from it on', () => {
    const loss = ldamLoss({ classCounts: COUNTS });
    const drw = deferredReweighting({ loss, switchEpoch: 2, classWeights: WEIGHTS });
    expect([0, 1, 2, 3].map((e) => drw.weightsForEpoch(e))).toEqual([null, null, WEIGHTS, WEIGHTS]);
    const custom = deferredReweighting({ loss, switchEpoch: 1, classWeights: WEIGHTS, initialClassWeights: [1, 1, 2] });
    expect(custom.weightsForEpoch(0)).toEqual([1, 1, 2]);
    loss.dispose();
  });

  it('switches the loss weights inside one fit call, and training uses them', async () => {
    const { xs, ys, labels } = tinyData();
    const loss = ldamLoss({ classCounts: COUNTS, scale: 1 });
    const model = tinyModel();
    // Learning rate 0: the model stays fixed, so each epoch's loss shows which weights it used.
    model.compile({ optimizer: tf.train.sgd(0), loss });
    const recorder = new WeightRecorder(loss);
    const history = await model.fit(xs, ys, {
      epochs: 4,
      batchSize: labels.length,
      shuffle: false,
      callbacks: [deferredReweighting({ loss, switchEpoch: 2, classWeights: WEIGHTS }), recorder],
    });
    expect(recorder.seen).toEqual([null, null, WEIGHTS, WEIGHTS]);
    expect(loss.getClassWeights()).toEqual(WEIGHTS); // kept after training

    const perSample = tf.tidy(() => {
      loss.setClassWeights(null);
      return Array.from(loss(ys, model.predict(xs) as tf.Tensor).dataSync());
    });
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    const plain = mean(perSample);
    const weighted = mean(perSample.map((l, i) => WEIGHTS[labels[i]] * l));
    expectClose(history.history.loss as number[], [plain, plain, weighted, weighted], 1e-5);
    loss.dispose();
  });

  it('uses the epoch number fit passes, so a resumed run (initialEpoch) starts in the right phase', async () => {
    const { xs, ys } = tinyData();
    const loss = ldamLoss({ classCounts: COUNTS, scale: 1 });
    const model = tinyModel();
    model.compile({ optimizer: tf.train.sgd(0.1), loss });
    const recorder = new WeightRecorder(loss);
    await model.fit(xs, ys, {
      initialEpoch: 3,
      epochs: 5,
      callbacks: [deferredReweighting({ loss, switchEpoch: 3, classWeights: WEIGHTS }), recorder],
    });
    expect(recorder.seen).toEqual([WEIGHTS, WEIGHTS]);
    loss.dispose();
  });

  it('leaks no tensor across epochs and switches', async () => {
    const { xs, ys } = tinyData();
    const loss = ldamLoss({ classCounts: COUNTS, scale: 1 });
    const model = tinyModel();
    model.compile({ optimizer: tf.train.adam(0.01), loss });
    const callbacks = () => [deferredReweighting({ loss, switchEpoch: 1, classWeights: WEIGHTS })];
    await model.fit(xs, ys, { epochs: 2, batchSize: 5, callbacks: callbacks() });
    await expectNoLeak(() => model.fit(xs, ys, { epochs: 3, batchSize: 5, callbacks: callbacks() }));
    loss.dispose();
  });

  it.each([
    [{ loss: undefined, switchEpoch: 1, classWeights: WEIGHTS }, /^DeferredReweighting: loss must be a loss with per-class weights .*; received undefined\.$/],
    [{ loss: (() => 0) as never, switchEpoch: 1, classWeights: WEIGHTS }, /loss must be a loss with per-class weights/],
    [{ switchEpoch: -1, classWeights: WEIGHTS }, /^DeferredReweighting: switchEpoch must be an integer >= 0; received -1\.$/],
    [{ switchEpoch: 1.5, classWeights: WEIGHTS }, /^DeferredReweighting: switchEpoch must be an integer >= 0; received 1\.5\.$/],
    [{ switchEpoch: 1, classWeights: [1, 2] }, /^DeferredReweighting: classWeights must be an array of 3 finite numbers >= 0; received \[1, 2\]/],
    [{ switchEpoch: 1, classWeights: WEIGHTS, initialClassWeights: [1, -1, 1] }, /^DeferredReweighting: initialClassWeights must be an array of 3/],
  ])('rejects bad args %#', (args, message) => {
    const loss = ldamLoss({ classCounts: COUNTS });
    const withLoss = 'loss' in args ? args : { loss, ...args };
    expect(() => new DeferredReweighting(withLoss as never)).toThrow(message);
    loss.dispose();
  });

  it.each<[string, object, RegExp]>([
    ['a misspelt key', { switchepoch: 1 }, /^DeferredReweighting: unknown argument 'switchepoch' \(did you mean 'switchEpoch'\?\); allowed: loss, switchEpoch, classWeights, initialClassWeights\.$/],
    ['a key of another callback', { patience: 2 }, /^DeferredReweighting: unknown argument 'patience'; allowed: loss, switchEpoch, classWeights, initialClassWeights\.$/],
  ])('rejects %s, listing the allowed keys', (_name, extra, message) => {
    const loss = ldamLoss({ classCounts: COUNTS });
    expect(() => new DeferredReweighting({ loss, switchEpoch: 1, classWeights: WEIGHTS, ...extra } as never)).toThrow(message);
    loss.dispose();
  });

  it('names the type received for weights that are not an array, and for a loss that is a plain function', () => {
    const loss = ldamLoss({ classCounts: COUNTS });
    const weights = tf.tensor1d(WEIGHTS);
    expect(() => new DeferredReweighting({ loss, switchEpoch: 1, classWeights: weights as never })).toThrow(
      /^DeferredReweighting: classWeights must be an array of 3 finite numbers >= 0 \(a tensor: pass tensor\.arraySync\(\)\); received Tensor\[3\] float32\.$/,
    );
    expect(() => new DeferredReweighting({ loss, switchEpoch: 1, classWeights: WEIGHTS, initialClassWeights: '1,1,1' as never })).toThrow(
      /^DeferredReweighting: initialClassWeights must be an array of 3 .*; received the string "1,1,1"\.$/,
    );
    expect(() => new DeferredReweighting({ loss: function crossEntropy() { return 0; } as never, switchEpoch: 1, classWeights: WEIGHTS })).toThrow(
      /^DeferredReweighting: loss must be a loss with per-class weights .*; received a function named crossEntropy\.$/,
    );
    tf.dispose(weights);
    loss.dispose();
  });

  it('rejects a missing args object', () => {
    expect(() => new DeferredReweighting(undefined as never)).toThrow(/loss must be a loss with per-class weights/);
    expect(() => new DeferredReweighting(3 as never)).toThrow(/^DeferredReweighting: args must be an object like \{loss, switchEpoch: 160, classWeights\}; received 3\.$/);
  });
});
