/**
 * A speed fix for training on the wasm backend of tfjs 4.22.
 *
 * Its `BatchMatMul` kernel hands a product with `transposeA` or `transposeB` to a slow generic
 * loop; only the untransposed product goes to XNNPACK's fast path. Backpropagation through a
 * dense layer needs exactly the transposed products (dW = x^T dy, dx = dy W^T): on the demo's MLP
 * x^T dy for the 784 x 256 layer took ~80 ms of a ~90 ms training step, while the forward product
 * of the same size took ~8 ms. Transposing the operand first (a cheap copy) and running the
 * untransposed product made a step about 4x faster, with the same loss to float precision.
 *
 * The fix replaces the wasm `BatchMatMul` kernel with a wrapper that does this and leaves
 * untransposed products to the original. It changes no result beyond float rounding, and no
 * other backend. The command line installs it when it selects wasm; {@link setWasmTransposedMatMulFix}
 * turns it off again (`bench --perf` measures both).
 */

import * as tf from '@tensorflow/tfjs';

const KERNEL = 'BatchMatMul';
const BACKEND = 'wasm';

let original: tf.KernelConfig | null = null;

/** Whether the wasm `BatchMatMul` kernel is the wrapper of this module. */
export function isWasmTransposedMatMulFixInstalled(): boolean {
  return original !== null;
}

/**
 * Installs (`enabled` true) or removes the wrapper around the wasm `BatchMatMul` kernel. Call it
 * after the wasm backend is initialised (`await tf.setBackend('wasm')`): the original kernel's
 * setup must have run. Idempotent.
 *
 * @throws Error when the wasm backend or its `BatchMatMul` / `Transpose` kernels are not registered.
 */
export function setWasmTransposedMatMulFix(enabled: boolean): void {
  if (enabled === (original !== null)) return;
  if (!enabled) {
    tf.unregisterKernel(KERNEL, BACKEND);
    tf.registerKernel(original!);
    original = null;
    return;
  }
  const stock = tf.getKernel(KERNEL, BACKEND);
  const transpose = tf.getKernel('Transpose', BACKEND);
  if (stock === undefined || transpose === undefined) {
    throw new Error(`setWasmTransposedMatMulFix: the wasm backend has no ${stock === undefined ? KERNEL : 'Transpose'} kernel; import @tensorflow/tfjs-backend-wasm first.`);
  }
  const swapLastTwo = (x: tf.TensorInfo, backend: unknown): tf.TensorInfo => {
    const perm = x.shape.map((_, i) => i);
    [perm[perm.length - 2], perm[perm.length - 1]] = [perm[perm.length - 1], perm[perm.length - 2]];
    return transpose.kernelFunc({ inputs: { x }, backend: backend as tf.KernelBackend, attrs: { perm } }) as tf.TensorInfo;
  };
  const kernelFunc: tf.KernelFunc = (args) => {
    const { inputs, backend, attrs } = args as { inputs: { a: tf.TensorInfo; b: tf.TensorInfo }; backend: tf.KernelBackend; attrs: { transposeA: boolean; transposeB: boolean } };
    if (!attrs.transposeA && !attrs.transposeB) return stock.kernelFunc(args);
    const a = attrs.transposeA ? swapLastTwo(inputs.a, backend) : inputs.a;
    const b = attrs.transposeB ? swapLastTwo(inputs.b, backend) : inputs.b;
    try {
      return stock.kernelFunc({ ...args, inputs: { a, b }, attrs: { ...attrs, transposeA: false, transposeB: false } });
    } finally {
      // Intermediate buffers of a kernel are not engine tensors: free them through the backend.
      if (a !== inputs.a) backend.disposeData(a.dataId);
      if (b !== inputs.b) backend.disposeData(b.dataId);
    }
  };
  tf.unregisterKernel(KERNEL, BACKEND);
  // No setupFunc: the stock kernel's setup already ran when the backend was initialised.
  tf.registerKernel({ kernelName: KERNEL, backendName: BACKEND, kernelFunc });
  original = stock;
}
