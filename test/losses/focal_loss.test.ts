import * as tf from '@tensorflow/tfjs';

import { FocalLoss, focalLoss } from '../../src/losses/focal_loss';
import { expectClose } from '../helpers';
import { crossEntropy, expectNoLeakOnceTrained, finiteDifferenceGradient, handLogits, randomBatch } from './baseline_reference';

describe('FocalLoss: values', () => {
  it('matches hand-derived values (gamma 2)', () => {
    // Labels [0, 0]: p_y = 1/4 and 3/5 (see baseline_reference).
    // L = (1 - p_y)^2 * -log p_y = (3/4)^2 ln 4 and (2/5)^2 ln(5/3).
    const expected = [(9 / 16) * Math.log(4), (4 / 25) * Math.log(5 / 3)];
    expectClose(focalLoss()(tf.tensor1d([0, 0]), handLogits()), expected, 1e-5);
  });

  it('matches hand-derived values with per-class alpha', () => {
    // Labels [2, 1]: p_y = 1/2 and 1/5; alpha_y = 3 and 2.
    // L = 3 (1/2)^2 ln 2 and 2 (4/5)^2 ln 5.
    const loss = focalLoss({ gamma: 2, alpha: [1, 2, 3] });
    expectClose(loss(tf.tensor1d([2, 1]), handLogits()), [0.75 * Math.LN2, 1.28 * Math.log(5)], 1e-5);
  });

  it('scales every sample by a scalar alpha', () => {
    const plain = focalLoss({ gamma: 1 });
    const scaled = focalLoss({ gamma: 1, alpha: 0.25 });
    const labels = tf.tensor1d([0, 2]);
    expectClose(scaled(labels, handLogits()), tf.mul(plain(labels, handLogits()), 0.25), 1e-6);
  });

  it('equals softmax cross-entropy with gamma 0', () => {
    const { logits, labels } = randomBatch(8, 5, 1);
    expectClose(focalLoss({ gamma: 0 })(labels, logits), crossEntropy(labels, logits), 1e-5);
  });

  it('never exceeds cross-entropy and shrinks the loss of well-classified samples most', () => {
    const { logits, labels } = randomBatch(16, 4, 2);
    const focal = focalLoss({ gamma: 2 })(labels, logits).arraySync() as number[];
    const ce = crossEntropy(labels, logits);
    focal.forEach((f, i) => expect(f).toBeLessThanOrEqual(ce[i] + 1e-6));
  });

  it('gives the same losses for fromLogits false on softmax probabilities', () => {
    const { logits, labels } = randomBatch(6, 3, 3);
    const fromProbabilities = focalLoss({ fromLogits: false, alpha: [1, 2, 3] })(labels, tf.softmax(logits));
    expectClose(fromProbabilities, focalLoss({ alpha: [1, 2, 3] })(labels, logits), 1e-4);
  });

  it('accepts one-hot, sparse [batch] and sparse [batch, 1] labels alike', () => {
    const loss = focalLoss();
    const expected = loss(tf.tensor2d([[1, 0, 0], [0, 0, 1]]), handLogits());
    expectClose(loss(tf.tensor1d([0, 2], 'int32'), handLogits()), expected);
    expectClose(loss(tf.tensor2d([[0], [2]]), handLogits()), expected);
  });
});

describe('FocalLoss: gradient', () => {
  it('matches central finite differences', () => {
    const z = [[0.3, -1.2, 0.8], [1.5, 0.1, -0.4]];
    const labels = tf.tensor1d([2, 0]);
    const loss = focalLoss({ gamma: 2, alpha: [0.5, 1, 2] });
    const analytic = tf.grad((logits: tf.Tensor) => tf.sum(loss(labels, logits)))(tf.tensor2d(z));
    expectClose(analytic, finiteDifferenceGradient((logits) => loss(labels, logits), z), 1e-3);
  });

  it('stays finite on a confident prediction, also for 0 < gamma < 1', () => {
    const logits = tf.tensor2d([[100, 0, 0], [0, -50, 50]]);
    const labels = tf.tensor1d([0, 2]);
    for (const gamma of [0.5, 2]) {
      const loss = focalLoss({ gamma });
      const values = loss(labels, logits).dataSync();
      const grad = tf.grad((z: tf.Tensor) => tf.sum(loss(labels, z)))(logits).dataSync();
      expect(Array.from(values).every(Number.isFinite)).toBe(true);
      expect(Array.from(grad).every(Number.isFinite)).toBe(true);
    }
  });
});

describe('FocalLoss: config and arguments', () => {
  it('round-trips its config, defaults filled in', () => {
    const loss = focalLoss({ alpha: [0.25, 0.75] });
    const config = loss.getConfig();
    expect(config).toEqual({ gamma: 2, alpha: [0.25, 0.75], fromLogits: true });
    expect(FocalLoss.fromConfig(FocalLoss, config).getConfig()).toEqual(config);
    expect(JSON.parse(JSON.stringify(config))).toEqual(config);
    expect(focalLoss().getConfig()).toEqual({ gamma: 2, alpha: null, fromLogits: true });
  });

  it('is registered with tf.serialization under its className', () => {
    expect(FocalLoss.className).toBe('tfjs-gala.FocalLoss');
    expect(tf.serialization.SerializationMap.getMap().classNameMap['tfjs-gala.FocalLoss']?.[0]).toBe(FocalLoss);
    expect(focalLoss().getClassName()).toBe('tfjs-gala.FocalLoss');
  });

  it.each([
    [{ gamma: -1 }, /^FocalLoss: gamma must be a finite number >= 0; received -1/],
    [{ gamma: Infinity }, /^FocalLoss: gamma must be a finite number >= 0; received Infinity/],
    [{ alpha: -0.5 }, /^FocalLoss: alpha .* must be a finite number >= 0; received -0.5/],
    [{ alpha: [1, -1, 1] }, /^FocalLoss: alpha must be an array (of )?finite numbers >= 0; received \[1, -1, 1\]/],
    [{ alpha: '0.25' }, /^FocalLoss: alpha .* must be a finite number >= 0; received "0.25"/],
    [{ fromLogits: 1 }, /^FocalLoss: fromLogits must be true or false; received 1/],
  ])('rejects bad args %j', (args, message) => {
    expect(() => focalLoss(args as never)).toThrow(message);
  });

  it('rejects a non-object argument', () => {
    expect(() => focalLoss(2 as never)).toThrow(/^FocalLoss: args must be an object like \{gamma: 2\}; received 2\.$/);
  });

  it('rejects inputs of the wrong shape and an alpha of the wrong length, naming them', () => {
    const loss = focalLoss({ alpha: [1, 2] });
    expect(() => loss(tf.tensor1d([0, 1]), handLogits())).toThrow(/^FocalLoss: alpha must have one entry per class \(3, from yPred\); received 2 entries/);
    expect(() => focalLoss()(tf.tensor1d([0, 1]), tf.zeros([2]))).toThrow(/FocalLoss: yPred must be \[batch, numClasses\].*received shape \[2\]/);
    expect(() => focalLoss()(tf.tensor1d([0, 1, 2]), handLogits())).toThrow(/same batch size/);
    expect(() => focalLoss()(tf.zeros([2, 2]), handLogits())).toThrow(/^FocalLoss: yTrue must be one-hot \[batch, 3\]/);
  });

  it('leaks no tensor', async () => {
    const loss = focalLoss({ gamma: 0.5, alpha: [1, 2, 3] });
    const logits = handLogits();
    const labels = tf.tensor1d([0, 1]);
    await expectNoLeakOnceTrained(loss, labels, logits);
  });
});
