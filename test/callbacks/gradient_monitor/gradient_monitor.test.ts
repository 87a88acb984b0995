import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as tf from '@tensorflow/tfjs';

import { GradientMonitor, gradientMonitor } from '../../../src/callbacks/gradient_monitor/gradient_monitor';
import type { TfvisLike } from '../../../src/callbacks/gradient_monitor/live_display';
import type { GradientMonitorArgs } from '../../../src/callbacks/gradient_monitor/options';
import { focalLoss } from '../../../src/losses/focal_loss';
import { galaLoss, type GalaLoss } from '../../../src/losses/gala_loss';
import { expectClose } from '../../helpers';

// Hand-derived example. A Dense layer with identity kernel and zero bias: the logits are the
// inputs. Probabilities (softmax of each row):
//   A, class 0: [ln 2, 0, 0]       -> [1/2, 1/4, 1/4]
//   B, class 0: [0, ln 3, 0]       -> [1/5, 3/5, 1/5]
//   C, class 1: [0, 0, 0]          -> [1/3, 1/3, 1/3]
//   D, class 2: [0, ln 3, ln 4]    -> [1/8, 3/8, 1/2]
// Under softmax cross-entropy dL/dz = p - y, so positive_j = sum over class-j samples of
// 1 - p_j, and negative[j][k] = sum over class-k samples of p_j.
const HAND_X = [
  [Math.log(2), 0, 0],
  [0, Math.log(3), 0],
  [0, 0, 0],
  [0, Math.log(3), Math.log(4)],
];
const HAND_LABELS = [0, 0, 1, 2];
const HAND_POSITIVE = [0.5 + 0.8, 2 / 3, 0.5];
const HAND_NEGATIVE = [
  [0, 1 / 3, 1 / 8],
  [0.25 + 0.6, 0, 3 / 8],
  [0.25 + 0.2, 1 / 3, 0],
];
const HAND_RECEIVED = HAND_NEGATIVE.map((row) => row.reduce((a, b) => a + b, 0));
// cos(e_j, x_i) = x_ij / |x_i|: class 0 -> (1 + 0) / 2, class 1 -> 0 (zero vector), class 2 -> ln4 / |D|.
const HAND_SIMILARITY = [0.5, 0, Math.log(4) / Math.hypot(Math.log(3), Math.log(4))];

const handXs = () => tf.tensor2d(HAND_X);
const handSparse = () => tf.tensor1d(HAND_LABELS, 'int32');
const handOneHot = () => tf.oneHot(handSparse(), 3);

/** One Dense layer, identity kernel, zero bias. */
function identityModel(activation: 'softmax' | 'linear'): tf.Sequential {
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [3], activation })] });
  model.layers[0].setWeights([tf.eye(3), tf.zeros([3])]);
  return model;
}

/** Runs the monitor's hooks as one epoch of `fit` would, without training. */
async function measureOnce(monitor: GradientMonitor, model: tf.LayersModel): Promise<void> {
  monitor.setModel(model);
  await monitor.onTrainBegin();
  await monitor.onEpochEnd(0);
  await monitor.onTrainEnd();
}

function expectHandStatistics(monitor: GradientMonitor): void {
  const { statistics, similarity } = monitor.history[0];
  expectClose(statistics.positive, HAND_POSITIVE, 1e-5);
  expectClose(statistics.negative.flat(), HAND_NEGATIVE.flat(), 1e-5);
  expectClose(statistics.negativeReceived, HAND_RECEIVED, 1e-5);
  expectClose(statistics.ratio as number[], HAND_POSITIVE.map((p, j) => p / HAND_RECEIVED[j]), 1e-5);
  expect(statistics.samples).toEqual([2, 1, 1]);
  if (similarity != null) expectClose(similarity as number[], HAND_SIMILARITY, 1e-5);
}

const ceFunction = (yTrue: tf.Tensor, yPred: tf.Tensor) =>
  tf.losses.softmaxCrossEntropy(yTrue, yPred, undefined, undefined, tf.Reduction.NONE);

describe('GradientMonitor on a probe: hand-derived statistics', () => {
  it("matches p - y for the string loss 'categoricalCrossentropy' on a softmax output", async () => {
    const model = identityModel('softmax');
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
    const monitor = new GradientMonitor({ source: 'probe', probe: { xs: handXs(), ys: handOneHot() } });
    await measureOnce(monitor, model);
    expectHandStatistics(monitor);
    expect(monitor.history[0].similarity).not.toBeNull();
  });

  it("matches p - y for 'sparseCategoricalCrossentropy' with class-index labels", async () => {
    const model = identityModel('softmax');
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'sparseCategoricalCrossentropy' });
    const monitor = new GradientMonitor({ source: 'probe', probe: { xs: handXs(), ys: handSparse() } });
    await measureOnce(monitor, model);
    expectHandStatistics(monitor);
  });

  it('matches p - y for a cross-entropy function on a linear (logits) output', async () => {
    const model = identityModel('linear');
    model.compile({ optimizer: tf.train.sgd(0.1), loss: ceFunction });
    const monitor = new GradientMonitor({ source: 'probe', probe: { xs: handXs(), ys: handOneHot() } });
    await measureOnce(monitor, model);
    expectHandStatistics(monitor);
  });

  it('finds the logits before a separate softmax Activation layer, class vectors included', async () => {
    const input = tf.input({ shape: [3] });
    const dense = tf.layers.dense({ units: 3 });
    const output = tf.layers.activation({ activation: 'softmax' }).apply(dense.apply(input)) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: output });
    dense.setWeights([tf.eye(3), tf.zeros([3])]);
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
    const monitor = new GradientMonitor({ source: 'probe', probe: { xs: handXs(), ys: handOneHot() } });
    await measureOnce(monitor, model);
    expectHandStatistics(monitor);
    expectClose(monitor.history[0].similarity as number[], HAND_SIMILARITY, 1e-5);
  });

  it('satisfies the softmax cross-entropy identity: under cross-entropy each class emits as much negative gradient as its positive', async () => {
    const model = mlp();
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
    const monitor = new GradientMonitor({ source: 'probe', probe: { xs: dataXs(), ys: dataOneHot() } });
    await measureOnce(monitor, model);
    const { positive, negativeEmitted } = monitor.history[0].statistics;
    expectClose(negativeEmitted, positive, 1e-4);
  });
});

describe('GradientMonitor with GalaLoss', () => {
  // theta + eps = [1, 2, 0.5], phi + eps = [1, 4, 1] (as in the GalaLoss tests).
  const EPS = 1e-3;
  const STATE = { positive: [1 - EPS, 2 - EPS, 0.5 - EPS], negative: [1 - EPS, 4 - EPS, 1 - EPS], steps: 7 };

  it('measures the gradient of GALA at its current state, softmax(F) - y, and leaves the state alone', async () => {
    const loss = galaLoss({ numClasses: 3 });
    loss.setState(STATE);
    const model = identityModel('linear');
    model.compile({ optimizer: tf.train.sgd(0.1), loss });
    const monitor = new GradientMonitor({ source: 'probe', probe: { xs: handXs(), ys: handOneHot() } });
    const before = loss.getState();
    await measureOnce(monitor, model);
    expect(loss.getState()).toEqual(before);

    // Expected: GALA's own gradient on the logits (= the inputs), from a separate copy.
    const reference = galaLoss({ numClasses: 3 });
    reference.setState(STATE);
    const grads = tf.grad((z: tf.Tensor) => tf.sum(reference(handOneHot(), z)))(handXs()).arraySync() as number[][];
    reference.dispose();
    const positive = [0, 0, 0];
    const negative = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
    grads.forEach((row, i) => row.forEach((g, j) => {
      const k = HAND_LABELS[i];
      if (j === k) positive[j] += Math.abs(g);
      else negative[j][k] += Math.abs(g);
    }));
    expectClose(monitor.history[0].statistics.positive, positive, 1e-5);
    expectClose(monitor.history[0].statistics.negative.flat(), negative.flat(), 1e-5);
    // GALA is cross-entropy on shifted logits: each class still emits what it receives as
    // positive gradient, but the margins move the numbers away from plain cross-entropy's.
    expectClose(monitor.history[0].statistics.negativeEmitted, positive, 1e-5);
    expect(Math.abs(positive[1] - HAND_POSITIVE[1])).toBeGreaterThan(0.05);
    loss.dispose();
  });

  it("copies GALA's state for the probe with getStateAsync (no synchronous read, as webgpu in Node needs)", async () => {
    const loss = galaLoss({ numClasses: 3 });
    loss.setState(STATE);
    const model = identityModel('linear');
    model.compile({ optimizer: tf.train.sgd(0.1), loss });
    const monitor = new GradientMonitor({ source: 'probe', probe: { xs: handXs(), ys: handOneHot() } });
    const getState = jest.spyOn(loss, 'getState').mockImplementation(() => {
      throw new Error('synchronous reads are not available');
    });
    const getStateAsync = jest.spyOn(loss, 'getStateAsync');
    try {
      await measureOnce(monitor, model);
      expect(getState).not.toHaveBeenCalled();
      expect(getStateAsync).toHaveBeenCalledTimes(1);
    } finally {
      getState.mockRestore();
      getStateAsync.mockRestore();
    }
    // The measurement is the one at GALA's state: not the plain cross-entropy one.
    expect(monitor.history).toHaveLength(1);
    expect(Math.abs(monitor.history[0].statistics.positive[1] - HAND_POSITIVE[1])).toBeGreaterThan(0.05);
    loss.dispose();
  });

  it('measures a baseline callable loss (focal) as its own gradient', async () => {
    const loss = focalLoss({ gamma: 2 });
    const model = identityModel('linear');
    model.compile({ optimizer: tf.train.sgd(0.1), loss });
    const monitor = new GradientMonitor({ source: 'probe', probe: { xs: handXs(), ys: handOneHot() } });
    await measureOnce(monitor, model);
    const grads = tf.grad((z: tf.Tensor) => tf.sum(loss(handOneHot(), z)))(handXs()).arraySync() as number[][];
    const positive = HAND_LABELS.reduce((acc, k, i) => ((acc[k] += Math.abs(grads[i][k])), acc), [0, 0, 0]);
    expectClose(monitor.history[0].statistics.positive, positive, 1e-5);
  });
});

// A small two-layer classifier on fixed data (seeded: identical across runs).
const NUM = 24;
const DATA_LABELS = Array.from({ length: NUM }, (_, i) => (i % 6 === 0 ? 2 : i % 3 === 0 ? 1 : 0)); // 4 / 4 / 16
function mlp(outputActivation: 'softmax' | 'linear' = 'softmax'): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({ units: 6, inputShape: [4], activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.dense({ units: 3, activation: outputActivation, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
}
const dataXs = () => tf.randomNormal([NUM, 4], 0, 1, 'float32', 7) as tf.Tensor2D;
const dataSparse = () => tf.tensor1d(DATA_LABELS, 'int32');
const dataOneHot = () => tf.oneHot(dataSparse(), 3) as tf.Tensor2D;
const FIT = { epochs: 3, batchSize: 8, shuffle: false, verbose: 0 } as const;

async function trainedWeights(
  compileLoss: () => string | GalaLoss,
  args: GradientMonitorArgs | null,
): Promise<{ weights: number[][]; state: unknown; monitor: GradientMonitor | null }> {
  const model = mlp();
  const loss = compileLoss();
  model.compile({ optimizer: tf.train.adam(0.05), loss: loss as string });
  const monitor = args == null ? null : new GradientMonitor(args);
  await model.fit(dataXs(), dataOneHot(), { ...FIT, callbacks: monitor == null ? [] : [monitor] });
  const weights = model.getWeights().map((w) => Array.from(w.dataSync()));
  const state = typeof loss === 'function' && 'getState' in loss ? (loss as GalaLoss).getState() : null;
  if (typeof loss === 'function' && 'dispose' in loss) (loss as GalaLoss).dispose();
  return { weights, state, monitor };
}

describe('GradientMonitor does not change training', () => {
  const cases: Array<[string, () => string | GalaLoss, () => GradientMonitorArgs]> = [
    ['string CE, probe', () => 'categoricalCrossentropy', () => ({ source: 'probe', probe: { xs: dataXs(), ys: dataOneHot() } })],
    ['string CE, training batches', () => 'categoricalCrossentropy', () => ({ source: 'training' })],
    ['GALA, probe', () => galaLoss({ numClasses: 3 }), () => ({ source: 'probe', probe: { xs: dataXs(), ys: dataOneHot() } })],
    ['GALA, training batches + probe similarity', () => galaLoss({ numClasses: 3 }), () => ({ source: 'training', probe: { xs: dataXs(), ys: dataOneHot() } })],
  ];
  it.each(cases)('%s: identical weights (and GALA state) with and without the monitor', async (_name, loss, args) => {
    const without = await trainedWeights(loss, null);
    const withMonitor = await trainedWeights(loss, args());
    expect(withMonitor.weights).toEqual(without.weights);
    expect(withMonitor.state).toEqual(without.state);
    expect(withMonitor.monitor!.history).toHaveLength(FIT.epochs);
  });

  it('leaks no tensor over a fit (probe and training sources, GALA)', async () => {
    for (const args of [{ source: 'probe' as const, probe: { xs: dataXs(), ys: dataOneHot() } }, { source: 'training' as const, probe: { xs: dataXs(), ys: dataOneHot() } }]) {
      const loss = galaLoss({ numClasses: 3 });
      const model = mlp();
      model.compile({ optimizer: tf.train.adam(0.05), loss });
      const xs = dataXs();
      const ys = dataOneHot();
      await model.fit(xs, ys, { ...FIT, epochs: 1 }); // creates the optimizer's slots
      const before = tf.memory().numTensors;
      const monitor = new GradientMonitor(args);
      await model.fit(xs, ys, { ...FIT, epochs: 5, callbacks: [monitor] });
      expect(tf.memory().numTensors).toBe(before);
      expect(monitor.history).toHaveLength(5);
      tf.dispose([xs, ys, args.probe.xs, args.probe.ys]);
      loss.dispose();
    }
  });

  it('restores the compiled loss after training on batches', async () => {
    const model = mlp();
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
    const inner = (model as unknown as { model: tf.LayersModel }).model;
    const original = inner.lossFunctions[0];
    await model.fit(dataXs(), dataOneHot(), { ...FIT, epochs: 1, callbacks: [new GradientMonitor({ source: 'training' })] });
    expect(inner.lossFunctions[0]).toBe(original);
  });
});

describe("GradientMonitor with source 'training'", () => {
  it('equals the probe measurement on the same data when the weights do not move', async () => {
    const probeRun = new GradientMonitor({ source: 'probe', probe: { xs: dataXs(), ys: dataOneHot() } });
    const batchRun = new GradientMonitor({ source: 'training' });
    for (const monitor of [probeRun, batchRun]) {
      const model = mlp();
      model.compile({ optimizer: tf.train.sgd(0), loss: 'categoricalCrossentropy' });
      await model.fit(dataXs(), dataOneHot(), { ...FIT, epochs: 1, callbacks: [monitor] });
    }
    const a = probeRun.history[0].statistics;
    const b = batchRun.history[0].statistics;
    expectClose(b.positive, a.positive, 1e-4);
    expectClose(b.negative.flat(), a.negative.flat(), 1e-4);
    expect(b.samples).toEqual([16, 4, 4]);
    expect(batchRun.history[0].similarity).toBeNull();
  });

  it('counts only training batches (not validation) and works with sparse labels and fitDataset', async () => {
    const model = mlp('linear');
    model.compile({ optimizer: tf.train.sgd(0.05), loss: 'sparseCategoricalCrossentropy' });
    // A linear output with a sparse CE that expects probabilities is wrong as a model, but the
    // monitor must still count samples and keep the cross-entropy identity of its gradient.
    const monitor = new GradientMonitor({ source: 'training', modelOutput: 'auto' });
    const xs = dataXs();
    const dataset = tf.data.zip({ xs: tf.data.array(tf.unstack(xs)), ys: tf.data.array(DATA_LABELS.map((l) => tf.tensor1d([l]))) }).batch(8);
    await model.fitDataset(dataset as never, { epochs: 2, verbose: 0, callbacks: [monitor], validationData: dataset as never });
    expect(monitor.history.map((r) => r.statistics.samples)).toEqual([[16, 4, 4], [16, 4, 4]]);
    expect(monitor.cumulative!.samples).toEqual([32, 8, 8]);
  });

  it('is the default, and then uses a probe only for the class vector / feature similarity', async () => {
    const model = mlp();
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
    const monitor = new GradientMonitor({ probe: { xs: dataXs(), ys: dataOneHot() } });
    expect(monitor.source).toBe('training');
    await model.fit(dataXs(), dataOneHot(), { ...FIT, epochs: 1, callbacks: [monitor] });
    const similarity = monitor.history[0].similarity!;
    expect(similarity).toHaveLength(3);
    similarity.forEach((v) => expect(Math.abs(v!)).toBeLessThanOrEqual(1));
  });

  it('includes classWeight, as the optimizer sees it', async () => {
    const plain = new GradientMonitor();
    const weighted = new GradientMonitor();
    for (const [monitor, classWeight] of [[plain, undefined], [weighted, { 0: 2, 1: 1, 2: 0.5 }]] as const) {
      const model = mlp();
      model.compile({ optimizer: tf.train.sgd(0), loss: 'categoricalCrossentropy' });
      await model.fit(dataXs(), dataOneHot(), { ...FIT, epochs: 1, classWeight, callbacks: [monitor] });
    }
    expectClose(weighted.history[0].statistics.positive, plain.history[0].statistics.positive.map((p, j) => p * [2, 1, 0.5][j]), 1e-5);
  });

  it('puts the loss back with dispose() after a fit that threw', async () => {
    const model = mlp();
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
    const inner = (model as unknown as { model: tf.LayersModel }).model;
    const original = inner.lossFunctions[0];
    const failing = new tf.CustomCallback({ onEpochEnd: async () => { throw new Error('stop'); } });
    const xs = dataXs();
    const ys = dataOneHot();
    // A fit that throws leaves some of tfjs's own tensors behind: measure that first.
    let before = tf.memory().numTensors;
    await expect(model.fit(xs, ys, { ...FIT, callbacks: [failing] })).rejects.toThrow('stop');
    const leftByTfjs = tf.memory().numTensors - before;

    const monitor = new GradientMonitor();
    before = tf.memory().numTensors;
    await expect(model.fit(xs, ys, { ...FIT, callbacks: [monitor, failing] })).rejects.toThrow('stop');
    expect(inner.lossFunctions[0]).not.toBe(original);
    monitor.dispose();
    expect(inner.lossFunctions[0]).toBe(original);
    expect(tf.memory().numTensors - before).toBe(leftByTfjs);
    expect(monitor.history).toHaveLength(1);
  });

  it('accumulates per epoch and cumulatively', async () => {
    const model = mlp();
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
    const monitor = new GradientMonitor({ source: 'training' });
    await model.fit(dataXs(), dataOneHot(), { ...FIT, callbacks: [monitor] });
    const sum = monitor.history.reduce((acc, r) => acc.map((v, j) => v + r.statistics.positive[j]), [0, 0, 0]);
    expectClose(monitor.cumulative!.positive, sum, 1e-6);
    expectClose(monitor.history[2].cumulative.positive, sum, 1e-6);
    expectClose(monitor.cumulative!.negativeEmitted, monitor.cumulative!.positive, 1e-4);
  });
});

describe('GradientMonitor results', () => {
  it('keeps a JSON-safe history and toJSON()', async () => {
    const model = mlp();
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
    const monitor = new GradientMonitor({ source: 'probe', probe: { xs: dataXs(), ys: dataOneHot() }, classCounts: [16, 4, 4] });
    await model.fit(dataXs(), dataOneHot(), { ...FIT, callbacks: [monitor] });
    const json = JSON.parse(JSON.stringify(monitor.toJSON()));
    expect(json.history).toEqual(monitor.history);
    expect(json.className).toBe(GradientMonitor.className);
    expect(json.numClasses).toBe(3);
    expect(json.cumulative.negative).toHaveLength(3);
    expect(monitor.history.map((r) => r.epoch)).toEqual([0, 1, 2]);
  });

  it('writes JSON per epoch and SVG pictures into outputDir', async () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gradient-monitor-')), 'nested', 'out');
    const model = mlp();
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
    const monitor = new GradientMonitor({ source: 'probe', probe: { xs: dataXs(), ys: dataOneHot() }, outputDir: dir, classCounts: [16, 4, 4], classNames: ['head', 'mid', 'tail'] });
    await model.fit(dataXs(), dataOneHot(), { ...FIT, epochs: 2, callbacks: [monitor] });
    const files = fs.readdirSync(dir).sort();
    expect(files).toEqual(['gradient-monitor-epoch-0000.json', 'gradient-monitor-epoch-0001.json', 'gradient-monitor.json', 'gradient-ratio.svg', 'negative-gradients.svg']);
    const epoch1 = JSON.parse(fs.readFileSync(path.join(dir, 'gradient-monitor-epoch-0001.json'), 'utf8'));
    expect(epoch1.epoch).toBe(1);
    expect(epoch1.cumulative).toEqual(monitor.cumulative);
    const all = JSON.parse(fs.readFileSync(path.join(dir, 'gradient-monitor.json'), 'utf8'));
    expect(all.history).toEqual(monitor.history);
    const heatmap = fs.readFileSync(path.join(dir, 'negative-gradients.svg'), 'utf8');
    const ratio = fs.readFileSync(path.join(dir, 'gradient-ratio.svg'), 'utf8');
    expect(heatmap.startsWith('<svg')).toBe(true);
    expect(ratio.startsWith('<svg')).toBe(true);
    expect(ratio).toContain('tail');
    expect(ratio).toContain('few-shot');
  });

  it('warns once and goes on training when outputDir cannot be written', async () => {
    const blocker = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gradient-monitor-')), 'a-file');
    fs.writeFileSync(blocker, 'not a folder');
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const model = mlp();
      model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
      const monitor = new GradientMonitor({ source: 'training', outputDir: path.join(blocker, 'out') });
      const history = await model.fit(dataXs(), dataOneHot(), { ...FIT, callbacks: [monitor] });
      expect(history.epoch).toEqual([0, 1, 2]);
      expect(monitor.history).toHaveLength(3);
      const messages = warn.mock.calls.map((c) => String(c[0])).filter((m) => m.includes('GradientMonitor'));
      expect(messages).toHaveLength(1);
      expect(messages[0]).toMatch(/could not write .*a-file.*training goes on/);
    } finally {
      warn.mockRestore();
    }
  });

  it('draws live through tfjs-vis into {name, tab} surfaces', async () => {
    const calls: Array<[string, unknown, unknown, unknown]> = [];
    const tfvis: TfvisLike = {
      render: {
        heatmap: async (container, data, options) => void calls.push(['heatmap', container, data, options]),
        barchart: async (container, data, options) => void calls.push(['barchart', container, data, options]),
      },
    };
    const model = mlp();
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
    const monitor = new GradientMonitor({ source: 'training', tfvis, container: { name: 'Gradients', tab: 'Monitor' }, classCounts: [4, 16, 4] });
    await model.fit(dataXs(), dataOneHot(), { ...FIT, epochs: 2, callbacks: [monitor] });
    expect(calls.map((c) => c[0])).toEqual(['heatmap', 'barchart', 'heatmap', 'barchart']);
    const [, heatmapArea, heatmapData, heatmapOptions] = calls[2] as [string, { name: string; tab: string }, { values: number[][]; xTickLabels: string[] }, { rowMajor: boolean }];
    expect(heatmapArea.tab).toBe('Monitor');
    expect(heatmapArea.name).toMatch(/^Gradients: negative gradient/);
    expect(heatmapOptions.rowMajor).toBe(true);
    // Class 1 has the largest count: shown first, as row and column.
    expect(heatmapData.xTickLabels).toEqual(['1', '0', '2']);
    expect(heatmapData.values[0][1]).toBeCloseTo(monitor.cumulative!.negative[1][0], 5);
    const bars = calls[3][2] as { index: string; value: number }[];
    // Rank prefixes keep the count order through tfjs-vis's string sort of bar labels.
    expect(bars.map((b) => b.index)).toEqual(['1 1', '2 0', '3 2']);
    expect(bars[0].value).toBeCloseTo(monitor.cumulative!.ratio[1] as number, 6);
  });
});

describe('GradientMonitor live display in an HTML element', () => {
  it('creates two areas inside the element once and draws into them every epoch', async () => {
    const children: object[] = [];
    const element = {
      ownerDocument: { createElement: (tag: string) => ({ tag }) },
      appendChild: (child: object) => void children.push(child),
    };
    const containers: unknown[] = [];
    const tfvis: TfvisLike = {
      render: { heatmap: async (c) => void containers.push(c), barchart: async (c) => void containers.push(c) },
    };
    const model = mlp();
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
    const monitor = new GradientMonitor({ tfvis, container: element as unknown as HTMLElement });
    await model.fit(dataXs(), dataOneHot(), { ...FIT, epochs: 2, callbacks: [monitor] });
    expect(children).toHaveLength(2);
    expect(containers).toEqual([children[0], children[1], children[0], children[1]]);
    expect(monitor.getConfig().container).toBeNull();
  });

  it('warns once and goes on when tfjs-vis fails', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const broken: TfvisLike = { render: { heatmap: async () => { throw new Error('no DOM'); }, barchart: async () => undefined } };
      const model = mlp();
      model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
      const monitor = new GradientMonitor({ tfvis: broken });
      await model.fit(dataXs(), dataOneHot(), { ...FIT, callbacks: [monitor] });
      expect(monitor.history).toHaveLength(3);
      expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([expect.stringMatching(/tfjs-vis could not draw \(no DOM\); training goes on/)]);
    } finally {
      warn.mockRestore();
    }
  });
});

describe('GradientMonitor config', () => {
  it('round-trips through getConfig / fromConfig (no tensors in the config)', () => {
    const monitor = new GradientMonitor({
      source: 'probe',
      probe: { xs: handXs(), ys: handOneHot() },
      batchSize: 64,
      classCounts: [10, 5, 1],
      classNames: ['a', 'b', 'c'],
      outputDir: '/tmp/x',
      svg: false,
      container: { name: 'G', tab: 'T' },
    });
    const config = monitor.getConfig();
    expect(config).toEqual({
      source: 'probe',
      batchSize: 64,
      modelOutput: 'auto',
      classCounts: [10, 5, 1],
      classNames: ['a', 'b', 'c'],
      outputDir: '/tmp/x',
      svg: false,
      container: { name: 'G', tab: 'T' },
    });
    const copy = GradientMonitor.fromConfig(GradientMonitor, JSON.parse(JSON.stringify(config)));
    expect(copy.getConfig()).toEqual(config);
    const defaults = gradientMonitor();
    expect(GradientMonitor.fromConfig(GradientMonitor, defaults.getConfig()).getConfig()).toEqual(defaults.getConfig());
  });

  it('is registered with tf.serialization under its className', () => {
    const map = tf.serialization.SerializationMap.getMap().classNameMap;
    expect(map[GradientMonitor.className][0]).toBe(GradientMonitor);
  });
});

describe('GradientMonitor errors', () => {
  const probe = () => ({ xs: handXs(), ys: handOneHot() });

  it.each<[string, GradientMonitorArgs, RegExp]>([
    ['source', { source: 'batches' as never }, /^GradientMonitor: source must be one of 'training', 'probe'; received "batches"\.$/],
    ['batchSize', { batchSize: 0 }, /^GradientMonitor: batchSize must be an integer >= 1; received 0\.$/],
    ['modelOutput', { modelOutput: 'softmax' as never }, /^GradientMonitor: modelOutput must be one of 'auto', 'logits', 'probabilities'/],
    ['classCounts', { classCounts: [3, -1] }, /^GradientMonitor: classCounts must be an array.* finite numbers >= 0; received \[3, -1\]/],
    ['classNames', { classNames: [1, 2] as never }, /^GradientMonitor: classNames must be an array of strings/],
    ['outputDir', { outputDir: '' }, /^GradientMonitor: outputDir must be a non-empty folder path; received ""\.$/],
    ['probe (a tensor)', { probe: tf.zeros([2]) as never }, /^GradientMonitor: probe must be \{xs: Tensor \| Tensor\[\], ys: Tensor\}; received Tensor\[2\] float32\.$/],
    ['probe.xs (nested arrays)', { probe: { xs: [[1, 2]], ys: tf.zeros([1]) } as never }, /^GradientMonitor: probe\.xs must be a tf\.Tensor, or an array of tf\.Tensors .*; received an array whose entry 0 is an array of length 2\.$/],
    ['probe.xs (a string)', { probe: { xs: 'images.png', ys: tf.zeros([1]) } as never }, /^GradientMonitor: probe\.xs must be a tf\.Tensor \(convert arrays with tf\.tensor\(\)\); received the string "images\.png"\.$/],
    ['probe.xs (missing)', { probe: { ys: tf.zeros([1]) } as never }, /^GradientMonitor: probe\.xs must be a tf\.Tensor .*; received undefined\.$/],
    ['probe.ys (an array)', { probe: { xs: tf.zeros([2, 3]), ys: [0, 1] } as never }, /^GradientMonitor: probe\.ys must be a tf\.Tensor \(convert arrays with tf\.tensor\(\)\); received an array of length 2\.$/],
    ['probe.ys (a string)', { probe: { xs: tf.zeros([2, 3]), ys: 'labels' } as never }, /^GradientMonitor: probe\.ys must be a tf\.Tensor .*; received the string "labels"\.$/],
    ['probe key', { probe: { x: tf.zeros([2, 3]), ys: tf.zeros([2]) } as never }, /^GradientMonitor: probe: unknown argument 'x' \(did you mean 'xs'\?\); allowed: xs, ys\.$/],
    ['tfvis', { tfvis: {} as never }, /^GradientMonitor: tfvis must be the @tensorflow\/tfjs-vis module/],
    ['container', { container: 'main' as never }, /^GradientMonitor: container must be a tfjs-vis surface \{name, tab\} or an HTML element; received "main"\.$/],
    ['an unknown option', { outDir: 'x' } as never, /^GradientMonitor: unknown argument 'outDir'; allowed: source, probe, batchSize, modelOutput, classCounts, classNames, outputDir, svg, tfvis, container\.$/],
    ['a misspelt option', { outputdir: 'x' } as never, /^GradientMonitor: unknown argument 'outputdir' \(did you mean 'outputDir'\?\)/],
    ['another misspelt option', { classcount: [1, 2] } as never, /^GradientMonitor: unknown argument 'classcount' \(did you mean 'classCounts'\?\)/],
    ['args (an array)', [] as never, /^GradientMonitor: args must be an object like \{probe: \{xs, ys\}\}; received an array of length 0\.$/],
  ])('rejects a bad %s', (_name, args, message) => {
    expect(() => new GradientMonitor(args)).toThrow(message);
  });

  async function beginWith(model: tf.LayersModel, args: GradientMonitorArgs): Promise<void> {
    const monitor = new GradientMonitor(args);
    monitor.setModel(model);
    await monitor.onTrainBegin();
  }

  it('rejects a model whose output is not [batch, numClasses]', async () => {
    const sequenceModel = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [2, 4] })] });
    sequenceModel.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    await expect(beginWith(sequenceModel, {})).rejects.toThrow(/^GradientMonitor: model output must have shape \[batch, numClasses\] with numClasses >= 2; received \[null, 2, 3\]\.$/);
    const oneUnit = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [4], activation: 'sigmoid' })] });
    oneUnit.compile({ optimizer: 'sgd', loss: 'binaryCrossentropy' });
    await expect(beginWith(oneUnit, {})).rejects.toThrow(/received \[null, 1\]/);
    const input = tf.input({ shape: [4] });
    const twoOutputs = tf.model({ inputs: input, outputs: [tf.layers.dense({ units: 3 }).apply(input), tf.layers.dense({ units: 3 }).apply(input)] as tf.SymbolicTensor[] });
    await expect(beginWith(twoOutputs, {})).rejects.toThrow(/^GradientMonitor: model must have a single output \[batch, numClasses\]; received a model with 2 outputs\.$/);
  });

  it('rejects a final activation it cannot undo, unless modelOutput says what it is', async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [3], activation: 'sigmoid' })] });
    model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    await expect(beginWith(model, {})).rejects.toThrow(/^GradientMonitor: modelOutput must be 'logits' or 'probabilities' .*final layer .* \(Dense, activation 'sigmoid'\).*; received 'auto'\.$/);
    await expect(beginWith(model, { modelOutput: 'logits' })).resolves.toBeUndefined();
    const softmax = identityModel('softmax');
    softmax.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
    await expect(beginWith(softmax, { modelOutput: 'logits' })).rejects.toThrow(/^GradientMonitor: modelOutput must be 'auto' or 'probabilities' for the final layer .*activation 'softmax'\); received 'logits'\.$/);
  });

  it('rejects an uncompiled model, a missing probe, and class lists of the wrong length', async () => {
    const model = identityModel('softmax');
    await expect(beginWith(model, {})).rejects.toThrow(/^GradientMonitor: model must be compiled with a loss \(call model.compile/);
    model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
    await expect(beginWith(model, { source: 'probe' })).rejects.toThrow(/^GradientMonitor: probe must be set for source 'probe'/);
    await expect(beginWith(model, { classCounts: [1, 2] })).rejects.toThrow(/^GradientMonitor: classCounts must have numClasses = 3 entries; received 2\.$/);
    await expect(beginWith(model, { classNames: ['a'] })).rejects.toThrow(/^GradientMonitor: classNames must have numClasses = 3 entries; received 1\.$/);
  });

  it('rejects a model with another numClasses than the results it holds, until reset', async () => {
    const monitor = new GradientMonitor();
    const three = identityModel('softmax');
    three.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
    monitor.setModel(three);
    await monitor.onTrainBegin();
    monitor.dispose();
    const four = tf.sequential({ layers: [tf.layers.dense({ units: 4, inputShape: [3], activation: 'softmax' })] });
    four.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
    monitor.setModel(four);
    await expect(monitor.onTrainBegin()).rejects.toThrow(/^GradientMonitor: the model's numClasses must be 3, .*call reset\(\).*; received 4\.$/);
    monitor.reset();
    await expect(monitor.onTrainBegin()).resolves.toBeUndefined();
    monitor.dispose();
  });

  it('rejects a probe set of the wrong shape, naming it', async () => {
    const model = identityModel('softmax');
    model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
    await expect(beginWith(model, { probe: { xs: tf.zeros([4, 5]), ys: handOneHot() } })).rejects.toThrow(/^GradientMonitor: probe.xs must have shape \[N, 3\] \(the model input\); received \[4, 5\]\.$/);
    await expect(beginWith(model, { probe: { xs: handXs(), ys: tf.oneHot(tf.tensor1d([0, 1, 2], 'int32'), 3) } })).rejects.toThrow(/^GradientMonitor: probe.xs and probe.ys must hold the same number N >= 1 of samples; received xs \[4\] and ys 3\.$/);
    await expect(beginWith(model, { probe: { xs: handXs(), ys: tf.zeros([4, 5]) } })).rejects.toThrow(/^GradientMonitor: probe.ys must be one-hot \[batch, 3\] or sparse class indices/);
    await expect(beginWith(model, { probe: { xs: [handXs(), handXs()], ys: handOneHot() } })).rejects.toThrow(/^GradientMonitor: probe.xs must hold 1 input tensor\(s\)/);
    const disposed = handXs();
    disposed.dispose();
    await expect(beginWith(model, { probe: { xs: disposed, ys: handOneHot() } })).rejects.toThrow(/^GradientMonitor: probe tensors must be live .*; received a disposed tensor\.$/);
  });

  it('fails fit before any training step, weights untouched', async () => {
    const model = identityModel('softmax');
    model.compile({ optimizer: tf.train.sgd(1), loss: 'categoricalCrossentropy' });
    const before = model.getWeights().map((w) => Array.from(w.dataSync()));
    const monitor = new GradientMonitor({ source: 'probe', probe: { xs: tf.zeros([4, 5]), ys: handOneHot() } });
    await expect(model.fit(handXs(), handOneHot(), { epochs: 1, verbose: 0, callbacks: [monitor] })).rejects.toThrow(/probe.xs must have shape/);
    expect(model.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(before);
    void probe;
  });
});
