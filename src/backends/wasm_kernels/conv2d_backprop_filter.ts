/**
 * `Conv2DBackpropFilter` for the wasm backend (tfjs-backend-wasm 4.22 has none: tfjs#8474).
 *
 * The filter gradient of a convolution is itself a convolution, computed here with the wasm
 * `Conv2D` kernel (XNNPACK). With x of shape [B, H, W, Ci], dy of shape [B, OH, OW, Co], stride s,
 * dilation d and top/left padding (pt, pl):
 *
 * ```text
 * dW[kh, kw, ci, co] = sum_{b, oh, ow} x[b, oh*s + kh*d - pt, ow*s + kw*d - pl, ci] * dy[b, oh, ow, co]
 * ```
 *
 * which is `Conv2D` of x' = x transposed to [Ci, H, W, B] (ci as the batch, b as the channels) with
 * the filter dy' = dy transposed to [OH, OW, B, Co], stride d and dilation s (swapped), explicit
 * padding pt / pl before and whatever makes the output exactly [Ci, KH, KW, Co] after (rows of x
 * the forward convolution never read are cropped with `Slice`), transposed back to
 * [KH, KW, Ci, Co]. NCHW inputs need no extra work: only the transposes change.
 *
 * @internal
 */

import * as tf from '@tensorflow/tfjs-core';

import { asFloat32, axisWindow, checkRank4, checkShape, withScope, zeros, type KernelScope } from './kernel_scope';

const KERNEL = 'Conv2DBackpropFilter';

/**
 * The filter gradient as described in the module comment, for a conv info computed by
 * `backend_util.computeConv2DInfo` (stride, dilation, padding, layout).
 *
 * @param x the forward input, float32, layout `info.dataFormat`.
 * @param dy the output gradient, float32, shape `info.outShape`.
 * @returns [KH, KW, Ci, Co], recorded in `scope`.
 */
export function convFilterGradient(scope: KernelScope, x: tf.TensorInfo, dy: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo {
  const channelsLast = info.dataFormat === 'channelsLast';
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co, inHeight, inWidth } = info;
  // Rows (columns) of the zero-padded input the forward convolution reads: the window of
  // (OH - 1) * s + (KH - 1) * d + 1 rows starting at -pt.
  const rows = axisWindow(inHeight, -info.padInfo.top, (info.outHeight - 1) * info.strideHeight + (kh - 1) * info.dilationHeight + 1);
  const cols = axisWindow(inWidth, -info.padInfo.left, (info.outWidth - 1) * info.strideWidth + (kw - 1) * info.dilationWidth + 1);
  if (rows.size === 0 || cols.size === 0 || info.batchSize === 0 || info.outHeight <= 0 || info.outWidth <= 0) {
    return zeros(scope, [kh, kw, ci, co]);
  }
  // x' [Ci, H, W, B]: Ci plays the batch, B the input channels.
  let xt = scope.transpose(x, channelsLast ? [3, 1, 2, 0] : [1, 2, 3, 0]);
  if (rows.size !== inHeight || cols.size !== inWidth) {
    xt = scope.run('Slice', { x: xt }, { begin: [0, rows.begin, cols.begin, 0], size: [ci, rows.size, cols.size, info.batchSize] });
  }
  // dy' [OH, OW, B, Co]: the "filter" of the convolution.
  const dyt = scope.transpose(dy, channelsLast ? [1, 2, 0, 3] : [2, 3, 0, 1]);
  const conv = scope.run(
    'Conv2D',
    { x: xt, filter: dyt },
    {
      strides: [info.dilationHeight, info.dilationWidth],
      dilations: [info.strideHeight, info.strideWidth],
      pad: [
        [0, 0],
        [rows.padBefore, rows.padAfter],
        [cols.padBefore, cols.padAfter],
        [0, 0],
      ],
      dataFormat: 'NHWC',
    },
  );
  // conv: [Ci, KH, KW, Co] -> [KH, KW, Ci, Co].
  return scope.transpose(conv, [1, 2, 0, 3]);
}

/** Kernel function of `Conv2DBackpropFilter` on wasm (same attributes and result as the cpu kernel). */
export function conv2DBackpropFilterWasm(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): tf.TensorInfo {
  const { x, dy } = args.inputs as unknown as tf.Conv2DBackpropFilterInputs & { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  checkRank4(KERNEL, 'x', x);
  checkRank4(KERNEL, 'dy', dy);
  const format = tf.backend_util.convertConv2DDataFormat(dataFormat ?? 'NHWC');
  // As on the cpu backend this kernel has no dilation attribute: dilation 1.
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    format,
  );
  checkShape(KERNEL, 'dy', dy.shape, info.outShape, 'the convolution output for these attributes');
  return withScope(args.backend, (scope) => convFilterGradient(scope, asFloat32(scope, x), asFloat32(scope, dy), info));
}

/** Kernel config registered by `enableWasmTraining`. */
export const conv2DBackpropFilterWasmConfig: tf.KernelConfig = {
  kernelName: KERNEL,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilterWasm as unknown as tf.KernelFunc,
};
