/**
 * `UnsortedSegmentSum` for the wasm backend (missing from tfjs-backend-wasm 4.22). It is the
 * gradient of `gather`, so embedding layers need it to train.
 *
 * ```text
 * out[s, ...] = sum over i with segmentIds[i] == s of x[i, ...]      out: [numSegments, ...x.shape[1:]]
 * ```
 *
 * Computed with the wasm `ScatterNd` kernel, which adds updates that share an index: one pass
 * over x, O(x.size) work and no [N, numSegments] one-hot matrix (which a one-hot matMul would
 * need: too big for real vocabularies). `ScatterNd` does not check its indices, so they are read
 * first (`readSync`, cheap on wasm): ids outside [0, numSegments) are dropped, as on the cpu
 * backend, by sending them to an extra segment that is cut off afterwards. The result dtype is
 * `sumOutType(x.dtype)` (float32 stays float32; int32 and bool give int32, as on webgl).
 *
 * @internal
 */

import * as tf from '@tensorflow/tfjs-core';

import { Received, trainingError, withScope } from './kernel_scope';

const KERNEL = 'UnsortedSegmentSum';

/** Kernel function of `UnsortedSegmentSum` on wasm. */
export function unsortedSegmentSumWasm(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): tf.TensorInfo {
  const { x, segmentIds } = args.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { numSegments } = args.attrs as unknown as tf.UnsortedSegmentSumAttrs;
  const backend = args.backend;
  if (!Number.isInteger(numSegments) || numSegments < 0) {
    throw trainingError(`${KERNEL} attribute 'numSegments'`, 'an integer >= 0', numSegments);
  }
  if (x.shape.length < 1) throw trainingError(`${KERNEL} input 'x'`, 'of rank >= 1', new Received(`shape ${JSON.stringify(x.shape)}`));
  if (segmentIds.shape.length !== 1 || segmentIds.shape[0] !== x.shape[0]) {
    throw trainingError(`${KERNEL} input 'segmentIds'`, `of shape [${x.shape[0]}] (rank 1, one id per row of x)`, new Received(`shape ${JSON.stringify(segmentIds.shape)}`));
  }
  if (x.dtype !== 'float32' && x.dtype !== 'int32' && x.dtype !== 'bool') {
    throw trainingError(`${KERNEL} input 'x'`, "of dtype 'float32', 'int32' or 'bool'", x.dtype);
  }
  const outDtype = tf.sumOutType(x.dtype);
  const rest = x.shape.slice(1);
  const n = x.shape[0];

  return withScope(backend, (scope) => {
    if (n === 0 || numSegments === 0 || tf.util.sizeFromShape(rest) === 0) {
      return scope.run('Fill', {}, { shape: [numSegments, ...rest], value: 0, dtype: outDtype });
    }
    const updates = x.dtype === outDtype ? x : scope.run('Cast', { x }, { dtype: outDtype });
    const ids = backend.readSync(segmentIds.dataId) as ArrayLike<number>;
    let valid = segmentIds.dtype === 'int32';
    for (let i = 0; valid && i < n; i++) valid = ids[i] >= 0 && ids[i] < numSegments && Number.isInteger(ids[i]);
    if (valid) {
      const indices = scope.reshape(segmentIds, [n, 1]);
      return scope.run('ScatterNd', { indices, updates }, { shape: [numSegments, ...rest] });
    }
    // Out-of-range (or non-integer) ids go to an extra segment, cut off below.
    const safe = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const id = ids[i];
      safe[i] = Number.isInteger(id) && id >= 0 && id < numSegments ? id : numSegments;
    }
    const indices = scope.own({ dataId: backend.write(safe, [n, 1], 'int32'), shape: [n, 1], dtype: 'int32' });
    const scattered = scope.run('ScatterNd', { indices, updates }, { shape: [numSegments + 1, ...rest] });
    return scope.run('Slice', { x: scattered }, { begin: [0, ...rest.map(() => 0)], size: [numSegments, ...rest] });
  });
}

/** Kernel config registered by `enableWasmTraining`. */
export const unsortedSegmentSumWasmConfig: tf.KernelConfig = {
  kernelName: KERNEL,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSumWasm as unknown as tf.KernelFunc,
};
