/**
 * enableWasmTraining: the wasm kernels it adds must give the cpu backend's results (float
 * tolerance), free every intermediate, train models to the same weights as cpu, and be undone
 * exactly by disableWasmTraining. Both backends live in this process; every comparison builds
 * its inputs from plain arrays on each backend.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

import { disableWasmTraining, enableWasmTraining, isWasmTrainingEnabled, WASM_TRAINING_KERNELS } from '../../src/backends/wasm_training';
import { isWasmTransposedMatMulFixInstalled, setWasmTransposedMatMulFix } from '../../src/backends/wasm_matmul';

// ---------------------------------------------------------------------------------------------
// Helpers

/** Deterministic PRNG (mulberry32), so that a failing random case can be rerun. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const randInt = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const randomArray = (r: () => number, n: number) => Float32Array.from({ length: n }, () => r() * 2 - 1);
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Largest absolute difference seen by {@link expectClose}, reported once at the end. */
let maxAbsDiffSeen = 0;
let comparisons = 0;

/** |a - e| <= tol * max(1, |e|) elementwise, same length, no NaN. Records the largest |a - e|. */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-4, what = ''): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= tol * Math.max(1, Math.abs(expected[i])))) {
      throw new Error(`${what} index ${i}: got ${actual[i]}, expected ${expected[i]} (tolerance ${tol})`);
    }
    worst = Math.max(worst, d);
  }
  maxAbsDiffSeen = Math.max(maxAbsDiffSeen, worst);
  comparisons++;
}

interface Result {
  shape: number[];
  values: Float32Array | Int32Array | Uint8Array;
  dtype: string;
}

/** Runs `fn` on `backend` inside tidy and returns the values of its tensor(s). */
async function on(backend: string, fn: () => tf.Tensor | tf.Tensor[]): Promise<Result[]> {
  expect(await tf.setBackend(backend)).toBe(true);
  expect(tf.getBackend()).toBe(backend);
  const out = tf.tidy(fn);
  const list = Array.isArray(out) ? out : [out];
  const results = list.map((t) => ({ shape: t.shape.slice(), values: t.dataSync() as Float32Array, dtype: t.dtype }));
  tf.dispose(list);
  return results;
}

/** Runs `fn` on cpu and on wasm and expects the same shapes and values. */
async function expectSameOnBoth(fn: () => tf.Tensor | tf.Tensor[], tol = 1e-4, what = ''): Promise<void> {
  const cpu = await on('cpu', fn);
  const wasm = await on('wasm', fn);
  expect(wasm.length).toBe(cpu.length);
  cpu.forEach((c, i) => {
    expect(wasm[i].shape).toEqual(c.shape);
    expectClose(wasm[i].values, c.values, tol, `${what} output ${i}`);
  });
}

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

/** Output size of a convolution along one axis, as tfjs computes it. */
function outSize(inSize: number, k: number, stride: number, dilation: number, pad: Pad, axis: 1 | 2): number {
  const eff = (k - 1) * dilation + 1;
  if (pad === 'same') return Math.ceil(inSize / stride);
  if (pad === 'valid') return Math.ceil((inSize - eff + 1) / stride);
  if (typeof pad === 'number') return Math.trunc((inSize - eff + 2 * pad) / stride + 1);
  return Math.trunc((inSize - eff + pad[axis][0] + pad[axis][1]) / stride + 1);
}

/**
 * Reference depthwise filter and input gradients by their definition (plain loops), for
 * dilations > 1 where the cpu kernels cannot serve: tfjs 4.22's cpu depthwise backprop kernels
 * ignore the dilation (tfjs's depthwise gradient refuses dilation > 1 before reaching them).
 */
function naiveDepthwiseGrads(
  x: Float32Array, xShape: number[], w: Float32Array, wShape: number[], dy: Float32Array, dyShape: number[],
  s: [number, number], d: [number, number], top: number, left: number,
): { dW: Float64Array; dX: Float64Array } {
  const [B, H, W, C] = xShape;
  const [KH, KW, , M] = wShape;
  const [, OH, OW] = dyShape;
  const dW = new Float64Array(size(wShape));
  const dX = new Float64Array(size(xShape));
  for (let b = 0; b < B; b++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++)
        for (let kh = 0; kh < KH; kh++)
          for (let kw = 0; kw < KW; kw++) {
            const i = oh * s[0] + kh * d[0] - top;
            const j = ow * s[1] + kw * d[1] - left;
            if (i < 0 || i >= H || j < 0 || j >= W) continue;
            for (let c = 0; c < C; c++)
              for (let q = 0; q < M; q++) {
                const g = dy[((b * OH + oh) * OW + ow) * C * M + c * M + q];
                dW[((kh * KW + kw) * C + c) * M + q] += x[((b * H + i) * W + j) * C + c] * g;
                dX[((b * H + i) * W + j) * C + c] += w[((kh * KW + kw) * C + c) * M + q] * g;
              }
          }
  return { dW, dX };
}

/** Same-architecture models on both backends from the same initial weights; returns final weights. */
async function trainOn(
  backend: string,
  build: () => tf.LayersModel,
  initial: Float32Array[] | null,
  x: { shape: number[]; values: Float32Array | Int32Array; dtype: 'float32' | 'int32' },
  y: { shape: number[]; values: Float32Array },
  steps: number,
): Promise<{ initial: Float32Array[]; final: Float32Array[]; losses: number[] }> {
  expect(await tf.setBackend(backend)).toBe(true);
  const model = build();
  if (initial) {
    const values = model.getWeights().map((w, i) => tf.tensor(initial[i], w.shape));
    model.setWeights(values);
    tf.dispose(values);
  }
  const start = model.getWeights().map((w) => w.dataSync() as Float32Array);
  model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
  const xs = tf.tensor(x.values, x.shape, x.dtype);
  const ys = tf.tensor(y.values, y.shape);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) losses.push((await model.trainOnBatch(xs, ys)) as number);
  const final = model.getWeights().map((w) => w.dataSync() as Float32Array);
  tf.dispose([xs, ys]);
  model.dispose();
  return { initial: start, final, losses };
}

// ---------------------------------------------------------------------------------------------

describe('enableWasmTraining', () => {
  afterAll(async () => {
    disableWasmTraining();
    setWasmTransposedMatMulFix(false);
    await tf.setBackend('cpu');
    // One line for the record: how close wasm came to cpu over all comparisons.
    console.log(`wasm_training: ${comparisons} comparisons with cpu / references, max abs diff ${maxAbsDiffSeen.toExponential(2)}`);
  });

  describe('set-up', () => {
    it('works when called before the wasm backend starts (stock setup functions kept)', async () => {
      // Nothing has started the wasm backend in this test file yet.
      expect(tf.engine().registry.wasm).toBeUndefined();
      enableWasmTraining();
      expect(isWasmTrainingEnabled()).toBe(true);
      expect(isWasmTransposedMatMulFixInstalled()).toBe(true);
      expect(await tf.setBackend('wasm')).toBe(true);
      expect(tf.getBackend()).toBe('wasm');
      // The wrapped BatchMatMul must reach a set-up stock kernel; the new kernels must run.
      const a = [1, 2, 3, 4, 5, 6];
      const b = [1, 0, -1, 2, 0.5, 3];
      const wasm = await on('wasm', () => [
        tf.matMul(tf.tensor2d(a, [3, 2]), tf.tensor2d(b, [3, 2]), true, false),
        tf.grad((w: tf.Tensor) => tf.sum(tf.conv2d(tf.ones([1, 3, 3, 1]) as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid')))(tf.ones([2, 2, 1, 1])),
      ]);
      // x^T y by hand: [[1,3,5],[2,4,6]] x [[1,0],[-1,2],[0.5,3]].
      expectClose(wasm[0].values, [1 - 3 + 2.5, 0 + 6 + 15, 2 - 4 + 3, 0 + 8 + 18], 1e-6, 'matMul');
      // d/dw sum(conv(ones 3x3, w 2x2)) = 4 for every tap (each tap sees 4 pixels of 1).
      expectClose(wasm[1].values, [4, 4, 4, 4], 1e-6, 'conv filter grad');
      disableWasmTraining();
      // The stock Conv2DBackpropInput was replaced while the backend started: its setup must have
      // run all the same. d/dx sum(conv(x, ones 2x2)) on 3x3 = [[1,2,1],[2,4,2],[1,2,1]].
      const [dx] = await on('wasm', () =>
        tf.grad((x: tf.Tensor) => tf.sum(tf.conv2d(x as tf.Tensor4D, tf.ones([2, 2, 1, 1]) as tf.Tensor4D, 1, 'valid')))(tf.ones([1, 3, 3, 1])),
      );
      expectClose(dx.values, [1, 2, 1, 2, 4, 2, 1, 2, 1], 1e-6, 'stock conv input grad');
    });

    it('says what to import when the wasm backend is not loaded', () => {
      const wasmKernels = tf.getKernelsForBackend('wasm');
      wasmKernels.forEach((k) => tf.unregisterKernel(k.kernelName, 'wasm'));
      try {
        expect(() => enableWasmTraining()).toThrow(
          "enableWasmTraining: the wasm backend must be loaded (import '@tensorflow/tfjs-backend-wasm' before calling enableWasmTraining); received no kernel registered for backend wasm.",
        );
        expect(isWasmTrainingEnabled()).toBe(false);
      } finally {
        wasmKernels.forEach((k) => tf.registerKernel(k));
      }
    });

    it('rejects bad options with the project error format', () => {
      expect(() => enableWasmTraining(null as never)).toThrow(/^enableWasmTraining: options must be an object .*; received null\.$/);
      expect(() => enableWasmTraining({ transposedMatMulFix: 1 } as never)).toThrow(
        'enableWasmTraining: options.transposedMatMulFix must be true or false; received 1.',
      );
      expect(() => enableWasmTraining({ fastConv2DBackpropInput: 'yes' } as never)).toThrow(
        "enableWasmTraining: options.fastConv2DBackpropInput must be true or false; received 'yes'.",
      );
      expect(() => enableWasmTraining({ fast: true } as never)).toThrow(
        /options must be an object with only the keys 'transposedMatMulFix', 'fastConv2DBackpropInput'; received the key 'fast'/,
      );
      expect(isWasmTrainingEnabled()).toBe(false);
    });

    it('is idempotent and disable restores exactly the previous kernel registrations', () => {
      const snapshot = (backend: string) => new Map(tf.getKernelsForBackend(backend).map((k) => [k.kernelName, k]));
      const wasmBefore = snapshot('wasm');
      const others = ['cpu', 'webgl'];
      const othersBefore = others.map(snapshot);
      const stockMatMul = tf.getKernel('BatchMatMul', 'wasm');
      for (const name of WASM_TRAINING_KERNELS) expect(wasmBefore.has(name)).toBe(false);

      enableWasmTraining();
      const wasmOn = snapshot('wasm');
      enableWasmTraining();
      expect(snapshot('wasm')).toEqual(wasmOn);
      for (const name of WASM_TRAINING_KERNELS) expect(wasmOn.has(name)).toBe(true);
      expect(wasmOn.size).toBe(wasmBefore.size + WASM_TRAINING_KERNELS.length);
      expect(tf.getKernel('BatchMatMul', 'wasm')).not.toBe(stockMatMul);
      expect(tf.getKernel('Conv2DBackpropInput', 'wasm')).not.toBe(wasmBefore.get('Conv2DBackpropInput'));
      // Nothing on other backends.
      others.forEach((b, i) => expect(snapshot(b)).toEqual(othersBefore[i]));

      disableWasmTraining();
      disableWasmTraining();
      expect(isWasmTrainingEnabled()).toBe(false);
      const wasmAfter = snapshot('wasm');
      expect([...wasmAfter.keys()].sort()).toEqual([...wasmBefore.keys()].sort());
      for (const [name, config] of wasmBefore) expect(wasmAfter.get(name)).toBe(config);
      others.forEach((b, i) => expect(snapshot(b)).toEqual(othersBefore[i]));
    });

    it('leaves a matMul fix installed before it, and honours the options set to false', () => {
      const stock = tf.getKernel('BatchMatMul', 'wasm');
      const stockConvInput = tf.getKernel('Conv2DBackpropInput', 'wasm');
      setWasmTransposedMatMulFix(true);
      const fixed = tf.getKernel('BatchMatMul', 'wasm');
      enableWasmTraining();
      expect(tf.getKernel('BatchMatMul', 'wasm')).toBe(fixed);
      disableWasmTraining();
      expect(tf.getKernel('BatchMatMul', 'wasm')).toBe(fixed);
      setWasmTransposedMatMulFix(false);
      expect(tf.getKernel('BatchMatMul', 'wasm')).toBe(stock);

      enableWasmTraining({ transposedMatMulFix: false, fastConv2DBackpropInput: false });
      expect(tf.getKernel('BatchMatMul', 'wasm')).toBe(stock);
      expect(tf.getKernel('Conv2DBackpropInput', 'wasm')).toBe(stockConvInput);
      expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
      enableWasmTraining(); // a second call turns the speed-ups on
      expect(isWasmTransposedMatMulFixInstalled()).toBe(true);
      expect(tf.getKernel('Conv2DBackpropInput', 'wasm')).not.toBe(stockConvInput);
      enableWasmTraining({ fastConv2DBackpropInput: false }); // and off
      expect(tf.getKernel('Conv2DBackpropInput', 'wasm')).toBe(stockConvInput);
      disableWasmTraining();
      expect(tf.getKernel('BatchMatMul', 'wasm')).toBe(stock);
      expect(tf.getKernel('Conv2DBackpropInput', 'wasm')).toBe(stockConvInput);
      expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined();
    });

    it('without it, the wasm backend cannot train a conv layer (the bug it fixes)', async () => {
      await tf.setBackend('wasm');
      const x = tf.ones([1, 4, 4, 1]);
      const w = tf.ones([3, 3, 1, 1]);
      expect(() => tf.grad((f: tf.Tensor) => tf.sum(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same')))(w)).toThrow(/Conv2DBackpropFilter/);
      tf.dispose([x, w]);
    });
  });

  describe('kernels, against the cpu backend', () => {
    beforeAll(() => enableWasmTraining());
    afterAll(() => disableWasmTraining());

    const r = rng(20260);
    const convCases: [string, number, 'same' | 'valid'][] = [];
    for (const stride of [1, 2]) for (const pad of ['same', 'valid'] as const) for (let k = 0; k < 3; k++) convCases.push([`strides ${stride}, ${pad} #${k}`, stride, pad]);

    it.each(convCases)('conv2d: tf.grad wrt input and filter (NHWC, %s)', async (_, stride, pad) => {
      const b = randInt(r, 1, 3), h = randInt(r, 4, 9), w = randInt(r, 4, 9), ci = randInt(r, 1, 4), co = randInt(r, 1, 5);
      const kh = randInt(r, 1, 3), kw = randInt(r, 1, 3);
      const oh = outSize(h, kh, stride, 1, pad, 1), ow = outSize(w, kw, stride, 1, pad, 2);
      const xv = randomArray(r, b * h * w * ci), fv = randomArray(r, kh * kw * ci * co), gv = randomArray(r, b * oh * ow * co);
      await expectSameOnBoth(() => {
        const g = tf.tensor4d(gv, [b, oh, ow, co]);
        const f = (x: tf.Tensor, filt: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, filt as tf.Tensor4D, stride, pad), g));
        return tf.grads(f)([tf.tensor4d(xv, [b, h, w, ci]), tf.tensor4d(fv, [kh, kw, ci, co])]);
      }, 1e-4, `conv2d ${[b, h, w, ci, co, kh, kw]}`);
    });

    const rawCases: [string, number[], number[], [number, number], Pad, 'floor' | 'round' | 'ceil' | undefined, 'NHWC' | 'NCHW'][] = [
      ['numeric pad 1, stride 2, ceil', [2, 7, 8, 3], [3, 3, 3, 4], [2, 2], 1, 'ceil', 'NHWC'],
      ['numeric pad 2, strides [3, 1], round', [1, 9, 6, 2], [3, 2, 2, 3], [3, 1], 2, 'round', 'NHWC'],
      ['explicit asymmetric pad, strides [2, 3]', [2, 8, 9, 3], [2, 3, 3, 4], [2, 3], [[0, 0], [1, 2], [0, 3], [0, 0]], undefined, 'NHWC'],
      ['explicit pad larger than the filter', [1, 4, 5, 2], [2, 2, 2, 2], [1, 2], [[0, 0], [3, 0], [0, 4], [0, 0]], undefined, 'NHWC'],
      ['valid, rows the conv never reads (crop)', [2, 8, 9, 3], [3, 3, 3, 2], [3, 2], 'valid', undefined, 'NHWC'],
      ['NCHW, same, stride 2', [2, 3, 7, 6], [3, 3, 3, 4], [2, 2], 'same', undefined, 'NCHW'],
      ['NCHW, explicit pad', [1, 2, 6, 7], [2, 3, 2, 3], [1, 2], [[0, 0], [0, 0], [2, 1], [1, 0]], undefined, 'NCHW'],
    ];
    it.each(rawCases)('Conv2DBackpropFilter run directly: %s', async (_, xShape, filterShape, strides, pad, dimRoundingMode, dataFormat) => {
      const xv = randomArray(r, size(xShape));
      // The output-gradient shape comes from the forward conv on cpu (NCHW conv runs there).
      const [{ shape: dyShape }] = await on('cpu', () =>
        tf.conv2d(tf.tensor4d(xv, xShape as never), tf.zeros(filterShape as [number, number, number, number]) as tf.Tensor4D, strides, pad as never, dataFormat, 1, dimRoundingMode),
      );
      const gv = randomArray(r, size(dyShape));
      await expectSameOnBoth(
        () =>
          tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.tensor(xv, xShape), dy: tf.tensor(gv, dyShape) }, {
            strides, pad, dataFormat, dimRoundingMode, filterShape,
          } as never) as tf.Tensor,
        1e-4,
      );
    });

    it.each(rawCases)('Conv2DBackpropInput (the faster replacement) run directly: %s', async (_, xShape, filterShape, strides, pad, dimRoundingMode, dataFormat) => {
      const fv = randomArray(r, size(filterShape));
      const [{ shape: dyShape }] = await on('cpu', () =>
        tf.conv2d(tf.zeros(xShape as [number, number, number, number]) as tf.Tensor4D, tf.tensor4d(fv, filterShape as never), strides, pad as never, dataFormat, 1, dimRoundingMode),
      );
      const gv = randomArray(r, size(dyShape));
      await expectSameOnBoth(
        () =>
          tf.engine().runKernel('Conv2DBackpropInput', { dy: tf.tensor(gv, dyShape), filter: tf.tensor(fv, filterShape) }, {
            strides, pad, dataFormat, dimRoundingMode, inputShape: xShape,
          } as never) as tf.Tensor,
        1e-4,
      );
    });

    const dwCases: [string, number, number, 'same' | 'valid'][] = [];
    for (const m of [1, 2]) for (const stride of [1, 2]) for (const pad of ['same', 'valid'] as const) dwCases.push([`multiplier ${m}, strides ${stride}, ${pad}`, m, stride, pad]);

    it.each(dwCases)('depthwiseConv2d: tf.grad wrt input and filter (%s)', async (_, m, stride, pad) => {
      const b = randInt(r, 1, 3), h = randInt(r, 4, 9), w = randInt(r, 4, 9), c = randInt(r, 1, 4), kh = randInt(r, 1, 3), kw = randInt(r, 2, 3);
      const oh = outSize(h, kh, stride, 1, pad, 1), ow = outSize(w, kw, stride, 1, pad, 2);
      const xv = randomArray(r, b * h * w * c), fv = randomArray(r, kh * kw * c * m), gv = randomArray(r, b * oh * ow * c * m);
      await expectSameOnBoth(() => {
        const g = tf.tensor4d(gv, [b, oh, ow, c * m]);
        const f = (x: tf.Tensor, filt: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(x as tf.Tensor4D, filt as tf.Tensor4D, stride, pad), g));
        return tf.grads(f)([tf.tensor4d(xv, [b, h, w, c]), tf.tensor4d(fv, [kh, kw, c, m])]);
      }, 1e-4, `depthwise ${[b, h, w, c, m, kh, kw]}`);
    });

    it('separableConv2d trains its depthwise and pointwise filters on wasm as on cpu', async () => {
      const xv = randomArray(r, 2 * 7 * 6 * 3), dv = randomArray(r, 3 * 3 * 3 * 2), pv = randomArray(r, 6 * 4);
      await expectSameOnBoth(() => {
        const f = (x: tf.Tensor, d: tf.Tensor, p: tf.Tensor) =>
          tf.sum(tf.square(tf.separableConv2d(x as tf.Tensor4D, d as tf.Tensor4D, p as tf.Tensor4D, 2, 'same')));
        return tf.grads(f)([tf.tensor4d(xv, [2, 7, 6, 3]), tf.tensor4d(dv, [3, 3, 3, 2]), tf.tensor4d(pv, [1, 1, 6, 4])]);
      });
    });

    const dilationCases: [string, number[], number[], [number, number], Pad][] = [
      ['dilation 2, same, multiplier 2', [2, 9, 8, 3], [3, 3, 3, 2], [2, 2], 'same'],
      ['dilations [2, 3], valid', [2, 9, 10, 2], [2, 3, 2, 1], [2, 3], 'valid'],
      ['dilation 2, explicit pad', [1, 9, 8, 2], [3, 2, 2, 2], [2, 2], [[0, 0], [3, 1], [0, 2], [0, 0]]],
    ];
    it.each(dilationCases)('depthwise backprop kernels with dilation, against their definition: %s', async (_, xShape, wShape, dil, pad) => {
      const xv = randomArray(r, size(xShape)), wv = randomArray(r, size(wShape));
      const attrs = { strides: 1, pad, dilations: dil } as never;
      const [{ shape: dyShape }] = await on('wasm', () => tf.engine().runKernel('DepthwiseConv2dNative', { x: tf.tensor(xv, xShape), filter: tf.tensor(wv, wShape) }, attrs) as tf.Tensor);
      const gv = randomArray(r, size(dyShape));
      const [dW, dX] = await on('wasm', () => [
        tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x: tf.tensor(xv, xShape), dy: tf.tensor(gv, dyShape) }, { ...(attrs as object), filterShape: wShape } as never) as tf.Tensor,
        tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy: tf.tensor(gv, dyShape), filter: tf.tensor(wv, wShape) }, { ...(attrs as object), inputShape: xShape } as never) as tf.Tensor,
      ]);
      const top = pad === 'same' ? Math.floor(((dyShape[1] - 1) + (wShape[0] - 1) * dil[0] + 1 - xShape[1]) / 2) : pad === 'valid' ? 0 : (pad as number[][])[1][0];
      const left = pad === 'same' ? Math.floor(((dyShape[2] - 1) + (wShape[1] - 1) * dil[1] + 1 - xShape[2]) / 2) : pad === 'valid' ? 0 : (pad as number[][])[2][0];
      const ref = naiveDepthwiseGrads(xv, xShape, wv, wShape, gv, dyShape, [1, 1], dil, top, left);
      expect(dW.shape).toEqual(wShape);
      expect(dX.shape).toEqual(xShape);
      expectClose(dW.values, ref.dW, 1e-4, 'dW');
      expectClose(dX.values, ref.dX, 1e-4, 'dX');
    });

    it('depthwise backprop kernels with stride and dilation both > 1 (run directly), against their definition', async () => {
      const xShape = [2, 11, 10, 2], wShape = [3, 2, 2, 2], s: [number, number] = [2, 3], dil: [number, number] = [2, 2];
      const xv = randomArray(r, size(xShape)), wv = randomArray(r, size(wShape));
      const pad: Pad = [[0, 0], [1, 2], [2, 0], [0, 0]];
      const attrs = { strides: s, pad, dilations: dil };
      const [{ shape: dyShape }] = await on('wasm', () => tf.engine().runKernel('DepthwiseConv2dNative', { x: tf.tensor(xv, xShape), filter: tf.tensor(wv, wShape) }, attrs as never) as tf.Tensor);
      const gv = randomArray(r, size(dyShape));
      const [dW, dX] = await on('wasm', () => [
        tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x: tf.tensor(xv, xShape), dy: tf.tensor(gv, dyShape) }, { ...attrs, filterShape: wShape } as never) as tf.Tensor,
        tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy: tf.tensor(gv, dyShape), filter: tf.tensor(wv, wShape) }, { ...attrs, inputShape: xShape } as never) as tf.Tensor,
      ]);
      const ref = naiveDepthwiseGrads(xv, xShape, wv, wShape, gv, dyShape, s, dil, 1, 2);
      expectClose(dW.values, ref.dW, 1e-4, 'dW');
      expectClose(dX.values, ref.dX, 1e-4, 'dX');
    });

    it.each([
      ['axis 0, repeated indices', [7, 3], [4, 1, 1, 6, 0, 4], 0],
      ['axis 1', [2, 5, 3], [4, 0, 4, 2], 1],
      ['rank-2 indices', [6, 4], [[1, 5], [5, 5], [0, 2]], 0],
    ] as [string, number[], number[] | number[][], number][])('gather: tf.grad wrt params (%s)', async (_, paramsShape, indices, axis) => {
      const pv = randomArray(r, size(paramsShape));
      await expectSameOnBoth(() => {
        const idx = tf.tensor(indices as number[], undefined, 'int32');
        return tf.grad((p: tf.Tensor) => tf.sum(tf.square(tf.gather(p, idx, axis))))(tf.tensor(pv, paramsShape));
      });
    });

    it('UnsortedSegmentSum: float and int sums, out-of-range ids dropped as on cpu', async () => {
      const xv = randomArray(r, 6 * 3);
      await expectSameOnBoth(() => [
        tf.unsortedSegmentSum(tf.tensor2d(xv, [6, 3]), tf.tensor1d([0, 2, 2, 1, 0, 3], 'int32'), 4),
        tf.unsortedSegmentSum(tf.tensor2d(xv, [6, 3]), tf.tensor1d([0, 2, -1, 1, 7, 3], 'int32'), 4),
        tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3, 4, 5]), tf.tensor1d([1, 1, 0, 1, 2], 'int32'), 5),
      ]);
      const [ints] = await on('wasm', () => tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3, 4], 'int32'), tf.tensor1d([1, 0, 1, 1], 'int32'), 2));
      expect(ints.dtype).toBe('int32');
      expect(Array.from(ints.values)).toEqual([2, 8]);
      const [empty] = await on('wasm', () => tf.unsortedSegmentSum(tf.zeros([0, 2]), tf.zeros([0], 'int32'), 3));
      expect(empty.shape).toEqual([3, 2]);
      expect(Array.from(empty.values)).toEqual([0, 0, 0, 0, 0, 0]);
    });

    // The matMul fix: every dimension differs, so that a transposition mix-up cannot pass.
    it.each([
      ['transposeA, rank 2', [5, 3], [5, 4], true, false],
      ['transposeB, rank 2', [3, 5], [4, 5], false, true],
      ['both, rank 2', [5, 3], [4, 5], true, true],
      ['transposeA, rank 3 batch 2', [2, 5, 3], [2, 5, 4], true, false],
      ['transposeB, rank 3 broadcast batch', [2, 3, 5], [1, 4, 5], false, true],
      ['no transpose (stock kernel)', [3, 5], [5, 4], false, false],
    ] as [string, number[], number[], boolean, boolean][])('transposed matMul fix: %s', async (_, aShape, bShape, ta, tb) => {
      expect(isWasmTransposedMatMulFixInstalled()).toBe(true);
      const av = randomArray(r, size(aShape)), bv = randomArray(r, size(bShape));
      await expectSameOnBoth(() => tf.matMul(tf.tensor(av, aShape), tf.tensor(bv, bShape), ta, tb), 1e-5);
    });

    it('checks its inputs with clear errors', async () => {
      await tf.setBackend('wasm');
      const x = tf.ones([1, 5, 5, 2]);
      const dy = tf.ones([1, 4, 4, 3]);
      expect(() =>
        tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape: [3, 3, 2, 3] } as never),
      ).toThrow("enableWasmTraining: Conv2DBackpropFilter input 'dy' must be of shape [1,3,3,3] (the convolution output for these attributes); received shape [1,4,4,3].");
      const ids = tf.tensor2d([[0, 1]], [1, 2], 'int32');
      expect(() => tf.unsortedSegmentSum(tf.ones([1, 2]), ids as never, 2)).toThrow(/UnsortedSegmentSum input 'segmentIds' must be of shape \[1\]/);
      tf.dispose([x, dy, ids]);
    });
  });

  describe('memory', () => {
    beforeAll(async () => {
      enableWasmTraining();
      await tf.setBackend('wasm');
    });
    afterAll(() => disableWasmTraining());

    it('frees every intermediate buffer: no tensor and no wasm buffer left per call', () => {
      const x = tf.randomNormal([2, 9, 8, 3], 0, 1, 'float32', 1);
      const w = tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 2);
      const dw = tf.randomNormal([3, 3, 3, 2], 0, 1, 'float32', 3);
      const p = tf.randomNormal([10, 4], 0, 1, 'float32', 4);
      const idx = tf.tensor1d([3, 3, 9, 0, 12, -1], 'int32');
      const step = () =>
        tf.tidy(() => [
          ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')))([x, w]),
          ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'valid')))([x, dw]),
          tf.grad((a: tf.Tensor) => tf.sum(tf.gather(a, tf.tensor1d([1, 1, 4], 'int32'))))(p),
          tf.unsortedSegmentSum(p, tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'int32'), 3),
          tf.unsortedSegmentSum(p.slice(0, 6), idx, 5),
          tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: tf.ones([2, 4, 2, 4]) }, { strides: 3, pad: [[0, 0], [2, 1], [0, 0], [0, 0]], dataFormat: 'NHWC', filterShape: [3, 3, 3, 4] } as never) as tf.Tensor,
          tf.matMul(p, p, true, false),
        ]);
      tf.dispose(step()); // warm-up
      const tensors = tf.memory().numTensors;
      const buffers = tf.backend().numDataIds();
      for (let i = 0; i < 5; i++) tf.dispose(step());
      expect(tf.memory().numTensors).toBe(tensors);
      expect(tf.backend().numDataIds()).toBe(buffers);
      tf.dispose([x, w, dw, p, idx]);
    });

    it('a CNN trained for many steps leaks no tensor and grows no wasm memory', async () => {
      const model = tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [12, 12, 1], filters: 4, kernelSize: 3, activation: 'relu' }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same' }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 3, activation: 'softmax' }),
        ],
      });
      model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
      const x = tf.randomNormal([16, 12, 12, 1], 0, 1, 'float32', 7);
      const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0], 'int32'), 3);
      const heap = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
      for (let i = 0; i < 3; i++) await model.trainOnBatch(x, y); // warm-up: optimizer slots, heap growth
      const tensors = tf.memory().numTensors;
      const bytes = tf.memory().numBytes;
      const buffers = tf.backend().numDataIds();
      const heapBytes = heap();
      for (let i = 0; i < 30; i++) await model.trainOnBatch(x, y);
      expect(tf.memory().numTensors).toBe(tensors);
      expect(tf.memory().numBytes).toBe(bytes);
      expect(tf.backend().numDataIds()).toBe(buffers);
      expect(heap()).toBe(heapBytes);
      tf.dispose([x, y]);
      model.dispose();
    });
  });

  describe('models trained on wasm and on cpu from the same weights', () => {
    beforeAll(() => enableWasmTraining());
    afterAll(() => disableWasmTraining());

    async function compare(build: () => tf.LayersModel, x: Parameters<typeof trainOn>[3], y: Parameters<typeof trainOn>[4], steps: number) {
      const cpu = await trainOn('cpu', build, null, x, y, steps);
      const wasm = await trainOn('wasm', build, cpu.initial, x, y, steps);
      // The weights moved (training happened) and ended at the same place.
      expect(cpu.final.some((w, i) => w.some((v, j) => Math.abs(v - cpu.initial[i][j]) > 1e-3))).toBe(true);
      wasm.final.forEach((w, i) => expectClose(w, cpu.final[i], 1e-4, `weight ${i}`));
      expectClose(wasm.losses, cpu.losses, 1e-4, 'losses');
    }

    it('Conv2D + MaxPool + Dense', async () => {
      const r = rng(11);
      const build = () =>
        tf.sequential({
          layers: [
            tf.layers.conv2d({ inputShape: [10, 10, 2], filters: 4, kernelSize: 3, activation: 'relu' }),
            tf.layers.maxPooling2d({ poolSize: 2 }),
            tf.layers.conv2d({ filters: 6, kernelSize: 2, strides: 2, padding: 'same', activation: 'relu' }),
            tf.layers.flatten(),
            tf.layers.dense({ units: 8, activation: 'relu' }),
            tf.layers.dense({ units: 3, activation: 'softmax' }),
          ],
        });
      const n = 12;
      const y = new Float32Array(n * 3);
      for (let i = 0; i < n; i++) y[i * 3 + (i % 3)] = 1;
      await compare(build, { shape: [n, 10, 10, 2], values: randomArray(r, n * 200), dtype: 'float32' }, { shape: [n, 3], values: y }, 5);
    });

    it('Embedding + Dense', async () => {
      const r = rng(12);
      const build = () =>
        tf.sequential({
          layers: [
            tf.layers.embedding({ inputDim: 20, outputDim: 5, inputLength: 6 }),
            tf.layers.flatten(),
            tf.layers.dense({ units: 3, activation: 'softmax' }),
          ],
        });
      const n = 10;
      const ids = Int32Array.from({ length: n * 6 }, () => randInt(r, 0, 19));
      const y = new Float32Array(n * 3);
      for (let i = 0; i < n; i++) y[i * 3 + (ids[i * 6] % 3)] = 1;
      await compare(build, { shape: [n, 6], values: ids, dtype: 'int32' }, { shape: [n, 3], values: y }, 5);
    });
  });
});
