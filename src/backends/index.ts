/**
 * Training on the wasm backend, the fast CPU path in Node and in browsers without a GPU:
 * `enableWasmTraining()` adds the gradient kernels tfjs-backend-wasm 4.22 lacks (conv filter,
 * depthwise conv and gather gradients; tfjs#8474) and a faster transposed matrix product.
 * @module Backends
 */
export { enableWasmTraining, disableWasmTraining, isWasmTrainingEnabled, WASM_TRAINING_KERNELS, type WasmTrainingOptions } from './wasm_training';
export { setWasmTransposedMatMulFix, isWasmTransposedMatMulFixInstalled } from './wasm_matmul';
