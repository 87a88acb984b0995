import * as tf from '@tensorflow/tfjs';

import { GalaLoss, galaLoss } from '../../src/losses/gala_loss';
import { expectClose, expectNoLeak } from '../helpers';

const EPS = 1e-3;

/** Per-sample softmax cross-entropy on logits, as a plain array. */
function crossEntropy(labels: tf.Tensor, logits: tf.Tensor): number[] {
  return tf.tidy(() => Array.from(tf.losses.softmaxCrossEntropy(labels, logits, undefined, undefined, tf.Reduction.NONE).dataSync()));
}

/** Runs the loss under a gradient tape, as `fit` does, so the state updates. Returns the losses. */
function trainStep(loss: GalaLoss, labels: tf.Tensor, logits: tf.Tensor): number[] {
  let values: number[] = [];
  tf.tidy(() => {
    const g = tf.grad((z: tf.Tensor) => {
      const perSample = loss(labels, z);
      values = Array.from(perSample.dataSync());
      return tf.mean(perSample);
    });
    g(logits);
  });
  return values;
}

// Hand-derived example (numClasses 3). State chosen so that theta + eps = [1, 2, 0.5] and
// phi + eps = [1, 4, 1]: log(theta + eps) = [0, ln2, -ln2], log(phi + eps) = [0, ln4, 0].
const HAND_STATE = { positive: [1 - EPS, 2 - EPS, 0.5 - EPS], negative: [1 - EPS, 4 - EPS, 1 - EPS], steps: 7 };
const handLabels = () => tf.tensor1d([0, 1], 'int32');
const handLogits = () => tf.tensor2d([[1, 2, 0], [0, 0, 0]]);

describe('GalaLoss: the paper formula', () => {
  it('matches hand-derived values', () => {
    const loss = galaLoss({ numClasses: 3 });
    loss.setState(HAND_STATE);
    // Sample 1, k = 0: F = [1, 2 + ln2, -ln2] -> L = log(e + 2e^2 + 0.5) - 1.
    // Sample 2, k = 1: F = [0 - ln4, 0, -ln2 - ln4] -> exp = [1/4, 1, 1/8] -> L = log(1.375).
    const expected = [Math.log(Math.E + 2 * Math.E ** 2 + 0.5) - 1, Math.log(1.375)];
    expectClose(loss(handLabels(), handLogits()), expected, 1e-5);
    loss.dispose();
  });

  it('equals softmax cross-entropy at step 1 (theta = phi = 0) and with lambda1 = lambda2 = 0', () => {
    const labels = tf.oneHot(tf.tensor1d([0, 2, 1, 2], 'int32'), 3);
    const logits = tf.randomNormal([4, 3], 0, 2, 'float32', 1);
    const fresh = galaLoss({ numClasses: 3 });
    expectClose(fresh(labels, logits), crossEntropy(labels, logits), 1e-5);
    const zero = galaLoss({ numClasses: 3, lambda1: 0, lambda2: 0 });
    zero.setState(HAND_STATE);
    expectClose(zero(labels, logits), crossEntropy(labels, logits), 1e-5);
    fresh.dispose();
    zero.dispose();
  });

  it('has gradient softmax(F) - onehot with respect to the logits (margins are constants)', () => {
    const loss = galaLoss({ numClasses: 3 });
    loss.setState(HAND_STATE);
    const grad = tf.grad((z: tf.Tensor) => tf.sum(loss(handLabels(), z)))(handLogits());
    const e = Math.E;
    const f1 = [e, 2 * e * e, 0.5];
    const s1 = f1[0] + f1[1] + f1[2];
    const f2 = [0.25, 1, 0.125];
    const s2 = f2[0] + f2[1] + f2[2];
    expectClose(grad, [f1[0] / s1 - 1, f1[1] / s1, f1[2] / s1, f2[0] / s2, f2[1] / s2 - 1, f2[2] / s2], 1e-5);
    loss.dispose();
  });

  it('is unchanged by adding a constant to every logit of a row (loss and gradient)', () => {
    const loss = galaLoss({ numClasses: 3 });
    loss.setState(HAND_STATE);
    const labels = handLabels();
    const logits = handLogits();
    const shifted = tf.add(logits, tf.tensor2d([[5], [-3]]));
    expectClose(loss(labels, shifted), loss(labels, logits), 1e-5);
    // Each tf.grad call is a training step that updates the state: restore it in between.
    const g = tf.grad((z: tf.Tensor) => tf.sum(loss(labels, z)));
    const gradShifted = g(shifted);
    loss.setState(HAND_STATE);
    expectClose(gradShifted, g(logits), 1e-5);
    loss.dispose();
  });

  it('gives the same losses for fromLogits false on softmax probabilities', () => {
    const withLogits = galaLoss({ numClasses: 3 });
    const withProbs = galaLoss({ numClasses: 3, fromLogits: false });
    withLogits.setState(HAND_STATE);
    withProbs.setState(HAND_STATE);
    const logits = tf.randomNormal([6, 3], 0, 1.5, 'float32', 3);
    const labels = tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32');
    expectClose(withProbs(labels, tf.softmax(logits)), withLogits(labels, logits), 1e-4);
    withLogits.dispose();
    withProbs.dispose();
  });

  it('accepts one-hot, sparse [batch] and sparse [batch, 1] labels alike', () => {
    const loss = galaLoss({ numClasses: 3 });
    loss.setState(HAND_STATE);
    const logits = handLogits();
    const expected = loss(tf.tensor2d([[1, 0, 0], [0, 1, 0]]), logits);
    expectClose(loss(tf.tensor1d([0, 1]), logits), expected);
    expectClose(loss(tf.tensor2d([[0], [1]], [2, 1], 'int32'), logits), expected);
    loss.dispose();
  });
});

describe('GalaLoss: the reference variant (authors\' code)', () => {
  it('matches hand-derived values (all logits shifted, the phi term cancels)', () => {
    const loss = galaLoss({ numClasses: 3, variant: 'reference' });
    loss.setState({ format: 2, ...HAND_STATE, positiveRunning: [0, 0, 0], negativeRunning: [0, 0, 0] });
    // Sample 1: F = z + [0, ln2, -ln2] - 0 -> same as the paper: log(e + 2e^2 + 0.5) - 1.
    // Sample 2: F = [0, ln2, -ln2] - ln4 (row constant) -> L = log(1 + 2 + 0.5) - ln2 = log(1.75).
    expectClose(loss(handLabels(), handLogits()), [Math.log(Math.E + 2 * Math.E ** 2 + 0.5) - 1, Math.log(1.75)], 1e-5);
    loss.dispose();
  });

  it('ignores lambda2', () => {
    const a = galaLoss({ numClasses: 3, variant: 'reference', lambda2: 0 });
    const b = galaLoss({ numClasses: 3, variant: 'reference', lambda2: 3 });
    const state = { format: 2, ...HAND_STATE, positiveRunning: [0, 0, 0], negativeRunning: [0, 0, 0] };
    a.setState(state);
    b.setState(state);
    expectClose(a(handLabels(), handLogits()), b(handLabels(), handLogits()), 1e-5);
    a.dispose();
    b.dispose();
  });

  it('accumulates theta twice: theta(T) = sum of the running sums', () => {
    const loss = galaLoss({ numClasses: 3, variant: 'reference' });
    const labels = handLabels();
    const logits = handLogits();
    trainStep(loss, labels, logits);
    const first = loss.getState();
    // Step 1, state 0: p = softmax(z). Batch size 2, so each magnitude is halved.
    const p1 = softmax([1, 2, 0]);
    const g1 = [(1 - p1[0]) / 2, (1 - 1 / 3) / 2, 0];
    expectClose(first.positiveRunning!, g1, 1e-5);
    expectClose(first.positive, g1, 1e-5);
    trainStep(loss, labels, logits);
    const second = loss.getState();
    expectClose(second.positive, first.positiveRunning!.map((r, j) => r + second.positiveRunning![j]), 1e-5);
    expect(second.steps).toBe(2);
    loss.dispose();
  });
});

describe('GalaLoss: state', () => {
  it('accumulates hand-derived statistics under a tape, from zero, divided by the batch size', () => {
    const loss = galaLoss({ numClasses: 3 });
    trainStep(loss, handLabels(), handLogits());
    const p1 = softmax([1, 2, 0]);
    const expected = [(1 - p1[0]) / 2, (2 / 3) / 2, 0];
    const state = loss.getState();
    expectClose(state.positive, expected, 1e-5);
    expectClose(state.negative, expected, 1e-5);
    expect(state.steps).toBe(1);
    loss.dispose();
  });

  it('uses the statistics of earlier batches only: step 2 loss is computed with step-1 state', () => {
    const a = galaLoss({ numClasses: 3 });
    const first = trainStep(a, handLabels(), handLogits());
    expectClose(first, crossEntropy(tf.oneHot(handLabels(), 3), handLogits()), 1e-5);
    const stateAfterOne = a.getState();
    const b = galaLoss({ numClasses: 3 });
    b.setState(stateAfterOne);
    expectClose(trainStep(a, handLabels(), handLogits()), b(handLabels(), handLogits()), 1e-5);
    a.dispose();
    b.dispose();
  });

  it('keeps phi equal to theta (paper variant, sum_{j != y} p_j = 1 - p_y)', () => {
    const loss = galaLoss({ numClasses: 4, lambda1: 1.2, lambda2: 0.9 });
    for (let step = 0; step < 5; step++) {
      const logits = tf.randomNormal([16, 4], 0, 2, 'float32', step);
      const labels = tf.randomUniform([16], 0, 4, 'int32', step + 100);
      trainStep(loss, labels, logits);
    }
    const state = loss.getState();
    expectClose(state.negative, state.positive, 1e-4);
    expect(state.steps).toBe(5);
    loss.dispose();
  });

  it('does not update outside a gradient tape (direct call, evaluate, predict)', async () => {
    const loss = galaLoss({ numClasses: 3 });
    loss(handLabels(), handLogits());
    expect(loss.getState()).toEqual({ format: 2, positive: [0, 0, 0], negative: [0, 0, 0], steps: 0, invalidRows: 0 });
    const model = tinyModel(3);
    model.compile({ optimizer: 'sgd', loss });
    const { xs, ys } = tinyData(3, 12);
    tf.dispose(model.evaluate(xs, ys) as tf.Scalar);
    tf.dispose(model.predict(xs) as tf.Tensor);
    expect(loss.getState().steps).toBe(0);
    loss.dispose();
  });

  it('updates once per training batch in fit, not in validation, even when also listed as a metric', async () => {
    const loss = galaLoss({ numClasses: 3 });
    const model = tinyModel(3);
    model.compile({ optimizer: 'sgd', loss, metrics: [loss] });
    const { xs, ys } = tinyData(3, 20);
    await model.fit(xs, ys, { epochs: 2, batchSize: 8, validationSplit: 0.2 }); // 16 train rows -> 2 batches
    expect(loss.getState().steps).toBe(4);
    await model.trainOnBatch(xs, ys);
    expect(loss.getState().steps).toBe(5);
    loss.dispose();
  });

  it('leaves the state unchanged for a batch with a non-finite logit', () => {
    const loss = galaLoss({ numClasses: 3 });
    trainStep(loss, handLabels(), handLogits());
    const before = loss.getState();
    trainStep(loss, handLabels(), tf.tensor2d([[1, NaN, 0], [0, 0, 0]]));
    trainStep(loss, handLabels(), tf.tensor2d([[1, Infinity, 0], [0, 0, 0]]));
    expect(loss.getState()).toEqual(before);
    loss.dispose();
  });

  it('setState validates and keeps the current state on bad input; resetState zeroes it', () => {
    const loss = galaLoss({ numClasses: 3 });
    loss.setState(HAND_STATE);
    expect(() => loss.setState({ positive: [1, 2], negative: [0, 0, 0], steps: 1 })).toThrow(
      /^GalaLoss.setState: state.positive must be an array or typed array of 3 finite numbers >= 0; received an array of length 2\.$/,
    );
    expect(() => loss.setState({ positive: [1, 2, -1], negative: [0, 0, 0], steps: 1 })).toThrow(/>= 0; received an array with entry 2 = -1\.$/);
    expect(() => loss.setState({ positive: [1, 2, 3], negative: [0, NaN, 0], steps: 1 })).toThrow(/state.negative/);
    expect(() => loss.setState({ positive: [1, 2, 3], negative: [0, 0, 0], steps: 1.5 })).toThrow(/^GalaLoss.setState: state.steps must be an integer >= 0; received 1.5\.$/);
    expectClose(loss.getState().positive, HAND_STATE.positive);
    expect(loss.getState().steps).toBe(7);
    loss.resetState();
    expect(loss.getState()).toEqual({ format: 2, positive: [0, 0, 0], negative: [0, 0, 0], steps: 0, invalidRows: 0 });
    loss.dispose();
  });

  it('dispose frees the variables and later use throws', () => {
    const before = tf.memory().numTensors;
    const loss = galaLoss({ numClasses: 5 });
    expect(tf.memory().numTensors).toBe(before + 5);
    loss.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => loss(handLabels(), handLogits())).toThrow(/disposed/);
  });
});

describe('GalaLoss: API', () => {
  it('is a function usable in compile, and an instance of GalaLoss', () => {
    const loss = galaLoss({ numClasses: 3 });
    expect(typeof loss).toBe('function');
    expect(loss).toBeInstanceOf(GalaLoss);
    expect(loss).toBeInstanceOf(Function);
    expect(loss.getClassName()).toBe('tfjs-gala.GalaLoss');
    loss.dispose();
  });

  it('round-trips its config, defaults filled in', () => {
    const loss = galaLoss({ numClasses: 4, lambda1: 1.2, lambda2: 0.9 });
    const config = loss.getConfig();
    expect(config).toEqual({ numClasses: 4, lambda1: 1.2, lambda2: 0.9, epsilon: 1e-3, fromLogits: true, variant: 'paper' });
    const copy = GalaLoss.fromConfig(GalaLoss, config);
    expect(copy.getConfig()).toEqual(config);
    expect(JSON.parse(JSON.stringify(config))).toEqual(config);
    loss.dispose();
    copy.dispose();
  });

  it('is registered with tf.serialization', () => {
    const registered = tf.serialization.SerializationMap.getMap().classNameMap['tfjs-gala.GalaLoss'];
    expect(registered?.[0]).toBe(GalaLoss);
  });

  it.each([
    [{ numClasses: 1 }, /^GalaLoss: numClasses must be an integer >= 2; received 1/],
    [{ numClasses: 2.5 }, /^GalaLoss: numClasses must be an integer >= 2; received 2.5/],
    [{}, /^GalaLoss: numClasses must be an integer >= 2; received undefined/],
    [{ numClasses: 3, lambda1: -1 }, /^GalaLoss: lambda1 must be a finite number >= 0; received -1/],
    [{ numClasses: 3, lambda2: NaN }, /^GalaLoss: lambda2 must be a finite number >= 0; received NaN/],
    [{ numClasses: 3, epsilon: 0 }, /^GalaLoss: epsilon must be a finite number > 0; received 0/],
    [{ numClasses: 3, fromLogits: 'yes' }, /^GalaLoss: fromLogits must be true or false; received "yes"/],
    [{ numClasses: 3, variant: 'authors' }, /^GalaLoss: variant must be one of 'paper', 'reference'; received "authors"/],
  ])('rejects bad args %j', (args, message) => {
    expect(() => galaLoss(args as never)).toThrow(message);
  });

  it('rejects yPred and yTrue of the wrong shape, naming them', () => {
    const loss = galaLoss({ numClasses: 3 });
    expect(() => loss(handLabels(), tf.zeros([2, 4]))).toThrow(/yPred must be \[batch, 3\].*received shape \[2, 4\]/);
    expect(() => loss(tf.zeros([2, 2]), tf.zeros([2, 3]))).toThrow(/^GalaLoss: yTrue must be one-hot \[batch, 3\].*received shape \[2, 2\]/);
    expect(() => loss(tf.zeros([3]), tf.zeros([2, 3]))).toThrow(/same batch size; received yTrue shape \[3\] and yPred shape \[2, 3\]/);
    loss.dispose();
  });
});

describe('GalaLoss in fit', () => {
  it('returns per-sample losses, so classWeight changes training', async () => {
    const { xs, ys } = tinyData(3, 24);
    const run = async (classWeight?: Record<number, number>) => {
      const loss = galaLoss({ numClasses: 3 });
      const model = tinyModel(3);
      model.compile({ optimizer: tf.train.sgd(0.5), loss });
      const history = await model.fit(xs, ys, { epochs: 1, batchSize: 24, classWeight, shuffle: false });
      loss.dispose();
      return history.history.loss[0] as number;
    };
    const plain = await run();
    const weighted = await run({ 0: 5, 1: 1, 2: 1 });
    expect(Math.abs(plain - weighted)).toBeGreaterThan(1e-3);
  });

  it('leaks no tensor across fit epochs with validation and classWeight', async () => {
    const loss = galaLoss({ numClasses: 3 });
    const model = tinyModel(3);
    model.compile({ optimizer: tf.train.adam(1e-2), loss });
    const { xs, ys } = tinyData(3, 40);
    await model.fit(xs, ys, { epochs: 1, batchSize: 8, validationSplit: 0.25, classWeight: { 0: 1, 1: 2, 2: 3 } });
    await expectNoLeak(() =>
      model.fit(xs, ys, { epochs: 3, batchSize: 8, validationSplit: 0.25, classWeight: { 0: 1, 1: 2, 2: 3 } }),
    );
    expect(loss.getState().steps).toBe(16);
    loss.dispose();
  });

  it('lowers the training loss on a small long-tailed problem', async () => {
    const loss = galaLoss({ numClasses: 3 });
    const model = tinyModel(3);
    model.compile({ optimizer: tf.train.adam(0.05), loss });
    const { xs, ys } = tinyData(3, 60);
    const history = await model.fit(xs, ys, { epochs: 15, batchSize: 20, shuffle: false });
    const losses = history.history.loss as number[];
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.7);
    loss.dispose();
  });
});

function softmax(z: number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

function tinyModel(numClasses: number): tf.LayersModel {
  return tf.sequential({ layers: [tf.layers.dense({ units: numClasses, inputShape: [4], kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }) })] });
}

/** Separable data, class c has roughly (numClasses - c) times fewer rows than class 0 (long-tailed). */
function tinyData(numClasses: number, n: number): { xs: tf.Tensor2D; ys: tf.Tensor2D } {
  const labels: number[] = [];
  for (let i = 0; i < n; i++) labels.push(i % 6 < 3 ? 0 : i % 6 < 5 ? 1 : 2);
  const rows = labels.map((c, i) => [c === 0 ? 2 : -1, c === 1 ? 2 : -1, c === 2 ? 2 : -1, ((i * 37) % 11) / 11]);
  return { xs: tf.tensor2d(rows), ys: tf.oneHot(tf.tensor1d(labels, 'int32'), numClasses) as tf.Tensor2D };
}
