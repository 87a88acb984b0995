import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as tf from '@tensorflow/tfjs';

import '../../src/io/save_load';
import { fileSystem } from '../../src/io/file_system';
import { CrossEntropyLoss, crossEntropyLoss } from '../../src/losses/cross_entropy_loss';
import { focalLoss } from '../../src/losses/focal_loss';
import { galaLoss } from '../../src/losses/gala_loss';
import { ldamLoss } from '../../src/losses/ldam_loss';
import { logitAdjustedLoss } from '../../src/losses/logit_adjusted_loss';
import { expectClose, expectNoLeak } from '../helpers';
import { crossEntropy, expectNoLeakOnceTrained, handLogits, randomBatch } from './baseline_reference';

describe('CrossEntropyLoss: values', () => {
  it('matches hand-derived values', () => {
    // z = [0, ln 3]: exp = [1, 3], softmax = [1/4, 3/4].
    //   label 1 -> -ln(3/4) = ln(4/3);  label 0 -> -ln(1/4) = ln 4
    // z = [2, 2]: softmax = [1/2, 1/2], label 1 -> ln 2
    const logits = tf.tensor2d([[0, Math.log(3)], [0, Math.log(3)], [2, 2]]);
    expectClose(crossEntropyLoss()(tf.tensor1d([1, 0, 1]), logits), [-Math.log(3 / 4), Math.log(4), Math.log(2)], 1e-6);
    // handLogits: row 1 softmax [1/4, 1/4, 1/2], label 2 -> ln 2; row 2 softmax [3/5, 1/5, 1/5], label 0 -> ln(5/3).
    expectClose(crossEntropyLoss()(tf.tensor1d([2, 0]), handLogits()), [Math.log(2), Math.log(5 / 3)], 1e-6);
  });

  it('has gradient softmax(z) - onehot', () => {
    const grad = tf.grad((z: tf.Tensor) => tf.sum(crossEntropyLoss()(tf.tensor1d([2, 0]), z)))(handLogits());
    expectClose(grad, [1 / 4, 1 / 4, 1 / 2 - 1, 3 / 5 - 1, 1 / 5, 1 / 5], 1e-6);
  });

  it("equals tfjs's softmaxCrossEntropy per sample", () => {
    const { logits, labels } = randomBatch(16, 5, 3);
    const oneHot = tf.oneHot(labels, 5);
    expect(crossEntropyLoss()(oneHot, logits).shape).toEqual([16]);
    expectClose(crossEntropyLoss()(oneHot, logits), crossEntropy(oneHot, logits), 1e-5);
  });

  it('accepts one-hot, sparse [batch] and sparse [batch, 1] labels of any numeric dtype alike', () => {
    const { logits, labels } = randomBatch(6, 4, 5);
    const loss = crossEntropyLoss();
    const expected = loss(tf.oneHot(labels, 4), logits);
    expectClose(loss(labels, logits), expected, 1e-7);
    expectClose(loss(tf.cast(labels, 'float32'), logits), expected, 1e-7);
    expectClose(loss(tf.reshape(labels, [-1, 1]), logits), expected, 1e-7);
  });

  it('gives the same losses for fromLogits false on softmax probabilities', () => {
    const { logits, labels } = randomBatch(8, 4, 6);
    expectClose(crossEntropyLoss({ fromLogits: false })(labels, tf.softmax(logits)), crossEntropyLoss()(labels, logits), 1e-5);
  });

  it('equals the other losses at their neutral settings, as its docs say', () => {
    const { logits, labels } = randomBatch(8, 3, 7);
    const expected = crossEntropyLoss()(labels, logits);
    expectClose(logitAdjustedLoss({ classCounts: [50, 5, 1], tau: 0 })(labels, logits), expected, 1e-5);
    expectClose(focalLoss({ gamma: 0 })(labels, logits), expected, 1e-5);
    const ldam = ldamLoss({ classCounts: [50, 5, 1], maxMargin: 0, scale: 1 });
    expectClose(ldam(labels, logits), expected, 1e-5);
    const gala = galaLoss({ numClasses: 3, lambda1: 0, lambda2: 0 });
    expectClose(gala(labels, logits), expected, 1e-5);
    ldam.dispose();
    gala.dispose();
  });

  it('stays finite and exact for extreme logits', () => {
    // logSumExp([1000, 0]) - 0 = 1000 (+ log(1 + e^-1000)), and 0 for the target 1000.
    expectClose(crossEntropyLoss()(tf.tensor1d([1, 0]), tf.tensor2d([[1000, 0], [1000, 0]])), [1000, 0], 1e-6);
  });

  it('leaks no tensor', async () => {
    const { logits, labels } = randomBatch(4, 3, 8);
    const loss = crossEntropyLoss();
    await expectNoLeak(() => loss(labels, logits).dispose());
    await expectNoLeakOnceTrained(loss, labels, logits);
  });
});

describe('CrossEntropyLoss: config and arguments', () => {
  it('round-trips its config, defaults filled in', () => {
    const config = crossEntropyLoss().getConfig();
    expect(config).toEqual({ fromLogits: true });
    expect(CrossEntropyLoss.fromConfig(CrossEntropyLoss, config).getConfig()).toEqual(config);
    const probabilities = crossEntropyLoss({ fromLogits: false }).getConfig();
    expect(CrossEntropyLoss.fromConfig(CrossEntropyLoss, probabilities).getConfig()).toEqual({ fromLogits: false });
  });

  it('is registered with tf.serialization under its className', () => {
    expect(CrossEntropyLoss.className).toBe('tfjs-gala.CrossEntropyLoss');
    expect(tf.serialization.SerializationMap.getMap().classNameMap['tfjs-gala.CrossEntropyLoss']?.[0]).toBe(CrossEntropyLoss);
    expect(crossEntropyLoss().getClassName()).toBe('tfjs-gala.CrossEntropyLoss');
    expect(crossEntropyLoss()).toBeInstanceOf(Function);
  });

  it('rejects bad arguments, naming the class, the argument and the value', () => {
    expect(() => crossEntropyLoss({ fromLogits: 'no' as never })).toThrow('CrossEntropyLoss: fromLogits must be true or false; received "no".');
    expect(() => crossEntropyLoss(true as never)).toThrow(/^CrossEntropyLoss: args must be an object like \{fromLogits: true\}; received true\.$/);
  });

  it('rejects inputs of the wrong shape, naming them', () => {
    const loss = crossEntropyLoss();
    expect(() => loss(tf.tensor1d([0]), tf.zeros([1]))).toThrow(
      /^CrossEntropyLoss: yPred must be \[batch, numClasses\] with numClasses >= 2; received shape \[1\]\.$/,
    );
    expect(() => loss(tf.tensor1d([0]), tf.zeros([1, 1]))).toThrow(/received shape \[1, 1\]/);
    expect(() => loss(tf.tensor1d([0, 1, 2]), handLogits())).toThrow(/^CrossEntropyLoss: yTrue and yPred must have the same batch size/);
    expect(() => loss(tf.zeros([2, 2]), handLogits())).toThrow(/^CrossEntropyLoss: yTrue must be one-hot \[batch, 3\]/);
  });
});

describe('CrossEntropyLoss in a saved model', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-gala-ce-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('comes back from model.save({includeOptimizer: true}) and tf.loadLayersModel, and trains on exactly', async () => {
    const labels = [0, 0, 0, 1, 1, 2];
    const xs = tf.randomNormal([labels.length, 4], 0, 1, 'float32', 21);
    const ys = tf.oneHot(tf.tensor1d(labels, 'int32'), 3);
    const model = tf.sequential({
      layers: [tf.layers.dense({ units: 3, inputShape: [4], kernelInitializer: tf.initializers.glorotUniform({ seed: 22 }) })],
    });
    const loss = crossEntropyLoss({ fromLogits: true });
    model.compile({ optimizer: tf.train.adam(0.01), loss });
    await model.fit(xs, ys, { epochs: 2, batchSize: 3, shuffle: false });

    await model.save(fileSystem(dir), { includeOptimizer: true });
    const loaded = await tf.loadLayersModel(`file://${dir}`);
    const loadedLoss = loaded.loss as unknown as CrossEntropyLoss;
    expect(loadedLoss).toBeInstanceOf(CrossEntropyLoss);
    expect(loadedLoss).not.toBe(loss);
    expect(loadedLoss.getConfig()).toEqual(loss.getConfig());
    expect(loaded.optimizer.getClassName()).toBe('Adam');

    // Same weights and Adam moments: the next step gives the same loss and the same weights.
    expectClose((await loaded.trainOnBatch(xs, ys)) as number, (await model.trainOnBatch(xs, ys)) as number, 1e-6);
    model.getWeights().forEach((w, i) => expectClose(loaded.getWeights()[i], w, 1e-6));
  });
});
