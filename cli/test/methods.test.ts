import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

import { loadFashionMnistLT } from '../src/data/fashion_mnist';
import type { LongTailedDataset } from '../src/data/splits';
import { rebalancePredictions, effectiveNumberWeights, type LDAMLoss } from 'tfjs-gala';
import {
  benchmarkMethods,
  CROSS_ENTROPY,
  DEMO_METHODS,
  ldamDrw,
  rebalancingOf,
  type MethodContext,
  type TrainingMethod,
} from '../src/methods';
import { trainModel, type TrainOptions } from '../src/trainer';
import { COMMITTED_SUBSET, expectClose } from './helpers';

describe('benchmark methods', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('lists the methods in table order, each with re-balancing, cross-entropy also with post-hoc LA', () => {
    const methods = benchmarkMethods();
    expect(methods.map((m) => m.name)).toEqual(['ce', 'focal', 'la', 'bs', 'ldamdrw', 'cw', 'gala', 'galaref']);
    expect(methods[0].postHoc!.map((p) => p.name)).toEqual(['ce+pr', 'ce+la']);
    for (const method of methods.slice(1)) expect(method.postHoc!.map((p) => p.name)).toEqual([`${method.name}+pr`]);
    expect(DEMO_METHODS.flatMap((m) => [m.name, ...(m.postHoc ?? []).map((p) => p.name)])).toEqual(['ce', 'gala', 'gala+pr']);
  });

  it('cross-entropy is the package\'s CrossEntropyLoss', () => {
    const loss = CROSS_ENTROPY.createLoss({ numClasses: 3, classCounts: [5, 3, 1], epochs: 1 }) as unknown as { getClassName(): string };
    expect(loss.getClassName()).toMatch(/(^|\.)CrossEntropyLoss$/);
  });

  it('re-balancing rows are rebalancePredictions with tau 1 over the whole split', () => {
    const logits = tf.tensor2d([[2, 0, -1], [1.5, 0.2, 0], [3, -1, 0.5], [0.1, 0.3, 0.2]]);
    const context: MethodContext = { numClasses: 3, classCounts: [50, 10, 2], epochs: 1 };
    const rebalanced = rebalancingOf(CROSS_ENTROPY).transform(logits, true, context);
    const expected = rebalancePredictions(logits, { tau: 1 });
    expectClose(rebalanced, expected);
    tf.dispose([logits, rebalanced, expected]);
  });
});

describe('training methods through fitDataset', () => {
  let data: LongTailedDataset;
  let context: MethodContext;
  beforeAll(async () => {
    await tf.setBackend('wasm');
    data = await loadFashionMnistLT({ dir: COMMITTED_SUBSET, imbalanceFactor: 10, nMax: 20, seed: 1 });
    context = { numClasses: 10, classCounts: data.classCounts, epochs: 5 };
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });
  const options: TrainOptions = { model: 'mlp', epochs: 5, batchSize: 32, learningRate: 1e-3, seed: 1, initialization: 'glorot' };

  it('LDAM-DRW trains unweighted, then with effective-number weights from epoch floor(0.8 * epochs)', async () => {
    const seen: (number[] | null)[] = [];
    const method = ldamDrw({ scale: 1 });
    const watcher = (loss: LDAMLoss) =>
      new (class extends tf.Callback {
        override async onEpochEnd(): Promise<void> {
          seen.push(loss.getClassWeights());
        }
      })();
    const trained = await trainModel(
      { ...method, createCallbacks: (loss, c) => [...method.createCallbacks!(loss, c), watcher(loss as LDAMLoss)] },
      data.train,
      context,
      options,
    );
    trained.dispose();
    const weights = effectiveNumberWeights(data.classCounts, 0.9999);
    expect(seen.slice(0, 4)).toEqual([null, null, null, null]);
    expectClose(seen[4]!, weights, 1e-6);
  });

  it("class-weighted CE hands its weights to tfjs's classWeight: weights of 2 double the loss", async () => {
    const weighted = (w: number): TrainingMethod => ({ ...CROSS_ENTROPY, classWeights: () => new Array<number>(10).fill(w) });
    const one = await trainModel(weighted(1), data.train, context, { ...options, epochs: 1 });
    const two = await trainModel(weighted(2), data.train, context, { ...options, epochs: 1 });
    // Adam is invariant to a constant gradient factor (up to epsilon): same path, twice the loss.
    expect(two.finalLoss / one.finalLoss).toBeCloseTo(2, 4);
    one.dispose();
    two.dispose();
  });

  it('leaves no tensor behind and reports the epoch time and last-epoch loss', async () => {
    const before = tf.memory().numTensors;
    for (const method of benchmarkMethods()) {
      const trained = await trainModel(method, data.train, context, { ...options, epochs: 1 });
      expect(trained.secondsPerEpoch).toBeGreaterThan(0);
      expect(Number.isFinite(trained.finalLoss)).toBe(true);
      trained.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
