import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

import { balancedSoftmaxLoss } from '../../src/losses/balanced_softmax_loss';
import { crossEntropyLoss } from '../../src/losses/cross_entropy_loss';
import { focalLoss } from '../../src/losses/focal_loss';
import { galaLoss } from '../../src/losses/gala_loss';
import { ldamLoss } from '../../src/losses/ldam_loss';
import { logitAdjustedLoss } from '../../src/losses/logit_adjusted_loss';
import { expectClose } from '../helpers';
import { ALL_LOSSES, BACKENDS } from './all_losses';

/*
 * Typos and wrong types (issue 11, item 6): unknown option keys are an error with a did-you-mean
 * and the allowed keys, and a yTrue / yPred that is not a tensor is named with what it is.
 * Sparse labels warn once about tfjs's 'accuracy' metric (item 11).
 */

describe('unknown option keys', () => {
  it.each([
    ['GalaLoss', () => galaLoss({ numClasses: 3, lamda1: 2 } as never), "'lamda1' (did you mean 'lambda1'?); allowed: numClasses, lambda1, lambda2, epsilon, fromLogits, variant."],
    ['CrossEntropyLoss', () => crossEntropyLoss({ fromlogits: false } as never), "'fromlogits' (did you mean 'fromLogits'?); allowed: fromLogits."],
    ['FocalLoss', () => focalLoss({ gama: 2 } as never), "'gama' (did you mean 'gamma'?); allowed: gamma, alpha, fromLogits."],
    [
      'LogitAdjustedLoss',
      () => logitAdjustedLoss({ classCount: [3, 1] } as never),
      "'classCount' (did you mean 'classCounts'?); allowed: tau, classCounts, priors, fromLogits.",
    ],
    ['BalancedSoftmaxLoss', () => balancedSoftmaxLoss({ classCounts: [3, 1], temperature: 2 } as never), "'temperature'; allowed: classCounts, fromLogits."],
    [
      'LDAMLoss',
      () => ldamLoss({ classCounts: [3, 1], margin: 0.5 } as never),
      "'margin' (did you mean 'maxMargin'?); allowed: classCounts, maxMargin, scale, classWeights, fromLogits.",
    ],
  ])('%s: an error naming the key, a near allowed key and all allowed keys', (name, make, message) => {
    expect(make).toThrow(`${name}: unknown argument ${message}`);
  });
});

describe.each(BACKENDS)('on the %s backend', (backend) => {
  let warn: jest.SpyInstance;
  beforeAll(async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    await tf.ready();
    expect(tf.getBackend()).toBe(backend);
  });
  beforeEach(() => {
    warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());

  describe.each(ALL_LOSSES)('%s', (name, _fn, make) => {
    const labels = () => tf.tensor1d([0, 1], 'int32');
    const logits = () => tf.tensor2d([[1, 2, 0], [0, 1, 0]]);

    it.each([
      ['a string', 'abc', 'the string "abc"'],
      ['an array', [[1, 2, 0], [0, 1, 0]], 'an array of length 2'],
      ['undefined', undefined, 'undefined'],
      ['a string tensor', 'string tensor', 'Tensor[2] string'],
    ])('names yPred and what it is when it is %s', (_what, value, received) => {
      const loss = make();
      const yPred = value === 'string tensor' ? tf.tensor1d(['a', 'b']) : value;
      expect(() => loss(labels(), yPred as never)).toThrow(
        `${name}: yPred must be a numeric tf.Tensor [batch, ${name === 'CrossEntropyLoss' || name === 'FocalLoss' ? 'numClasses' : '3'}] (the model's outputs); received ${received}.`,
      );
      loss.dispose();
    });

    it.each([
      ['a string', 'abc', 'the string "abc"'],
      ['an array', [0, 1], 'an array of length 2'],
      ['null', null, 'null'],
    ])('names yTrue and what it is when it is %s', (_what, value, received) => {
      const loss = make();
      expect(() => loss(value as never, logits())).toThrow(new RegExp(`^${name}: yTrue must be a numeric tf.Tensor \\(one-hot .*; received ${received.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.$`));
      loss.dispose();
    });

    it("warns once, on the first sparse labels, that tfjs's 'accuracy' metric needs one-hot labels", () => {
      const loss = make();
      loss(tf.oneHot(labels(), 3), logits()).dispose();
      expect(warn).not.toHaveBeenCalled();
      loss(labels(), logits()).dispose();
      loss(tf.reshape(labels(), [2, 1]), logits()).dispose();
      const messages = warn.mock.calls.map((c) => String(c[0]));
      expect(messages).toEqual([
        `${name}: received sparse labels (class indices, Tensor[2] int32). tfjs's 'accuracy' / 'acc' metric assumes one-hot labels ` +
          'and reports wrong values with sparse ones: use metrics: [tf.metrics.sparseCategoricalAccuracy] instead. (Shown once per loss.)',
      ]);
      loss.dispose();
    });
  });

  it('warns in fitDataset with sparse labels, where the advised metric gives the true accuracy', async () => {
    const loss = galaLoss({ numClasses: 3 });
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [2], useBias: false })] });
    model.layers[0].setWeights([tf.tensor2d([[5, 0, 0], [0, 5, 0]])]); // predicts class 0, 1, 0: 2 of 3 right
    model.compile({ optimizer: tf.train.sgd(0), loss, metrics: ['accuracy', tf.metrics.sparseCategoricalAccuracy] });
    const data = tf.data.zip({ xs: tf.data.array([[1, 0], [0, 1], [1, 1]]), ys: tf.data.array([0, 1, 2]) }).batch(3);
    const history = await model.fitDataset(data as never, { epochs: 2, verbose: 0 });
    expect(warn.mock.calls.filter((c) => String(c[0]).includes('use metrics: [tf.metrics.sparseCategoricalAccuracy]'))).toHaveLength(1);
    expectClose(history.history.sparseCategoricalAccuracy as number[], [2 / 3, 2 / 3], 1e-6);
    expect(Math.abs((history.history.acc[0] as number) - 2 / 3)).toBeGreaterThan(0.1); // what the warning is about
    loss.dispose();
  });
});
