import * as tf from '@tensorflow/tfjs';

import { effectiveNumberWeights, inverseFrequencyWeights, toClassWeightMap } from '../../src/losses/class_weights';
import { expectClose } from '../helpers';

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

describe('effectiveNumberWeights', () => {
  it('matches hand-derived values', () => {
    // beta 0.5, counts [1, 2]: (1 - beta) / (1 - beta^n) = 0.5 / 0.5 = 1 and 0.5 / 0.75 = 2/3;
    // scaled to sum 2: [1, 2/3] * 2 / (5/3) = [6/5, 4/5].
    expectClose(effectiveNumberWeights([1, 2], 0.5), [1.2, 0.8], 1e-12);
  });

  it('uses beta 0.9999 by default and sums to numClasses', () => {
    const counts = [5000, 500, 50, 5];
    const raw = counts.map((n) => (1 - 0.9999) / (1 - Math.pow(0.9999, n)));
    const weights = effectiveNumberWeights(counts);
    expectClose(weights, raw.map((w) => (w * 4) / sum(raw)), 1e-9);
    expectClose(sum(weights), 4, 1e-12);
    for (let j = 1; j < weights.length; j++) expect(weights[j]).toBeGreaterThan(weights[j - 1]);
  });

  it('gives equal weights at beta 0 and inverse frequency as beta approaches 1', () => {
    expect(effectiveNumberWeights([100, 10, 1], 0)).toEqual([1, 1, 1]);
    expectClose(effectiveNumberWeights([100, 10, 1], 1 - 1e-9), inverseFrequencyWeights([100, 10, 1]), 1e-5);
  });

  it.each([
    [[10, 1], 1, /^effectiveNumberWeights: beta must be a finite number >= 0 and < 1; received 1/],
    [[10, 1], -0.1, /^effectiveNumberWeights: beta must be a finite number >= 0 and < 1; received -0.1/],
    [[10, 1], NaN, /^effectiveNumberWeights: beta must be a finite number >= 0 and < 1; received NaN/],
    [[10, 0], 0.9, /^effectiveNumberWeights: classCounts must be an array of at least 2 finite numbers > 0/],
    [[10], 0.9, /^effectiveNumberWeights: classCounts must be an array of at least 2 finite numbers > 0/],
  ])('rejects counts %j with beta %j', (counts, beta, message) => {
    expect(() => effectiveNumberWeights(counts, beta)).toThrow(message);
  });
});

describe('inverseFrequencyWeights', () => {
  it('matches hand-derived values', () => {
    // 1/n = [1, 1/2, 1/4], sum 7/4 -> scaled to sum 3: [12/7, 6/7, 3/7].
    expectClose(inverseFrequencyWeights([1, 2, 4]), [12 / 7, 6 / 7, 3 / 7], 1e-12);
    // power 0.5: [1, 1/2] -> [4/3, 2/3].
    expectClose(inverseFrequencyWeights([1, 4], 0.5), [4 / 3, 2 / 3], 1e-12);
    expect(inverseFrequencyWeights([7, 3], 0)).toEqual([1, 1]);
  });

  it('rejects a negative power', () => {
    expect(() => inverseFrequencyWeights([2, 1], -1)).toThrow(/^inverseFrequencyWeights: power must be a finite number >= 0; received -1\.$/);
  });
});

describe('toClassWeightMap', () => {
  it('builds the object tfjs classWeight expects', () => {
    expect(toClassWeightMap([0.5, 2, 1])).toEqual({ 0: 0.5, 1: 2, 2: 1 });
  });

  it('rejects anything but an array of numbers >= 0', () => {
    expect(() => toClassWeightMap([1, -1])).toThrow(/^toClassWeightMap: weights must be .*>= 0; received \[1, -1\]/);
    expect(() => toClassWeightMap({ 0: 1 } as never)).toThrow(/^toClassWeightMap: weights must be an array/);
  });

  it('is accepted by fit and weighs each sample by its class', async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [1], kernelInitializer: 'zeros', activation: 'softmax' })] });
    model.compile({ optimizer: tf.train.sgd(0), loss: 'categoricalCrossentropy' });
    // Zero kernel: every prediction is softmax([0, 0]) = [1/2, 1/2], every loss ln 2.
    const xs = tf.tensor2d([[1], [2], [3]]);
    const ys = tf.oneHot(tf.tensor1d([0, 1, 1], 'int32'), 2);
    const history = await model.fit(xs, ys, { epochs: 1, batchSize: 3, classWeight: toClassWeightMap([3, 0.5]) });
    // (3 + 0.5 + 0.5) / 3 * ln 2
    expectClose(history.history.loss[0] as number, (4 / 3) * Math.LN2, 1e-5);
  });
});
