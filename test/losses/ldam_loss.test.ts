import * as tf from '@tensorflow/tfjs';

import { LDAMLoss, ldamLoss } from '../../src/losses/ldam_loss';
import { expectClose } from '../helpers';
import { crossEntropy, expectNoLeakOnceTrained, handLogits, randomBatch } from './baseline_reference';

// Counts [16, 1, 1]: n^(-1/4) = [1/2, 1, 1] -> margins [0.25, 0.5, 0.5] for maxMargin 0.5.
const COUNTS = [16, 1, 1];
const labels = () => tf.tensor1d([0, 1], 'int32');

describe('LDAMLoss: values', () => {
  it('computes margins proportional to n^(-1/4), the rarest class at maxMargin', () => {
    expectClose(ldamLoss({ classCounts: COUNTS }).margins, [0.25, 0.5, 0.5], 1e-12);
    expectClose(ldamLoss({ classCounts: [81, 16, 1], maxMargin: 0.9 }).margins, [0.3, 0.45, 0.9], 1e-12);
  });

  it('matches hand-derived values (scale 1)', () => {
    // Margin on the target logit only:
    //   row 1, label 0: F = [-0.25, 0, ln 2] -> L = log(e^-0.25 + 1 + 2) + 0.25
    //   row 2, label 1: F = [ln 3, -0.5, 0]  -> L = log(3 + e^-0.5 + 1) + 0.5
    const expected = [Math.log(Math.exp(-0.25) + 3) + 0.25, Math.log(4 + Math.exp(-0.5)) + 0.5];
    expectClose(ldamLoss({ classCounts: COUNTS, scale: 1 })(labels(), handLogits()), expected, 1e-5);
  });

  it('matches hand-derived values (scale 2, class weights)', () => {
    // F = 2 (z - m_y e_y):
    //   row 1: [-0.5, 0, 2 ln 2] -> log(e^-0.5 + 1 + 4) + 0.5, weight w_0 = 1
    //   row 2: [2 ln 3, -1, 0]   -> log(9 + e^-1 + 1) + 1,    weight w_1 = 2
    const loss = ldamLoss({ classCounts: COUNTS, scale: 2, classWeights: [1, 2, 3] });
    const expected = [Math.log(Math.exp(-0.5) + 5) + 0.5, 2 * (Math.log(10 + Math.exp(-1)) + 1)];
    expectClose(loss(labels(), handLogits()), expected, 1e-5);
    loss.dispose();
  });

  it('equals softmax cross-entropy with maxMargin 0 and scale 1', () => {
    const { logits, labels: y } = randomBatch(8, 4, 11);
    expectClose(ldamLoss({ classCounts: [100, 20, 5, 1], maxMargin: 0, scale: 1 })(y, logits), crossEntropy(y, logits), 1e-5);
  });

  it('has gradient s * (softmax(F) - onehot)', () => {
    const loss = ldamLoss({ classCounts: COUNTS, scale: 2 });
    const grad = tf.grad((z: tf.Tensor) => tf.sum(loss(labels(), z)))(handLogits());
    const softmax = (f: number[]) => {
      const e = f.map(Math.exp);
      const s = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / s);
    };
    const p1 = softmax([-0.5, 0, 2 * Math.LN2]);
    const p2 = softmax([2 * Math.log(3), -1, 0]);
    expectClose(grad, [2 * (p1[0] - 1), 2 * p1[1], 2 * p1[2], 2 * p2[0], 2 * (p2[1] - 1), 2 * p2[2]], 1e-5);
  });

  it('gives the same losses for fromLogits false on softmax probabilities', () => {
    const { logits, labels: y } = randomBatch(6, 3, 12);
    const args = { classCounts: [30, 6, 1], scale: 4, classWeights: [0.5, 1, 2] };
    const withLogits = ldamLoss(args);
    const withProbabilities = ldamLoss({ ...args, fromLogits: false });
    expectClose(withProbabilities(y, tf.softmax(logits)), withLogits(y, logits), 1e-4);
    withLogits.dispose();
    withProbabilities.dispose();
  });

  it('accepts one-hot, sparse [batch] and sparse [batch, 1] labels alike', () => {
    const loss = ldamLoss({ classCounts: COUNTS, classWeights: [1, 2, 3] });
    const expected = loss(tf.tensor2d([[1, 0, 0], [0, 1, 0]]), handLogits());
    expectClose(loss(labels(), handLogits()), expected);
    expectClose(loss(tf.tensor2d([[0], [1]]), handLogits()), expected);
    loss.dispose();
  });
});

describe('LDAMLoss: class weights', () => {
  it('switches weights with setClassWeights and removes them with null', () => {
    const loss = ldamLoss({ classCounts: COUNTS, scale: 1 });
    const plain = loss(labels(), handLogits()).arraySync() as number[];
    expect(loss.getClassWeights()).toBeNull();
    loss.setClassWeights([3, 0.5, 1]);
    expect(loss.getClassWeights()).toEqual([3, 0.5, 1]);
    expectClose(loss(labels(), handLogits()), [3 * plain[0], 0.5 * plain[1]], 1e-5);
    loss.setClassWeights(null);
    expectClose(loss(labels(), handLogits()), plain, 1e-6);
    loss.dispose();
  });

  it('holds no tensor without weights, one variable with them, none after dispose', () => {
    const before = tf.memory().numTensors;
    const loss = ldamLoss({ classCounts: COUNTS });
    expect(tf.memory().numTensors).toBe(before);
    loss.setClassWeights([1, 2, 3]);
    loss.setClassWeights([2, 2, 2]);
    expect(tf.memory().numTensors).toBe(before + 1);
    loss.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(loss.isDisposed).toBe(true);
    expect(() => loss(labels(), handLogits())).toThrow(/LDAMLoss: this loss was disposed/);
  });

  it('rejects weights of the wrong length or sign', () => {
    const loss = ldamLoss({ classCounts: COUNTS });
    expect(() => loss.setClassWeights([1, 2])).toThrow(/^LDAMLoss: classWeights must be an array of 3 finite numbers >= 0; received \[1, 2\]/);
    expect(() => loss.setClassWeights([1, -2, 1])).toThrow(/classWeights must be .*>= 0; received \[1, -2, 1\]/);
    expect(loss.getClassWeights()).toBeNull();
    loss.dispose();
  });
});

describe('LDAMLoss: config and arguments', () => {
  it('round-trips its config, defaults filled in, classWeights the ones in use', () => {
    const loss = ldamLoss({ classCounts: [10, 3, 1] });
    const config = loss.getConfig();
    expect(config).toEqual({ classCounts: [10, 3, 1], maxMargin: 0.5, scale: 30, classWeights: null, fromLogits: true });
    expect(LDAMLoss.fromConfig(LDAMLoss, config).getConfig()).toEqual(config);
    loss.setClassWeights([0.2, 0.8, 2]);
    const weighted = loss.getConfig();
    expect(weighted.classWeights).toEqual([0.2, 0.8, 2]);
    const copy = LDAMLoss.fromConfig(LDAMLoss, JSON.parse(JSON.stringify(weighted)));
    expect(copy.getConfig()).toEqual(weighted);
    expectClose(copy(labels(), handLogits()), loss(labels(), handLogits()), 1e-6);
    loss.dispose();
    copy.dispose();
  });

  it('is registered with tf.serialization under its className', () => {
    expect(LDAMLoss.className).toBe('tfjs-gala.LDAMLoss');
    expect(tf.serialization.SerializationMap.getMap().classNameMap['tfjs-gala.LDAMLoss']?.[0]).toBe(LDAMLoss);
  });

  it.each([
    [{}, /^LDAMLoss: classCounts must be .*; received undefined/],
    [{ classCounts: [5, 0] }, /^LDAMLoss: classCounts must be an array of at least 2 finite numbers > 0/],
    [{ classCounts: [5, 1], maxMargin: -0.1 }, /^LDAMLoss: maxMargin must be a finite number >= 0; received -0.1/],
    [{ classCounts: [5, 1], scale: 0 }, /^LDAMLoss: scale must be a finite number > 0; received 0/],
    [{ classCounts: [5, 1], classWeights: [1] }, /^LDAMLoss: classWeights must be an array of 2 finite numbers >= 0; received \[1\]/],
    [{ classCounts: [5, 1], fromLogits: 'true' }, /^LDAMLoss: fromLogits must be true or false; received "true"/],
  ])('rejects bad args %j', (args, message) => {
    expect(() => ldamLoss(args as never)).toThrow(message);
  });

  it('rejects yPred whose class count differs from the counts', () => {
    expect(() => ldamLoss({ classCounts: [1, 2] })(labels(), handLogits())).toThrow(/LDAMLoss: yPred must be \[batch, 2\]; received shape \[2, 3\]/);
  });

  it('leaks no tensor', async () => {
    const loss = ldamLoss({ classCounts: COUNTS, classWeights: [1, 2, 3] });
    const logits = handLogits();
    const y = labels();
    await expectNoLeakOnceTrained(loss, y, logits, 1); // it holds its class weights from the start
  });
});
