/**
 * A speed fix for training on the wasm backend of tfjs 4.22: transposed matrix products.
 *
 * The wasm `BatchMatMul` kernel sends a product with `transposeA` or `transposeB` to a slow
 * generic loop; only the untransposed product reaches XNNPACK's fast path. Backpropagation through
 * a dense layer needs exactly the transposed products (dW = x^T dy, dx = dy W^T): on a 784-256-128-10
 * MLP the product x^T dy of the first layer took most of a training step. The fix wraps the wasm
 * `BatchMatMul` kernel: a transposed operand is transposed first with the wasm `Transpose` kernel
 * (a cheap copy, freed right after the product) and the untransposed product runs on the stock
 * kernel. Untransposed products go to the stock kernel unchanged. It changes no result beyond
 * float rounding, and nothing on other backends.
 *
 * {@link enableWasmTraining} installs it by default; this module's functions control it alone.
 */

import * as tf from '@tensorflow/tfjs-core';

import { Received, trainingError } from './wasm_kernels/kernel_scope';

const KERNEL = 'BatchMatMul';
const BACKEND = 'wasm';

/** The kernel config that was registered before the fix (null while the fix is not installed). */
let previous: tf.KernelConfig | null = null;
/** The fix's own config, to recognise it in the registry. */
let installed: tf.KernelConfig | null = null;

/** Whether the wasm `BatchMatMul` kernel is currently this module's wrapper. */
export function isWasmTransposedMatMulFixInstalled(): boolean {
  return installed !== null && tf.getKernel(KERNEL, BACKEND) === installed;
}

/** `x` with its last two axes swapped, through the wasm `Transpose` kernel. */
function swapLastTwoAxes(x: tf.TensorInfo, backend: tf.KernelBackend): tf.TensorInfo {
  const transpose = tf.getKernel('Transpose', BACKEND);
  if (transpose === undefined) throw trainingError("the wasm kernel 'Transpose'", 'registered', new Received('none'), 'setWasmTransposedMatMulFix');
  const perm = x.shape.map((_, i) => i);
  const r = perm.length;
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return transpose.kernelFunc({ inputs: { x }, backend, attrs: { perm } }) as tf.TensorInfo;
}

function wrap(stock: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = (args) => {
    const { inputs, backend, attrs } = args as unknown as {
      inputs: { a: tf.TensorInfo; b: tf.TensorInfo };
      backend: tf.KernelBackend;
      attrs: { transposeA?: boolean; transposeB?: boolean };
    };
    if (!attrs.transposeA && !attrs.transposeB) return stock.kernelFunc(args);
    const a = attrs.transposeA ? swapLastTwoAxes(inputs.a, backend) : inputs.a;
    let b: tf.TensorInfo = inputs.b;
    try {
      if (attrs.transposeB) b = swapLastTwoAxes(inputs.b, backend);
      return stock.kernelFunc({
        ...args,
        inputs: { ...args.inputs, a, b },
        attrs: { ...args.attrs, transposeA: false, transposeB: false },
      });
    } finally {
      // Buffers made inside a kernel are not engine tensors: free them through the backend.
      if (a !== inputs.a) backend.disposeData(a.dataId);
      if (b !== inputs.b) backend.disposeData(b.dataId);
    }
  };
  // The stock setupFunc is kept: when the fix is installed before the wasm backend starts, the
  // engine runs it at start-up and the stock kernel finds its wasm function.
  return { kernelName: KERNEL, backendName: BACKEND, kernelFunc, setupFunc: stock.setupFunc, disposeFunc: stock.disposeFunc };
}

/**
 * Installs (`enabled` true) or removes (false) the transposed-product fix on the wasm
 * `BatchMatMul` kernel. Idempotent. Works before or after `await tf.setBackend('wasm')`, but
 * `@tensorflow/tfjs-backend-wasm` must be imported first (it registers the kernel). Removing it
 * re-registers exactly the kernel config that was registered when it was installed.
 *
 * @throws Error when `enabled` is not a boolean, or when no wasm `BatchMatMul` kernel is
 *   registered (`@tensorflow/tfjs-backend-wasm` not imported).
 */
export function setWasmTransposedMatMulFix(enabled: boolean): void {
  if (typeof enabled !== 'boolean') throw trainingError('enabled', 'true or false', enabled, 'setWasmTransposedMatMulFix');
  if (enabled === (installed !== null)) return;
  if (!enabled) {
    if (tf.getKernel(KERNEL, BACKEND) === installed) {
      tf.unregisterKernel(KERNEL, BACKEND);
      tf.registerKernel(previous!);
    }
    installed = null;
    previous = null;
    return;
  }
  const stock = tf.getKernel(KERNEL, BACKEND);
  if (stock === undefined) {
    throw trainingError(
      "the wasm backend's BatchMatMul kernel",
      "registered (import '@tensorflow/tfjs-backend-wasm' before calling this)",
      new Received('no such kernel'),
      'setWasmTransposedMatMulFix',
    );
  }
  const fix = wrap(stock);
  tf.unregisterKernel(KERNEL, BACKEND);
  tf.registerKernel(fix);
  previous = stock;
  installed = fix;
}
