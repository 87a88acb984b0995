import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { PredictionRebalance, predictionRebalance } from '../../src/layers/prediction_rebalance';
import { rebalancePredictions, rebalancedArgMax } from '../../src/layers/rebalance_math';
import { expectClose as expectCloseAllowingNaN, expectNoLeak } from '../helpers';

/** expectClose that also fails on NaN in `actual` (the shared helper lets a NaN pass a numeric comparison). */
function expectClose(actual: tf.Tensor, expected: tf.Tensor | ArrayLike<number>, tol = 1e-5): void {
  const values = Array.from(actual.dataSync());
  expect(values.filter((v) => Number.isNaN(v))).toEqual([]);
  expectCloseAllowingNaN(values, expected, tol);
}

/*
 * Hand-derived example (probabilities, 3 samples x 3 classes):
 *
 *   P = [0.6  0.3   0.1 ]      column mass m = [1.5, 1.0, 0.5]
 *       [0.5  0.25  0.25]
 *       [0.4  0.45  0.15]
 *
 * tau = 1, p / m:
 *   row 0: [0.4, 0.3, 0.2]        sum 0.9     -> [4/9, 3/9, 2/9]        argmax 0
 *   row 1: [1/3, 0.25, 0.5]       = [4, 3, 6]/12  -> [4/13, 3/13, 6/13]  argmax 2 (raw argmax 0)
 *   row 2: [4/15, 0.45, 0.3]      = [16, 27, 18]/60 -> [16/61, 27/61, 18/61] argmax 1
 *
 * tau = 2, p / m^2 with m^2 = [2.25, 1, 0.25]:
 *   row 0: [4/15, 0.3, 0.4]       = [8, 9, 12]/30  -> [8/29, 9/29, 12/29]    argmax 2
 *   row 1: [2/9, 0.25, 1]         = [8, 9, 36]/36  -> [8/53, 9/53, 36/53]    argmax 2
 *   row 2: [8/45, 0.45, 0.6]      = [32, 81, 108]/180 -> [32/221, 81/221, 108/221] argmax 2
 */
const P = [
  [0.6, 0.3, 0.1],
  [0.5, 0.25, 0.25],
  [0.4, 0.45, 0.15],
];
const EXPECTED_TAU_1 = [4 / 9, 3 / 9, 2 / 9, 4 / 13, 3 / 13, 6 / 13, 16 / 61, 27 / 61, 18 / 61];
const EXPECTED_TAU_2 = [8 / 29, 9 / 29, 12 / 29, 8 / 53, 9 / 53, 36 / 53, 32 / 221, 81 / 221, 108 / 221];
const MEAN_MASS = [0.5, 1 / 3, 1 / 6];

/** log P plus a different constant per row: logits whose softmax is P. */
function logitsOfP(): tf.Tensor2D {
  return tf.tidy(() => tf.add(tf.log(tf.tensor2d(P)), tf.tensor2d([[3], [-2], [0.5]])) as tf.Tensor2D);
}

/** Reference in float64: argmax_j p_ij / (sum_n p_nj)^tau, straight from the paper. */
function paperArgMax(probabilities: number[][], tau: number): number[] {
  const numClasses = probabilities[0].length;
  const mass = Array.from({ length: numClasses }, (_, j) => probabilities.reduce((s, row) => s + row[j], 0));
  return probabilities.map((row) => {
    let best = 0;
    for (let j = 1; j < numClasses; j++) {
      if (row[j] / mass[j] ** tau > row[best] / mass[best] ** tau) best = j;
    }
    return best;
  });
}

function randomLogits(rows: number, numClasses: number, seed: number): tf.Tensor2D {
  // A head-heavy bias so that re-balancing changes some predictions.
  return tf.tidy(() => {
    const bias = tf.linspace(2, -2, numClasses).reshape([1, numClasses]);
    return tf.add(tf.randomNormal([rows, numClasses], 0, 1.5, 'float32', seed), bias) as tf.Tensor2D;
  });
}

// Every case runs on the pure-JS cpu backend and on wasm (the fast Node backend without
// tfjs-node; see docs/guide/05-backends.md).
describe.each(['cpu', 'wasm'])('on the %s backend', (backend) => {
  beforeAll(async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    await tf.ready();
    expect(tf.getBackend()).toBe(backend);
  });

  let warn: jest.SpyInstance;
  beforeEach(() => {
    warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => {
    warn.mockRestore();
  });

  describe('rebalancePredictions', () => {
    it('matches the hand-derived values for tau = 1', () => {
      const out = rebalancePredictions(tf.tensor2d(P), { tau: 1, fromLogits: false });
      expect(out.shape).toEqual([3, 3]);
      expect(out.dtype).toBe('float32');
      expectClose(out, EXPECTED_TAU_1);
    });

    it('matches the hand-derived values for tau = 2', () => {
      expectClose(rebalancePredictions(tf.tensor2d(P), { tau: 2, fromLogits: false }), EXPECTED_TAU_2);
    });

    it('normalises probability rows that do not sum to 1', () => {
      const scaled = tf.mul(tf.tensor2d(P), tf.tensor2d([[2], [0.5], [3]]));
      expectClose(rebalancePredictions(scaled, { fromLogits: false }), EXPECTED_TAU_1);
    });

    it('defaults to tau = 1 and fromLogits = true', () => {
      expectClose(rebalancePredictions(logitsOfP()), EXPECTED_TAU_1);
    });

    it('gives the same output from logits and from their probabilities', () => {
      const logits = randomLogits(50, 7, 1);
      const fromLogits = rebalancePredictions(logits, { tau: 1.5, fromLogits: true });
      const fromProbabilities = rebalancePredictions(tf.softmax(logits), { tau: 1.5, fromLogits: false });
      expectClose(fromLogits, fromProbabilities, 1e-5);
    });

    it('returns rows that sum to 1 and the paper argmax for several tau', () => {
      const logits = randomLogits(200, 10, 2);
      const probabilities = (tf.softmax(logits).arraySync() as number[][]);
      let changed = 0;
      for (const tau of [0.5, 1, 1.4, 1.7]) {
        const out = rebalancePredictions(logits, { tau });
        expectClose(tf.sum(out, 1), new Array(200).fill(1), 1e-5);
        const classes = Array.from(rebalancedArgMax(logits, { tau }).dataSync());
        expect(classes).toEqual(paperArgMax(probabilities, tau));
        expect(Array.from(tf.argMax(out, 1).dataSync())).toEqual(classes);
        changed += classes.filter((c, i) => c !== Array.from(tf.argMax(logits, 1).dataSync())[i]).length;
      }
      // The comparison above is only meaningful if re-balancing moved some predictions.
      expect(changed).toBeGreaterThan(0);
    });

    it('moves probability from head to tail classes as tau grows', () => {
      const logits = randomLogits(300, 5, 3);
      const headShare = [0.25, 1, 2].map((tau) => tf.mean(rebalancePredictions(logits, { tau }).slice([0, 0], [-1, 1])).dataSync()[0]);
      const tailShare = [0.25, 1, 2].map((tau) => tf.mean(rebalancePredictions(logits, { tau }).slice([0, 4], [-1, 1])).dataSync()[0]);
      expect(headShare[0]).toBeGreaterThan(headShare[1]);
      expect(headShare[1]).toBeGreaterThan(headShare[2]);
      expect(tailShare[0]).toBeLessThan(tailShare[1]);
      expect(tailShare[1]).toBeLessThan(tailShare[2]);
    });

    it('gives argmax [0, 2, 1] for tau = 1 and [2, 2, 2] for tau = 2 on the hand example', () => {
      const classes1 = rebalancedArgMax(tf.tensor2d(P), { tau: 1, fromLogits: false });
      expect(classes1.dtype).toBe('int32');
      expect(Array.from(classes1.dataSync())).toEqual([0, 2, 1]);
      expect(Array.from(rebalancedArgMax(tf.tensor2d(P), { tau: 2, fromLogits: false }).dataSync())).toEqual([2, 2, 2]);
    });

    it('keeps zero probabilities at 0 and gives no NaN for a class nobody predicts', () => {
      const probabilities = tf.tensor2d([
        [0.75, 0.25, 0],
        [0.5, 0.5, 0],
      ]);
      // m = [1.25, 0.75, 0]; row 0: [0.6, 1/3, 0] -> [9/14, 5/14, 0]; row 1: [0.4, 2/3, 0] -> [3/8, 5/8, 0].
      expectClose(rebalancePredictions(probabilities, { fromLogits: false }), [9 / 14, 5 / 14, 0, 3 / 8, 5 / 8, 0]);
    });

    it('does not underflow when a class gets tiny probabilities everywhere', () => {
      // log-softmax of the rows is [0, -200, -210] and [-200, 0, -210]: p_i2 = e^-210 is 0 in
      // float32, but log m_2 = log 2 - 210 is not. tau = 1:
      //   row 0: [0, -200, -210 - (log 2 - 210)] = [0, -200, -log 2] -> softmax [2/3, 0, 1/3]
      //   row 1: [-200, 0, -log 2]                                  -> softmax [0, 2/3, 1/3]
      const logits = tf.tensor2d([
        [200, 0, -10],
        [0, 200, -10],
      ]);
      expectClose(rebalancePredictions(logits), [2 / 3, 0, 1 / 3, 0, 2 / 3, 1 / 3]);
    });

    it('rejects a tau that is not a finite number > 0, naming tau and the value', () => {
      const x = tf.tensor2d(P);
      for (const tau of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(() => rebalancePredictions(x, { tau, fromLogits: false })).toThrow(
          `rebalancePredictions: tau must be a finite number > 0; received ${String(tau)}.`,
        );
      }
      expect(() => rebalancePredictions(x, { tau: '1' as unknown as number })).toThrow(/tau must be a finite number > 0; received "1"/);
    });

    it('rejects a fromLogits that is not a boolean', () => {
      expect(() => rebalancePredictions(tf.tensor2d(P), { fromLogits: 'false' as unknown as boolean })).toThrow(
        /fromLogits must be true or false; received "false"/,
      );
    });

    it('rejects input that is not [N, numClasses]', () => {
      expect(() => rebalancePredictions(tf.tensor1d([0.2, 0.8]))).toThrow(
        'rebalancePredictions: predictions must have rank 2, [batch, numClasses]; received shape [2] (rank 1).',
      );
      expect(() => rebalancePredictions(tf.zeros([2, 3, 4]))).toThrow(/received shape \[2, 3, 4\] \(rank 3\)/);
      expect(() => rebalancePredictions(tf.zeros([0, 3]))).toThrow(/at least one row and one class; received shape \[0, 3\]/);
    });

    it('rejects negative probabilities and NaN logits', () => {
      expect(() => rebalancePredictions(tf.tensor2d([[1.2, -0.2]]), { fromLogits: false })).toThrow(/must hold probabilities/);
      expect(() => rebalancePredictions(tf.tensor2d([[0, 0]]), { fromLogits: false })).toThrow(/all-zero rows/);
      expect(() => rebalancePredictions(tf.tensor2d([[Number.NaN, 1]]))).toThrow(/NaN or \+Infinity logits/);
    });

    it('warns when fromLogits is true but the input looks like probabilities', () => {
      rebalancePredictions(tf.tensor2d(P));
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/look like probabilities, but fromLogits is true/));
      warn.mockClear();
      rebalancePredictions(logitsOfP());
      expect(warn).not.toHaveBeenCalled();
    });

    it('leaks no tensors', async () => {
      const logits = randomLogits(20, 4, 4);
      await expectNoLeak(() => {
        rebalancePredictions(logits, { tau: 1.2 }).dispose();
        rebalancedArgMax(logits).dispose();
      });
      const invalid = tf.tensor2d([[Number.NaN, 1]]);
      await expectNoLeak(() => {
        expect(() => rebalancePredictions(invalid)).toThrow();
      });
    });
  });

  describe('PredictionRebalance, transductive', () => {
    it('equals rebalancePredictions on the whole set', () => {
      const logits = randomLogits(64, 6, 5);
      const layer = new PredictionRebalance({ mode: 'transductive', tau: 1.7 });
      const out = layer.apply(logits) as tf.Tensor;
      expect(out.shape).toEqual([64, 6]);
      expectClose(out, rebalancePredictions(logits, { tau: 1.7 }));
    });

    it('matches the hand example from probabilities', () => {
      const layer = predictionRebalance({ mode: 'transductive', fromLogits: false });
      expectClose(layer.apply(tf.tensor2d(P)) as tf.Tensor, EXPECTED_TAU_1);
    });

    it('warns inside a model whose predict splits the set into batches of 32, and equals the whole-set result with one batch', async () => {
      const input = tf.input({ shape: [4] });
      const dense = tf.layers.dense({ units: 5, kernelInitializer: 'glorotNormal' }).apply(input) as tf.SymbolicTensor;
      const rebalanced = predictionRebalance({ mode: 'transductive' }).apply(dense) as tf.SymbolicTensor;
      const model = tf.model({ inputs: input, outputs: rebalanced });
      const logitsModel = tf.model({ inputs: input, outputs: dense });
      const x = tf.randomNormal([40, 4], 0, 2, 'float32', 6);
      const wholeSet = rebalancePredictions(logitsModel.predict(x) as tf.Tensor);

      const oneBatch = model.predict(x, { batchSize: 40 }) as tf.Tensor;
      expect(warn).not.toHaveBeenCalled();
      expectClose(oneBatch, wholeSet, 1e-5);

      const defaultBatches = model.predict(x) as tf.Tensor; // batches of 32 and 8
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0][0]).toMatch(/called again within one synchronous run, as model\.predict\(\)\/evaluate\(\) do/);
      // This is the error the warning is about: the split result is not the whole-set result.
      const difference = tf.max(tf.abs(tf.sub(defaultBatches, wholeSet))).dataSync()[0];
      expect(difference).toBeGreaterThan(1e-4);

      await new Promise((resolve) => setTimeout(resolve, 0));
      model.predict(x); // split again, in a later run: still one warning per layer
      expect(warn).toHaveBeenCalledTimes(1);
    });

    it('does not warn for separate whole-set calls separated by an await', async () => {
      const layer = predictionRebalance({ mode: 'transductive' });
      const logits = randomLogits(10, 3, 7);
      await (layer.apply(logits) as tf.Tensor).data();
      await (layer.apply(logits) as tf.Tensor).data();
      expect(warn).not.toHaveBeenCalled();
    });

    it('warns once when a call has fewer rows than classes', async () => {
      const layer = predictionRebalance({ mode: 'transductive' });
      const out = layer.apply(tf.tensor2d([[2, 1, 0]])) as tf.Tensor;
      // One row with tau = 1: p / p is 1 for every class.
      expectClose(out, [1 / 3, 1 / 3, 1 / 3]);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/a call with 1 rows for 3 classes/));
      await new Promise((resolve) => setTimeout(resolve, 0));
      (layer.apply(tf.tensor2d([[0, 1, 2]])) as tf.Tensor).dispose();
      expect(warn).toHaveBeenCalledTimes(1);
    });

    it('rejects adapt()', async () => {
      const layer = predictionRebalance({ mode: 'transductive' });
      await expect(layer.adapt(tf.tensor2d(P))).rejects.toThrow(
        /^PredictionRebalance 'prediction_rebalance_\w+' \(mode 'transductive'\): mode must be 'calibrated' to adapt\(\); received mode 'transductive'/,
      );
    });

    it('leaks no tensors per call', async () => {
      const layer = predictionRebalance({ mode: 'transductive' });
      const logits = randomLogits(8, 3, 8);
      (layer.apply(logits) as tf.Tensor).dispose(); // builds
      await expectNoLeak(() => (layer.apply(logits) as tf.Tensor).dispose());
    });
  });

  describe('PredictionRebalance, calibrated', () => {
    it('adapts to the mean probability per class and then equals transductive on the same data', async () => {
      const layer = predictionRebalance({ mode: 'calibrated', fromLogits: false });
      await layer.adapt(tf.tensor2d(P));
      expect(layer.numClasses).toBe(3);
      const weights = layer.getWeights();
      expect(weights).toHaveLength(1);
      expectClose(weights[0], MEAN_MASS);
      expectClose(layer.apply(tf.tensor2d(P)) as tf.Tensor, EXPECTED_TAU_1);
    });

    it('equals transductive when adapted on the same logits, for tau = 1.5', async () => {
      const logits = randomLogits(100, 8, 9);
      const calibrated = predictionRebalance({ mode: 'calibrated', tau: 1.5 });
      await calibrated.adapt(logits);
      const transductive = predictionRebalance({ mode: 'transductive', tau: 1.5 });
      expectClose(calibrated.apply(logits) as tf.Tensor, transductive.apply(logits) as tf.Tensor, 1e-5);
    });

    it('re-balances each row on its own: one sample equals its row in a batch', async () => {
      const layer = predictionRebalance({ mode: 'calibrated', fromLogits: false });
      await layer.adapt(tf.tensor2d(P));
      expectClose(layer.apply(tf.tensor2d([P[1]])) as tf.Tensor, EXPECTED_TAU_1.slice(3, 6));
      expect(warn).not.toHaveBeenCalled();
    });

    it('adapts from a tf.data.Dataset of batches as from the whole tensor, and disposes the elements', async () => {
      const logits = randomLogits(45, 4, 10);
      const fromTensor = predictionRebalance({ mode: 'calibrated' });
      await fromTensor.adapt(logits);
      const fromDataset = predictionRebalance({ mode: 'calibrated' });
      const batches = [logits.slice([0, 0], [20, -1]), logits.slice([20, 0], [20, -1]), logits.slice([40, 0], [5, -1])];
      const dataset = tf.data.array(batches);
      const before = tf.memory().numTensors;
      await fromDataset.adapt(dataset);
      // The mass weight (1 tensor) is the only tensor left behind.
      expect(tf.memory().numTensors).toBe(before + 1);
      expectClose(fromDataset.getWeights()[0], fromTensor.getWeights()[0], 1e-6);
    });

    it('adapts from a dataset built with tf.data.generator', async () => {
      const logits = randomLogits(12, 3, 11);
      const layer = predictionRebalance({ mode: 'calibrated' });
      await layer.adapt(
        tf.data.generator(function* () {
          for (let i = 0; i < 12; i += 5) yield logits.slice([i, 0], [Math.min(5, 12 - i), -1]);
        }),
      );
      expectClose(layer.getWeights()[0], tf.mean(tf.softmax(logits), 0), 1e-6);
    });

    it('a second adapt replaces the mass', async () => {
      const layer = predictionRebalance({ mode: 'calibrated', fromLogits: false });
      await layer.adapt(tf.tensor2d([[0.5, 0.5, 0], [0.5, 0, 0.5]]));
      expectClose(layer.getWeights()[0], [0.5, 0.25, 0.25]);
      await layer.adapt(tf.tensor2d(P));
      expectClose(layer.getWeights()[0], MEAN_MASS);
    });

    it('adapts, validates and then serves without synchronous reads (backends without dataSync: webgpu in Node)', async () => {
      const noSyncReads = () => {
        throw new Error('synchronous reads are not available');
      };
      const spies = [jest.spyOn(tf.Tensor.prototype, 'dataSync').mockImplementation(noSyncReads), jest.spyOn(tf.Tensor.prototype, 'arraySync').mockImplementation(noSyncReads)];
      try {
        const layer = predictionRebalance({ mode: 'calibrated', fromLogits: false });
        await layer.adapt(tf.tensor2d(P));
        const out = layer.apply(tf.tensor2d(P)) as tf.Tensor;
        // Invalid values are still rejected, and the probability warning still given, asynchronously.
        const other = predictionRebalance({ mode: 'calibrated' });
        await expect(other.adapt(tf.tensor2d([[Number.NaN, 1, 0]]))).rejects.toThrow(/NaN or \+Infinity logits/);
        await other.adapt(tf.tensor2d(P));
        expect(warn).toHaveBeenCalledWith(expect.stringMatching(/look like probabilities, but fromLogits is true/));
        // A layer built from classPriors serves straight away.
        const known = predictionRebalance({ classPriors: [3, 2, 1], fromLogits: false });
        const fromPriors = known.apply(tf.tensor2d(P)) as tf.Tensor;
        for (const spy of spies) spy.mockRestore();
        expectClose(out, EXPECTED_TAU_1);
        expectClose(fromPriors, EXPECTED_TAU_1);
      } finally {
        for (const spy of spies) spy.mockRestore();
      }
    });

    it('throws on call before adapt, with no identity fallback', () => {
      const layer = predictionRebalance({ mode: 'calibrated' });
      expect(() => layer.apply(tf.tensor2d(P))).toThrow(
        /^PredictionRebalance 'prediction_rebalance_\w+' \(mode 'calibrated'\): class mass must be finite and > 0 \(the layer is not adapted\); received \[0, 0, 0\]\. Call `await layer.adapt\(data\)`/,
      );
    });

    it('throws again after setWeights puts an invalid mass back', async () => {
      const layer = predictionRebalance({ mode: 'calibrated', fromLogits: false });
      await layer.adapt(tf.tensor2d(P));
      (layer.apply(tf.tensor2d(P)) as tf.Tensor).dispose();
      layer.setWeights([tf.tensor1d([0.5, 0, 0.5])]);
      expect(() => layer.apply(tf.tensor2d(P))).toThrow(/is not adapted\); received \[0\.5, 0, 0\.5\]/);
      layer.setWeights([tf.tensor1d([3, 2, 1])]); // any positive scale: only ratios matter
      expectClose(layer.apply(tf.tensor2d(P)) as tf.Tensor, EXPECTED_TAU_1);
    });

    it('rejects adapt data with an all-zero class column, naming the class', async () => {
      const layer = predictionRebalance({ mode: 'calibrated', fromLogits: false });
      await expect(layer.adapt(tf.tensor2d([[0.5, 0.5, 0], [0.2, 0.8, 0]]))).rejects.toThrow(
        /adapt\(data\) must give every class a total probability mass > 0, .*; received mass 0 over 2 rows for classes \[2\]\./,
      );
      expect(() => layer.apply(tf.tensor2d(P))).toThrow(/is not adapted/); // nothing was written
    });

    it('rejects adapt data that is empty, of the wrong rank, of the wrong kind, or invalid', async () => {
      const layer = predictionRebalance({ mode: 'calibrated' });
      await expect(layer.adapt(tf.data.array([] as tf.Tensor[]))).rejects.toThrow(/adapt\(data\) must hold at least one \[N, numClasses\] row; received 0 rows\.$/);
      await expect(layer.adapt(tf.zeros([0, 3]))).rejects.toThrow(/adapt\(data\) must hold at least one \[N, numClasses\] row; received 0 rows\.$/);
      await expect(layer.adapt(tf.zeros([4]))).rejects.toThrow(/adapt\(data\) must have rank 2, \[batch, numClasses\]; received shape \[4\] \(rank 1\)/);
      await expect(layer.adapt([[1, 2, 3]] as unknown as tf.Tensor)).rejects.toThrow(
        /adapt\(data\) must be a tf\.Tensor \[N, numClasses\] or a tf\.data\.Dataset of such tensors; received \[1,2,3\]/,
      );
      await expect(layer.adapt(tf.data.array([{ xs: tf.zeros([2, 3]) }]) as never)).rejects.toThrow(
        /adapt\(data\) element 0 must be a tf\.Tensor \[batch, numClasses\]; received an object with keys \[xs\]/,
      );
      await expect(layer.adapt(tf.tensor2d([[1, Number.NaN, 0]]))).rejects.toThrow(/NaN or \+Infinity logits/);
      const probabilities = predictionRebalance({ mode: 'calibrated', fromLogits: false });
      await expect(probabilities.adapt(tf.tensor2d([[1.5, -0.5]]))).rejects.toThrow(/must hold probabilities/);
    });

    it('rejects adapt data and inputs whose last dimension differs from the adapted mass', async () => {
      const layer = predictionRebalance({ mode: 'calibrated', fromLogits: false });
      await layer.adapt(tf.tensor2d(P));
      await expect(layer.adapt(tf.ones([2, 4]))).rejects.toThrow(
        /adapt\(data\) last dimension must equal numClasses = 3 \(the size of its class mass\); received shape \[2, 4\]/,
      );
      expect(() => layer.apply(tf.ones([2, 4]))).toThrow(
        /input last dimension must equal numClasses = 3 \(the size of its class mass\); received shape \[2, 4\]/,
      );
      const dataset = tf.data.array([tf.ones([2, 3]), tf.ones([2, 5])]);
      await expect(layer.adapt(dataset)).rejects.toThrow(/adapt\(data\) element 1 last dimension must equal numClasses = 3/);
    });

    it('rejects inputs of the wrong rank, eagerly and symbolically', () => {
      const layer = predictionRebalance({ mode: 'calibrated' });
      expect(() => layer.apply(tf.ones([2, 3, 4]))).toThrow(
        /PredictionRebalance 'prediction_rebalance_\w+' \(mode 'calibrated'\): input must have rank 2, \[batch, numClasses\]; received shape \[2, 3, 4\] \(rank 3\)/,
      );
      expect(() => layer.apply(tf.input({ shape: [3, 4] }))).toThrow(/received shape \[null, 3, 4\] \(rank 3\)/);
      expect(() => predictionRebalance({ mode: 'transductive' }).apply(tf.input({ shape: [null as unknown as number] }))).toThrow(
        /last dimension \(numClasses\) must be known/,
      );
    });

    it('leaks no tensors per call or per adapt', async () => {
      const layer = predictionRebalance({ mode: 'calibrated' });
      const logits = randomLogits(16, 4, 12);
      await layer.adapt(logits); // builds: creates the mass weight
      const batches = [logits.slice([0, 0], [8, -1]), logits.slice([8, 0], [8, -1])];
      await expectNoLeak(async () => {
        await layer.adapt(logits);
        (layer.apply(logits) as tf.Tensor).dispose();
        await layer.adapt(tf.data.array(batches)); // the dataset yields clones, which adapt disposes
      });
      const invalid = tf.fill([2, 4], Number.NaN);
      await expectNoLeak(async () => {
        await expect(layer.adapt(invalid)).rejects.toThrow();
      });
    });
  });

  describe('PredictionRebalance arguments', () => {
    it('requires a mode and names the allowed values', () => {
      expect(() => new PredictionRebalance(undefined as never)).toThrow(
        "PredictionRebalance: mode must be one of 'transductive', 'calibrated'; received undefined.",
      );
      expect(() => predictionRebalance({ mode: 'Calibrated' as never })).toThrow(/mode must be one of .*; received "Calibrated"/);
    });

    it('rejects a tau that is not a finite number > 0', () => {
      for (const tau of [0, -2, Number.NaN, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY]) {
        expect(() => predictionRebalance({ mode: 'transductive', tau })).toThrow(
          `PredictionRebalance: tau must be a finite number > 0; received ${String(tau)}.`,
        );
      }
    });

    it('rejects a fromLogits that is not a boolean', () => {
      expect(() => predictionRebalance({ mode: 'transductive', fromLogits: 1 as never })).toThrow(
        'PredictionRebalance: fromLogits must be true or false; received 1.',
      );
    });
  });

  describe('PredictionRebalance serialization', () => {
    it('getConfig -> fromConfig -> getConfig is the identity, through the class registry', () => {
      const layer = predictionRebalance({ mode: 'calibrated', tau: 1.4, fromLogits: false, name: 'rebalance_a' });
      const config = layer.getConfig();
      expect(config).toMatchObject({ mode: 'calibrated', tau: 1.4, fromLogits: false, name: 'rebalance_a' });
      const [cls, fromConfig] = tf.serialization.SerializationMap.getMap().classNameMap[PredictionRebalance.className];
      expect(cls).toBe(PredictionRebalance);
      // JSON round trip of the config, as in a saved model.
      const copy = fromConfig(cls, JSON.parse(JSON.stringify(config))) as PredictionRebalance;
      expect(copy).toBeInstanceOf(PredictionRebalance);
      expect(copy.getConfig()).toEqual(config);
    });

    async function saveAndLoad(model: tf.LayersModel, config?: tf.io.SaveConfig, strict = true): Promise<{ artifacts: tf.io.ModelArtifacts; loaded: tf.LayersModel }> {
      let saved: tf.io.ModelArtifacts | null = null;
      await model.save(
        tf.io.withSaveHandler(async (artifacts) => {
          saved = artifacts;
          return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
        }),
        config,
      );
      const a = saved as unknown as tf.io.ModelArtifacts;
      // JSON round trip, as a file or a browser store would do.
      const json = JSON.parse(
        JSON.stringify({
          modelTopology: a.modelTopology,
          weightSpecs: a.weightSpecs,
          weightData: Array.from(new Uint8Array(tf.io.CompositeArrayBuffer.join(a.weightData!))),
        }),
      );
      const artifacts: tf.io.ModelArtifacts = {
        modelTopology: json.modelTopology,
        weightSpecs: json.weightSpecs,
        weightData: new Uint8Array(json.weightData).buffer,
      };
      const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts), { strict });
      return { artifacts, loaded };
    }

    function calibratedModel(): { model: tf.LayersModel; logitsModel: tf.LayersModel; layer: PredictionRebalance } {
      const input = tf.input({ shape: [4] });
      const logits = tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.randomNormal({ seed: 13 }) }).apply(input) as tf.SymbolicTensor;
      const layer = predictionRebalance({ mode: 'calibrated', tau: 1.5 });
      const model = tf.model({ inputs: input, outputs: layer.apply(logits) as tf.SymbolicTensor });
      return { model, logitsModel: tf.model({ inputs: input, outputs: logits }), layer };
    }

    it('saves and loads a model with an adapted layer: same predictions and mass', async () => {
      const { model, logitsModel, layer } = calibratedModel();
      const calibration = tf.randomNormal([64, 4], 0, 1, 'float32', 14);
      await layer.adapt(logitsModel.predict(calibration) as tf.Tensor);
      const { artifacts, loaded } = await saveAndLoad(model);

      expect(artifacts.weightSpecs!.map((w) => w.name)).toContain(`${layer.name}/mass`);
      const loadedLayer = loaded.getLayer(layer.name) as PredictionRebalance;
      expect(loadedLayer).toBeInstanceOf(PredictionRebalance);
      expect(loadedLayer.getConfig()).toEqual(layer.getConfig());
      expectClose(loadedLayer.getWeights()[0], layer.getWeights()[0], 0);

      const x = tf.randomNormal([40, 4], 0, 1, 'float32', 15);
      expectClose(loaded.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor, 1e-6);
      // Single-sample serving after loading.
      expectClose(loaded.predict(x.slice([3, 0], [1, -1])) as tf.Tensor, (model.predict(x) as tf.Tensor).slice([3, 0], [1, -1]), 1e-6);
    });

    it('saves and loads a layer adapted before it was put in a model (weight named <layer>/mass)', async () => {
      const layer = predictionRebalance({ mode: 'calibrated', fromLogits: false });
      await layer.adapt(tf.tensor2d(P));
      const model = tf.sequential({ layers: [tf.layers.activation({ activation: 'linear', inputShape: [3] }), layer] });
      const { artifacts, loaded } = await saveAndLoad(model);
      expect(artifacts.weightSpecs!.map((w) => w.name)).toEqual([`${layer.name}/mass`]);
      expectClose(loaded.predict(tf.tensor2d(P)) as tf.Tensor, EXPECTED_TAU_1);
    });

    it('runs the docstring example: a nested base model, adapt, single-sample serving, save and load', async () => {
      const base = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4], kernelInitializer: tf.initializers.randomNormal({ seed: 18 }) })] });
      const rebalance = predictionRebalance({ mode: 'calibrated', tau: 1 });
      await rebalance.adapt(base.predict(tf.randomNormal([200, 4], 0, 1, 'float32', 19)) as tf.Tensor);
      const serving = tf.sequential({ layers: [base, rebalance] });
      const x = tf.randomNormal([6, 4], 0, 1, 'float32', 20);
      const served = serving.predict(x) as tf.Tensor;
      expectClose(tf.sum(served, 1), [1, 1, 1, 1, 1, 1]);
      expectClose(serving.predict(x.slice([2, 0], [1, -1])) as tf.Tensor, served.slice([2, 0], [1, -1]), 1e-6);
      const { loaded } = await saveAndLoad(serving);
      expectClose(loaded.predict(x) as tf.Tensor, served, 1e-6);

      const testLogits = base.predict(tf.randomNormal([1000, 4], 0, 1, 'float32', 21)) as tf.Tensor;
      const out = predictionRebalance({ mode: 'transductive' }).apply(testLogits) as tf.Tensor;
      expectClose(out, rebalancePredictions(testLogits));
    });

    it('saves and loads a transductive layer (no weights) by its config', async () => {
      const input = tf.input({ shape: [3] });
      const model = tf.model({ inputs: input, outputs: predictionRebalance({ mode: 'transductive', tau: 2, fromLogits: false }).apply(input) as tf.SymbolicTensor });
      const { loaded } = await saveAndLoad(model);
      expectClose(loaded.predict(tf.tensor2d(P)) as tf.Tensor, EXPECTED_TAU_2);
    });

    it('save with trainableOnly drops the mass: strict load fails, non-strict load gives a layer that must be adapted again', async () => {
      const { model, logitsModel, layer } = calibratedModel();
      const calibration = tf.randomNormal([64, 4], 0, 1, 'float32', 16);
      const calibrationLogits = logitsModel.predict(calibration) as tf.Tensor;
      await layer.adapt(calibrationLogits);

      await expect(saveAndLoad(model, { trainableOnly: true })).rejects.toThrow(/1 of 3 weights are not set: .*\/mass/);

      const { artifacts, loaded } = await saveAndLoad(model, { trainableOnly: true }, false);
      expect(artifacts.weightSpecs!.map((w) => w.name).some((name) => name.endsWith('/mass'))).toBe(false);
      const x = tf.randomNormal([5, 4], 0, 1, 'float32', 17);
      expect(() => loaded.predict(x)).toThrow(/is not adapted\); .*save\(\.\.\., \{trainableOnly: true\}\) does not save the mass/);

      const loadedLayer = loaded.getLayer(layer.name) as PredictionRebalance;
      await loadedLayer.adapt(calibrationLogits);
      expectClose(loaded.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor, 1e-6);
    });
  });
});
