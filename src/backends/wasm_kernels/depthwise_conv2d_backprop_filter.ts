/**
 * `DepthwiseConv2dNativeBackpropFilter` for the wasm backend (missing from tfjs-backend-wasm 4.22).
 *
 * With x of shape [B, H, W, C], dy of shape [B, OH, OW, C*m], stride s, dilation d and top/left
 * padding (pt, pl):
 *
 * ```text
 * dW[kh, kw, c, q] = sum_{b, oh, ow} x[b, oh*s + kh*d - pt, ow*s + kw*d - pl, c] * dy[b, oh, ow, c*m + q]
 * ```
 *
 * Computed one filter tap at a time with the wasm kernels: x is transposed once to [C, H, W, B]
 * and zero-padded (`PadV2`; rows the forward convolution never reads are cropped with `Slice`),
 * dy once to [C, m, OH*OW*B]; for each tap (kh, kw) a `StridedSlice` picks the input pixels that
 * tap saw, `Multiply` with dy and `Sum` over the last axis give dW[kh, kw] of shape [C, m]; the
 * taps are stacked (`Pack`). Each tap's intermediates are freed before the next one.
 *
 * @internal
 */

import * as tf from '@tensorflow/tfjs-core';

import { asFloat32, axisWindow, checkRank4, checkShape, withScope, zeros, type KernelScope } from './kernel_scope';

const KERNEL = 'DepthwiseConv2dNativeBackpropFilter';

/**
 * The filter gradient described in the module comment.
 *
 * @param x float32, [B, H, W, C].
 * @param dy float32, shape `info.outShape`.
 * @returns [KH, KW, C, m], recorded in `scope`.
 */
export function depthwiseFilterGradient(scope: KernelScope, x: tf.TensorInfo, dy: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels: c, outChannels, outHeight: oh, outWidth: ow, filterHeight: kh, filterWidth: kw } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const m = outChannels / c;
  const rows = axisWindow(inHeight, -info.padInfo.top, (oh - 1) * sh + (kh - 1) * dh + 1);
  const cols = axisWindow(inWidth, -info.padInfo.left, (ow - 1) * sw + (kw - 1) * dw + 1);
  if (rows.size === 0 || cols.size === 0 || batchSize === 0 || oh <= 0 || ow <= 0) return zeros(scope, [kh, kw, c, m]);

  // x' [C, rows, cols, B]: the padded window of x the forward convolution reads.
  let xt = scope.transpose(x, [3, 1, 2, 0]);
  if (rows.size !== inHeight || cols.size !== inWidth) {
    xt = scope.run('Slice', { x: xt }, { begin: [0, rows.begin, cols.begin, 0], size: [c, rows.size, cols.size, batchSize] });
  }
  if (rows.padBefore + rows.padAfter + cols.padBefore + cols.padAfter > 0) {
    xt = scope.run(
      'PadV2',
      { x: xt },
      {
        paddings: [
          [0, 0],
          [rows.padBefore, rows.padAfter],
          [cols.padBefore, cols.padAfter],
          [0, 0],
        ],
        constantValue: 0,
      },
    );
  }
  // dy' [C, m, OH*OW*B], in the same (oh, ow, b) order as each tap's slice of x'.
  const dy5 = scope.reshape(dy, [batchSize, oh, ow, c, m]);
  const dyt = scope.reshape(scope.transpose(dy5, [3, 4, 1, 2, 0]), [c, m, oh * ow * batchSize]);

  const taps: tf.TensorInfo[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const tap = withScope(scope.backend, (inner) => {
        const seen = inner.run(
          'StridedSlice',
          { x: xt },
          {
            begin: [0, i * dh, j * dw, 0],
            end: [c, i * dh + (oh - 1) * sh + 1, j * dw + (ow - 1) * sw + 1, batchSize],
            strides: [1, sh, sw, 1],
            beginMask: 0,
            endMask: 0,
            ellipsisMask: 0,
            newAxisMask: 0,
            shrinkAxisMask: 0,
          },
        );
        const product = inner.run('Multiply', { a: inner.reshape(seen, [c, 1, oh * ow * batchSize]), b: dyt });
        return inner.run('Sum', { x: product }, { axis: [2], keepDims: false });
      });
      taps.push(scope.own(tap));
    }
  }
  const stacked = taps.length === 1 ? taps[0] : scope.run('Pack', taps as unknown as tf.NamedTensorInfoMap, { axis: 0 });
  return scope.reshape(stacked, [kh, kw, c, m]);
}

/** Kernel function of `DepthwiseConv2dNativeBackpropFilter` on wasm (same attributes and result as the cpu kernel). */
export function depthwiseConv2dNativeBackpropFilterWasm(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): tf.TensorInfo {
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, filterShape } = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  checkRank4(KERNEL, 'x', x);
  checkRank4(KERNEL, 'dy', dy);
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, dilations ?? 1, pad, dimRoundingMode, true);
  checkShape(KERNEL, 'dy', dy.shape, info.outShape, 'the depthwise convolution output for these attributes');
  return withScope(args.backend, (scope) => depthwiseFilterGradient(scope, asFloat32(scope, x), asFloat32(scope, dy), info));
}

/** Kernel config registered by `enableWasmTraining`. */
export const depthwiseConv2dNativeBackpropFilterWasmConfig: tf.KernelConfig = {
  kernelName: KERNEL,
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dNativeBackpropFilterWasm as unknown as tf.KernelFunc,
};
