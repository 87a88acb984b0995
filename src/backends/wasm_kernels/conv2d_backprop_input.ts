/**
 * A faster `Conv2DBackpropInput` for the wasm backend (optional: the stock kernel is correct but
 * runs a plain C++ loop; on the protocol CNN it took about a third of a training step).
 *
 * With dy of shape [B, OH, OW, Co], filter W of shape [KH, KW, Ci, Co], stride s and top/left
 * padding (pt, pl), the input gradient
 *
 * ```text
 * dx[b, i, j, ci] = sum_{kh, kw, co} dy[b, oh, ow, co] * W[kh, kw, ci, co]   over i = oh*s + kh - pt, j likewise
 * ```
 *
 * is the transposed convolution, computed with the wasm `Conv2D` kernel (XNNPACK): dy upsampled
 * by the stride (zeros inserted with `Reshape` + `PadV2`), convolved with stride 1 by the filter
 * flipped in space (`Reverse`) and with its channel axes swapped (`Transpose` to
 * [KH, KW, Co, Ci]), with explicit padding KH - 1 - pt before (cropped with `Slice` when negative).
 * NCHW inputs are transposed to NHWC and back.
 *
 * @internal
 */

import * as tf from '@tensorflow/tfjs-core';

import { asFloat32, axisWindow, checkRank4, checkShape, withScope, zeros, type KernelScope } from './kernel_scope';

const KERNEL = 'Conv2DBackpropInput';

/** dy [B, OH, OW, C] upsampled by the strides: [B, OH*sH, OW*sW, C], dy at multiples of the strides, zeros elsewhere. */
export function upsampleByStrides(scope: KernelScope, dy: tf.TensorInfo, strideHeight: number, strideWidth: number): tf.TensorInfo {
  if (strideHeight === 1 && strideWidth === 1) return dy;
  const [b, oh, ow, ch] = dy.shape;
  const spread = scope.reshape(dy, [b * oh, 1, ow, 1, ch]);
  const padded = scope.run(
    'PadV2',
    { x: spread },
    {
      paddings: [
        [0, 0],
        [0, strideHeight - 1],
        [0, 0],
        [0, strideWidth - 1],
        [0, 0],
      ],
      constantValue: 0,
    },
  );
  return scope.reshape(padded, [b, oh * strideHeight, ow * strideWidth, ch]);
}

/** The part of the stride-upsampled dy an input gradient reads, and the zero padding around it. */
export interface DyWindow {
  /** [B, rows, cols, Co]: a Slice of the upsampled dy (or the whole of it). */
  readonly window: tf.TensorInfo;
  /** Explicit NHWC padding for the stride-1 convolution over `window`. */
  readonly pad: [[number, number], [number, number], [number, number], [number, number]];
}

/**
 * Upsamples dy by the strides and cuts the window each input row reads: it starts
 * (KH - 1) * d - pt rows before row 0 and spans H + (KH - 1) * d rows (columns alike).
 * Shared by the conv and depthwise-conv input gradients.
 * @returns null when the gradient is all zero (an empty window or batch).
 */
export function upsampledDyWindow(scope: KernelScope, dy: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): DyWindow | null {
  const { batchSize, inHeight, inWidth, outChannels, filterHeight: kh, filterWidth: kw } = info;
  const up = upsampleByStrides(scope, dy, info.strideHeight, info.strideWidth);
  const rows = axisWindow(up.shape[1], info.padInfo.top - (kh - 1) * info.dilationHeight, inHeight + (kh - 1) * info.dilationHeight);
  const cols = axisWindow(up.shape[2], info.padInfo.left - (kw - 1) * info.dilationWidth, inWidth + (kw - 1) * info.dilationWidth);
  if (rows.size === 0 || cols.size === 0 || batchSize === 0) return null;
  let window = up;
  if (rows.size !== up.shape[1] || cols.size !== up.shape[2]) {
    window = scope.run('Slice', { x: up }, { begin: [0, rows.begin, cols.begin, 0], size: [batchSize, rows.size, cols.size, outChannels] });
  }
  return {
    window,
    pad: [
      [0, 0],
      [rows.padBefore, rows.padAfter],
      [cols.padBefore, cols.padAfter],
      [0, 0],
    ],
  };
}

/**
 * The input gradient described in the module comment, NHWC.
 *
 * @param dy float32 [B, OH, OW, Co].
 * @param filter float32 [KH, KW, Ci, Co].
 * @returns [B, H, W, Ci], recorded in `scope`.
 */
export function convInputGradient(scope: KernelScope, dy: tf.TensorInfo, filter: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels } = info;
  const cut = upsampledDyWindow(scope, dy, info);
  if (cut === null) return zeros(scope, [batchSize, inHeight, inWidth, inChannels]);
  const flipped = scope.transpose(scope.run('Reverse', { x: filter }, { dims: [0, 1] }), [0, 1, 3, 2]);
  return scope.run(
    'Conv2D',
    { x: cut.window, filter: flipped },
    {
      strides: [1, 1],
      dilations: [info.dilationHeight, info.dilationWidth],
      pad: cut.pad,
      dataFormat: 'NHWC',
    },
  );
}

/** Kernel function of `Conv2DBackpropInput` on wasm through XNNPACK (same attributes and result as the stock kernel). */
export function conv2DBackpropInputWasm(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): tf.TensorInfo {
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  checkRank4(KERNEL, 'dy', dy);
  checkRank4(KERNEL, 'filter', filter);
  const format = tf.backend_util.convertConv2DDataFormat(dataFormat ?? 'NHWC');
  // No dilation attribute (as on every backend): dilation 1.
  const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode, false, format);
  checkShape(KERNEL, 'dy', dy.shape, info.outShape, 'the convolution output for these attributes');
  return withScope(args.backend, (scope) => {
    const channelsLast = info.dataFormat === 'channelsLast';
    const dyNhwc = channelsLast ? asFloat32(scope, dy) : scope.transpose(asFloat32(scope, dy), [0, 2, 3, 1]);
    const dx = convInputGradient(scope, dyNhwc, asFloat32(scope, filter), info);
    return channelsLast ? dx : scope.transpose(dx, [0, 3, 1, 2]);
  });
}

/** Kernel config that `enableWasmTraining` installs over the stock one (option `fastConv2DBackpropInput`). */
export const conv2DBackpropInputWasmConfig: tf.KernelConfig = {
  kernelName: KERNEL,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInputWasm as unknown as tf.KernelFunc,
};
