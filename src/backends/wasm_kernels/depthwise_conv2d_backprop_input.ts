/**
 * `DepthwiseConv2dNativeBackpropInput` for the wasm backend (missing from tfjs-backend-wasm 4.22).
 *
 * With dy of shape [B, OH, OW, C*m], filter W of shape [KH, KW, C, m], stride s, dilation d and
 * top/left padding (pt, pl), the input gradient
 *
 * ```text
 * dx[b, i, j, c] = sum_{kh, kw, q} dy[b, oh, ow, c*m + q] * W[kh, kw, c, q]   over i = oh*s + kh*d - pt, j likewise
 * ```
 *
 * is the "transposed" depthwise convolution, computed with the wasm kernels: dy is upsampled by
 * the stride (zeros inserted with `Reshape` + `PadV2`), then `DepthwiseConv2dNative` with the
 * spatially flipped filter (`Reverse`), seen as multiplier 1 over the C*m channels, stride 1,
 * dilation d and explicit padding (KH - 1) * d - pt before (crops, when negative, with `Slice`);
 * the m channels of each input channel are then summed (`Sum`).
 *
 * @internal
 */

import * as tf from '@tensorflow/tfjs-core';

import { upsampledDyWindow } from './conv2d_backprop_input';
import { asFloat32, checkRank4, checkShape, withScope, zeros, type KernelScope } from './kernel_scope';

const KERNEL = 'DepthwiseConv2dNativeBackpropInput';

/**
 * The input gradient described in the module comment.
 *
 * @param dy float32, shape `info.outShape`.
 * @param filter float32, shape [KH, KW, C, m].
 * @returns [B, H, W, C], recorded in `scope`.
 */
export function depthwiseInputGradient(scope: KernelScope, dy: tf.TensorInfo, filter: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels, outChannels, filterHeight: kh, filterWidth: kw } = info;
  const multiplier = outChannels / inChannels;
  const cut = upsampledDyWindow(scope, dy, info);
  if (cut === null) return zeros(scope, [batchSize, inHeight, inWidth, inChannels]);
  const flipped = scope.run('Reverse', { x: filter }, { dims: [0, 1] });
  const perChannel = scope.reshape(flipped, [kh, kw, outChannels, 1]);
  const conv = scope.run(
    'DepthwiseConv2dNative',
    { x: cut.window, filter: perChannel },
    {
      strides: [1, 1],
      dilations: [info.dilationHeight, info.dilationWidth],
      pad: cut.pad,
    },
  );
  if (multiplier === 1) return conv;
  const grouped = scope.reshape(conv, [batchSize, inHeight, inWidth, inChannels, multiplier]);
  return scope.run('Sum', { x: grouped }, { axis: [4], keepDims: false });
}

/** Kernel function of `DepthwiseConv2dNativeBackpropInput` on wasm (same attributes and result as the cpu kernel). */
export function depthwiseConv2dNativeBackpropInputWasm(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): tf.TensorInfo {
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, inputShape } = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  checkRank4(KERNEL, 'dy', dy);
  checkRank4(KERNEL, 'filter', filter);
  const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, dilations ?? 1, pad, dimRoundingMode, true);
  checkShape(KERNEL, 'dy', dy.shape, info.outShape, 'the depthwise convolution output for these attributes');
  return withScope(args.backend, (scope) => depthwiseInputGradient(scope, asFloat32(scope, dy), asFloat32(scope, filter), info));
}

/** Kernel config registered by `enableWasmTraining`. */
export const depthwiseConv2dNativeBackpropInputWasmConfig: tf.KernelConfig = {
  kernelName: KERNEL,
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dNativeBackpropInputWasm as unknown as tf.KernelFunc,
};
