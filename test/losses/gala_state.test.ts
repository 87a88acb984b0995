import * as fs from 'node:fs';
import * as path from 'node:path';

import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

import { GALA_STATE_FORMAT, type GalaState, galaLoss, galaLossOf } from '../../src/losses/gala_loss';
import { crossEntropyLoss } from '../../src/losses/cross_entropy_loss';
import { expectClose } from '../helpers';
import { BACKENDS } from './all_losses';
import { settle } from './baseline_reference';

/*
 * GalaLoss state: the reference variant's double-summed phi and the 0.1.0 state format
 * (issue 11, item 2), setState's inputs and errors (item 6), getStateAsync (issue 10, item 3),
 * classWeight and the state, and galaLossOf (item 11).
 */

interface Fixture {
  config: { numClasses: number; lambda1: number; variant: 'reference' };
  batches: Array<{ labels: number[]; logits: number[][] }>;
  state: GalaState;
}
/** A reference-variant state as 0.1.0 wrote it, and the batches that made it (fixtures/README.md). */
const V010: Fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures/gala_reference_state_v0.1.0.json'), 'utf8'));

/** One training step as fit runs it (mean reduction, under a tape). */
function trainStep(loss: (y: tf.Tensor, z: tf.Tensor) => tf.Tensor, labels: number[], logits: number[][]): void {
  tf.tidy(() => {
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), logits[0].length);
    tf.grad((z: tf.Tensor) => tf.mean(loss(y, z)))(tf.tensor2d(logits)).dispose();
  });
}

describe.each(BACKENDS)('on the %s backend', (backend) => {
  beforeAll(async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    await tf.ready();
    expect(tf.getBackend()).toBe(backend);
  });

  describe("the 'reference' variant accumulates as the authors' collect_grad", () => {
    it('sums phi twice, like theta: phi(T) = sum of the running sums of steps 1..T, which equals theta', () => {
      const loss = galaLoss({ numClasses: 3, variant: 'reference' });
      const runningAfter: number[][] = [];
      for (const batch of V010.batches) {
        trainStep(loss, batch.labels, batch.logits);
        runningAfter.push(loss.getState().negativeRunning!);
      }
      const state = loss.getState();
      const sumOfRunning = [0, 1, 2].map((j) => runningAfter.reduce((total, running) => total + running[j], 0));
      expectClose(state.negative, sumOfRunning, 1e-5);
      expectClose(state.negative, state.positive, 1e-5); // sum_{j != k} p_j = 1 - p_k per sample
      expectClose(state.negativeRunning!, state.positiveRunning!, 1e-5);
      expect(state.steps).toBe(3);
      loss.dispose();
    });

    it('loads a state written by 0.1.0 (no format): phi is rebuilt, and training goes on as if this version had accumulated it', () => {
      const fresh = galaLoss(V010.config);
      for (const batch of V010.batches) trainStep(fresh, batch.labels, batch.logits);
      const expected = fresh.getState();

      const resumed = galaLoss(V010.config);
      expect(V010.state.format).toBeUndefined();
      resumed.setState(V010.state);
      const loaded = resumed.getState();
      expect(loaded.format).toBe(GALA_STATE_FORMAT);
      expectClose(loaded.positive, V010.state.positive, 1e-6);
      expectClose(loaded.positiveRunning!, V010.state.positiveRunning!, 1e-6);
      expectClose(loaded.negativeRunning!, V010.state.negative, 1e-6); // 0.1.0's single sum
      expectClose(loaded.negative, expected.negative, 1e-5);
      expect(loaded.steps).toBe(3);
      expect(loaded.invalidRows).toBe(0);

      // One more step from both gives the same state.
      const next = { labels: [0, 2, 1, 1], logits: [[0, 1, 2], [1, 0, -1], [0.5, 0.5, 0], [2, -2, 0]] };
      trainStep(fresh, next.labels, next.logits);
      trainStep(resumed, next.labels, next.logits);
      const a = fresh.getState();
      const b = resumed.getState();
      for (const key of ['positive', 'negative', 'positiveRunning', 'negativeRunning'] as const) expectClose(b[key]!, a[key]!, 1e-5);
      fresh.dispose();
      resumed.dispose();
    });

    it('round-trips its own state exactly, running sums included', () => {
      const loss = galaLoss(V010.config);
      for (const batch of V010.batches) trainStep(loss, batch.labels, batch.logits);
      const state = loss.getState();
      const copy = galaLoss(V010.config);
      copy.setState(JSON.parse(JSON.stringify(state)));
      expect(copy.getState()).toEqual(state);
      loss.dispose();
      copy.dispose();
    });
  });

  describe('setState', () => {
    const C = 3;
    const paperState = { format: 2, positive: [1, 2, 3], negative: [3, 2, 1], steps: 4, invalidRows: 2 };

    it('accepts typed arrays, as tensor.dataSync() returns them', () => {
      const loss = galaLoss({ numClasses: C, variant: 'reference' });
      loss.setState({
        format: 2,
        positive: Float32Array.from([1, 2, 3]) as unknown as number[],
        negative: Float64Array.from([3, 2, 1]) as unknown as number[],
        steps: 4,
        positiveRunning: Int32Array.from([1, 1, 1]) as unknown as number[],
        negativeRunning: Float32Array.from([0.5, 0.5, 0.5]) as unknown as number[],
      });
      expect(loss.getState()).toEqual({
        format: 2,
        positive: [1, 2, 3],
        negative: [3, 2, 1],
        steps: 4,
        invalidRows: 0,
        positiveRunning: [1, 1, 1],
        negativeRunning: [0.5, 0.5, 0.5],
      });
      loss.dispose();
    });

    it.each([
      [{ ...paperState, positive: Float32Array.from([1, NaN, 3]) }, "state.positive must be an array or typed array of 3 finite numbers >= 0; received a Float32Array with entry 1 = NaN."],
      [{ ...paperState, negative: new Float32Array(4) }, 'state.negative must be an array or typed array of 3 finite numbers >= 0; received a Float32Array of length 4.'],
      [{ ...paperState, negative: [1, '2', 3] }, 'state.negative must be an array or typed array of 3 finite numbers >= 0; received an array with entry 1 = "2".'],
      [{ ...paperState, positive: 'abc' }, 'state.positive must be an array or typed array of 3 finite numbers >= 0; received the string "abc".'],
      [{ ...paperState, positive: { 0: 1, 1: 2, 2: 3 } }, 'state.positive must be an array or typed array of 3 finite numbers >= 0; received an object with keys {0, 1, 2}.'],
      [{ ...paperState, format: 3 }, 'state.format must be 2 (this version) or absent (a state written by 0.1.0); received number 3.'],
      [{ ...paperState, invalidRows: -1 }, 'state.invalidRows must be an integer >= 0; received -1.'],
      [[1, 2, 3], 'state must be an object {format, positive, negative, steps, ...} as getState() returns; received an array of length 3.'],
      [{ ...paperState, positiveRunning: [0, 0, 0] }, "state.positiveRunning must be absent for variant 'paper'"],
    ])('rejects %j, saying what it received, and keeps the current state', (bad, message) => {
      const loss = galaLoss({ numClasses: C });
      loss.setState(paperState);
      expect(() => loss.setState(bad as never)).toThrow(`GalaLoss.setState: ${message}`);
      expect(loss.getState()).toEqual(paperState);
      loss.dispose();
    });

    it("requires the running sums of a 'reference' state instead of zeroing them", () => {
      const loss = galaLoss({ numClasses: C, variant: 'reference' });
      const withoutFormat = { positive: [1, 2, 3], negative: [1, 2, 3], steps: 1 };
      expect(() => loss.setState(withoutFormat)).toThrow(
        "GalaLoss.setState: state.positiveRunning (required for variant 'reference') must be an array or typed array of 3 finite numbers >= 0; received undefined.",
      );
      expect(() => loss.setState({ ...withoutFormat, format: 2, positiveRunning: [1, 1, 1] })).toThrow(
        "GalaLoss.setState: state.negativeRunning (required for variant 'reference') must be an array or typed array of 3 finite numbers >= 0; received undefined.",
      );
      expect(() => loss.setState({ ...withoutFormat, positiveRunning: [1, 1, 1], negativeRunning: [1, 1, 1] })).toThrow(
        /^GalaLoss.setState: state.negativeRunning must be absent in a state without format \(read as written by 0.1.0/,
      );
      expect(loss.getState().steps).toBe(0);
      loss.dispose();
    });
  });

  describe('getStateAsync', () => {
    it.each(['paper', 'reference'] as const)('returns what getState returns (%s)', async (variant) => {
      const loss = galaLoss({ numClasses: 3, variant });
      for (const batch of V010.batches) trainStep(loss, batch.labels, batch.logits);
      trainStep(loss, [0, 5, 1, 2], V010.batches[0].logits); // one invalid row
      await settle(); // the loss's own scheduled read
      const before = tf.memory().numTensors;
      const state = await loss.getStateAsync();
      expect(tf.memory().numTensors).toBe(before);
      expect(state).toEqual(loss.getState());
      expect(state.invalidRows).toBe(1);
      loss.dispose();
    });

    it('throws once the loss is disposed', async () => {
      const loss = galaLoss({ numClasses: 3 });
      loss.dispose();
      await expect(loss.getStateAsync()).rejects.toThrow(/^GalaLoss: this loss was disposed/);
    });
  });

  it('classWeight scales the loss fit reports, not the accumulated state (documented)', async () => {
    const xs = tf.tensor2d([[1, 0], [0, 1], [1, 1], [-1, 0]]);
    const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 0], 'int32'), 3);
    const run = async (classWeight?: Record<number, number>) => {
      const loss = galaLoss({ numClasses: 3 });
      const model = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [2], kernelInitializer: 'zeros' })] });
      model.compile({ optimizer: tf.train.sgd(0), loss }); // lr 0: the same logits in every run
      const history = await model.fit(xs, ys, { epochs: 1, batchSize: 4, classWeight, verbose: 0 });
      const state = loss.getState();
      loss.dispose();
      return { reported: history.history.loss[0] as number, state };
    };
    const plain = await run();
    const weighted = await run({ 0: 1, 1: 3, 2: 5 });
    // All logits 0: every per-sample loss is ln 3, and the batch mean of w_y ln 3 is 10/4 ln 3.
    expectClose(plain.reported, Math.log(3), 1e-5);
    expectClose(weighted.reported, (10 / 4) * Math.log(3), 1e-5);
    expect(weighted.state).toEqual(plain.state);
  });

  describe('galaLossOf', () => {
    it('returns the GalaLoss a model was compiled with, typed (a loaded model works alike)', () => {
      const loss = galaLoss({ numClasses: 3 });
      const model = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [2] })] });
      model.compile({ optimizer: 'sgd', loss });
      const found = galaLossOf(model);
      expect(found).toBe(loss);
      expect(found.getState().steps).toBe(0); // type-checks: no cast needed
      loss.dispose();
    });

    it('finds the only GalaLoss among per-output losses', () => {
      const loss = galaLoss({ numClasses: 3 });
      expect(galaLossOf({ loss: ['meanSquaredError', loss] })).toBe(loss);
      expect(galaLossOf({ loss: { logits: loss, other: 'meanSquaredError' } })).toBe(loss);
      loss.dispose();
    });

    it('says what the model has when it has no GalaLoss', () => {
      const other = crossEntropyLoss();
      expect(() => galaLossOf({ loss: other })).toThrow(
        'galaLossOf: model must be compiled with one GalaLoss (model.compile({loss: galaLoss(...)}), or a model loaded with one); received loss function cross_entropy_loss.',
      );
      expect(() => galaLossOf({ loss: 'categoricalCrossentropy' })).toThrow(/received loss "categoricalCrossentropy"\.$/);
      expect(() => galaLossOf({})).toThrow(/received loss undefined\.$/);
    });
  });
});
