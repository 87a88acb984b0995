/**
 * Training on the wasm backend of tfjs 4.22: the missing gradient kernels, and two speed fixes.
 *
 * tfjs-backend-wasm 4.22 registers no `Conv2DBackpropFilter` (tfjs issue #8474),
 * `DepthwiseConv2dNativeBackpropFilter`, `DepthwiseConv2dNativeBackpropInput` or
 * `UnsortedSegmentSum` (the gradient of `gather`) kernel: conv layers, depthwise / separable conv
 * layers and embedding layers cannot train there ("Kernel 'Conv2DBackpropFilter' not registered
 * for backend 'wasm'"). {@link enableWasmTraining} registers them for the wasm backend, each
 * built from kernels wasm already has (XNNPACK convolutions, transposes, scatter), and by default
 * also installs the transposed matrix-product fix of {@link setWasmTransposedMatMulFix} and a
 * faster `Conv2DBackpropInput`.
 *
 * @packageDocumentation
 */

import * as tf from '@tensorflow/tfjs-core';

import { conv2DBackpropFilterWasmConfig } from './wasm_kernels/conv2d_backprop_filter';
import { conv2DBackpropInputWasmConfig } from './wasm_kernels/conv2d_backprop_input';
import { depthwiseConv2dNativeBackpropFilterWasmConfig } from './wasm_kernels/depthwise_conv2d_backprop_filter';
import { depthwiseConv2dNativeBackpropInputWasmConfig } from './wasm_kernels/depthwise_conv2d_backprop_input';
import { Received, trainingError, WASM } from './wasm_kernels/kernel_scope';
import { unsortedSegmentSumWasmConfig } from './wasm_kernels/unsorted_segment_sum';
import { isWasmTransposedMatMulFixInstalled, setWasmTransposedMatMulFix } from './wasm_matmul';

/** Options of {@link enableWasmTraining}. */
export interface WasmTrainingOptions {
  /**
   * Also install the transposed matrix-product fix ({@link setWasmTransposedMatMulFix}); default
   * true. It makes backpropagation through dense layers several times faster on wasm.
   */
  readonly transposedMatMulFix?: boolean;
  /**
   * Also replace the wasm `Conv2DBackpropInput` kernel (a plain C++ loop) by a transposed
   * convolution through XNNPACK; default true. Same results up to float rounding, about 4x
   * faster (the input gradient of a conv layer: every conv layer but the first needs it).
   */
  readonly fastConv2DBackpropInput?: boolean;
}

interface CheckedOptions {
  readonly transposedMatMulFix: boolean;
  readonly fastConv2DBackpropInput: boolean;
}

const OPTION_KEYS = ['transposedMatMulFix', 'fastConv2DBackpropInput'] as const;

const KERNELS: readonly tf.KernelConfig[] = [
  conv2DBackpropFilterWasmConfig,
  depthwiseConv2dNativeBackpropFilterWasmConfig,
  depthwiseConv2dNativeBackpropInputWasmConfig,
  unsortedSegmentSumWasmConfig,
];

/** Names of the kernels {@link enableWasmTraining} adds to the wasm backend when it lacks them. */
export const WASM_TRAINING_KERNELS: readonly string[] = KERNELS.map((k) => k.kernelName);

interface EnabledState {
  /** Kernels this module registered (those the wasm backend lacked). */
  readonly registered: tf.KernelConfig[];
  /** Whether this module installed the matMul fix (false when it was already installed). */
  matMulFixInstalledHere: boolean;
  /** The stock `Conv2DBackpropInput` config and the one that replaced it (null when not replaced). */
  convInput: { readonly stock: tf.KernelConfig; readonly replacement: tf.KernelConfig } | null;
}

let state: EnabledState | null = null;

/** Whether {@link enableWasmTraining} is in effect (called, and not undone by {@link disableWasmTraining}). */
export function isWasmTrainingEnabled(): boolean {
  return state !== null;
}

function checkOptions(options: unknown): CheckedOptions {
  if (options === undefined) return { transposedMatMulFix: true, fastConv2DBackpropInput: true };
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw trainingError('options', 'an object such as {transposedMatMulFix: true}, or omitted', options);
  }
  const unknown = Object.keys(options).filter((k) => !(OPTION_KEYS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw trainingError('options', `an object with only the keys ${OPTION_KEYS.map((k) => `'${k}'`).join(', ')}`, new Received(`the key '${unknown[0]}'`));
  }
  const checked: Record<string, boolean> = {};
  for (const key of OPTION_KEYS) {
    const value = (options as Record<string, unknown>)[key];
    if (value !== undefined && typeof value !== 'boolean') throw trainingError(`options.${key}`, 'true or false', value);
    checked[key] = value ?? true;
  }
  return checked as unknown as CheckedOptions;
}

/** Replaces the stock wasm `Conv2DBackpropInput`, keeping its setupFunc (run if the backend starts later). */
function replaceConvInput(): EnabledState['convInput'] {
  const stock = tf.getKernel(conv2DBackpropInputWasmConfig.kernelName, WASM);
  if (stock === undefined) return null; // tfjs-backend-wasm 4.22 has it; nothing to speed up otherwise
  const replacement: tf.KernelConfig = { ...conv2DBackpropInputWasmConfig, setupFunc: stock.setupFunc, disposeFunc: stock.disposeFunc };
  tf.unregisterKernel(stock.kernelName, WASM);
  tf.registerKernel(replacement);
  return { stock, replacement };
}

function restoreConvInput(convInput: NonNullable<EnabledState['convInput']>): void {
  if (tf.getKernel(convInput.stock.kernelName, WASM) !== convInput.replacement) return; // replaced since: leave it
  tf.unregisterKernel(convInput.stock.kernelName, WASM);
  tf.registerKernel(convInput.stock);
}

/**
 * Makes the wasm backend able to train conv nets, depthwise / separable conv nets and embedding
 * layers, and (by default) faster at training dense layers.
 *
 * Registers for the `wasm` backend only, and only where it has none, these kernels:
 * - `Conv2DBackpropFilter` (x [B, H, W, Ci] or NCHW, dy [B, OH, OW, Co] -> dW [KH, KW, Ci, Co]):
 *   a `Conv2D` of the transposed input with the transposed output gradient, stride and
 *   dilation swapped;
 * - `DepthwiseConv2dNativeBackpropFilter` (x [B, H, W, C], dy [B, OH, OW, C*m] -> [KH, KW, C, m]):
 *   one strided slice, product and sum per filter tap;
 * - `DepthwiseConv2dNativeBackpropInput` (dy, filter [KH, KW, C, m] -> dx [B, H, W, C]): a
 *   depthwise convolution of the stride-upsampled dy with the flipped filter;
 * - `UnsortedSegmentSum` (x [N, ...], segmentIds [N] -> [numSegments, ...]): a summing `ScatterNd`;
 *   ids outside [0, numSegments) are dropped, as on the cpu backend.
 *
 * They take the same attributes as the cpu kernels (strides, pad 'same' / 'valid' / number /
 * explicit, dilations, dimRoundingMode; NHWC, and NCHW for `Conv2DBackpropFilter`) and give the
 * cpu results up to float rounding. For dilations > 1 the depthwise kernels compute the true
 * gradient; tfjs 4.22's cpu kernels ignore the dilation there (tfjs's own depthwise gradient
 * refuses dilations > 1, so only direct kernel calls can tell).
 *
 * Two speed-ups, each on by default and each restored by {@link disableWasmTraining}:
 * `transposedMatMulFix` installs {@link setWasmTransposedMatMulFix} (dense layers), and
 * `fastConv2DBackpropInput` replaces the stock `Conv2DBackpropInput` (a plain loop) by a
 * transposed convolution through XNNPACK (same results up to float rounding, about 4x faster).
 * Nothing changes on other backends.
 *
 * Can be called before or after `await tf.setBackend('wasm')`; `@tensorflow/tfjs-backend-wasm`
 * must have been imported (it registers the wasm kernels). Idempotent; a second call with other
 * options only turns the two speed-ups on or off. Undone by {@link disableWasmTraining}.
 *
 * ```js
 * import * as tf from '@tensorflow/tfjs';
 * import '@tensorflow/tfjs-backend-wasm';
 * import { enableWasmTraining } from 'tfjs-gala';
 *
 * enableWasmTraining();
 * await tf.setBackend('wasm');
 * await model.fit(x, y); // conv and embedding layers now train on wasm
 * ```
 *
 * Source: the kernels are missing from tfjs-backend-wasm 4.22 and at tfjs HEAD, see
 * https://github.com/tensorflow/tfjs/issues/8474.
 *
 * @throws Error when `options` is not an object with optional booleans `transposedMatMulFix` and
 *   `fastConv2DBackpropInput`, or when the wasm backend is not loaded (import
 *   `@tensorflow/tfjs-backend-wasm` first).
 */
export function enableWasmTraining(options?: WasmTrainingOptions): void {
  const { transposedMatMulFix, fastConv2DBackpropInput } = checkOptions(options);
  if (tf.getKernelsForBackend(WASM).length === 0) {
    throw trainingError(
      'the wasm backend',
      "loaded (import '@tensorflow/tfjs-backend-wasm' before calling enableWasmTraining)",
      new Received('no kernel registered for backend wasm'),
    );
  }
  if (state === null) {
    const registered: tf.KernelConfig[] = [];
    for (const config of KERNELS) {
      if (tf.getKernel(config.kernelName, WASM) !== undefined) continue; // a native kernel wins
      tf.registerKernel(config);
      registered.push(config);
    }
    state = { registered, matMulFixInstalledHere: false, convInput: null };
  }
  if (fastConv2DBackpropInput && state.convInput === null) {
    state.convInput = replaceConvInput();
  } else if (!fastConv2DBackpropInput && state.convInput !== null) {
    restoreConvInput(state.convInput);
    state.convInput = null;
  }
  if (transposedMatMulFix && !isWasmTransposedMatMulFixInstalled()) {
    setWasmTransposedMatMulFix(true);
    state.matMulFixInstalledHere = true;
  } else if (!transposedMatMulFix && state.matMulFixInstalledHere) {
    setWasmTransposedMatMulFix(false);
    state.matMulFixInstalledHere = false;
  }
}

/**
 * Undoes {@link enableWasmTraining}: unregisters the kernels it registered, puts the stock
 * `Conv2DBackpropInput` back and removes the matMul fix if it installed it, so that the wasm
 * kernel registry is exactly as before. Idempotent; does nothing when training support is not
 * enabled.
 */
export function disableWasmTraining(): void {
  if (state === null) return;
  for (const config of state.registered) {
    if (tf.getKernel(config.kernelName, WASM) === config) tf.unregisterKernel(config.kernelName, WASM);
  }
  if (state.matMulFixInstalledHere) setWasmTransposedMatMulFix(false);
  if (state.convInput !== null) restoreConvInput(state.convInput);
  state = null;
}
