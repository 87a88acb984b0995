/**
 * WebGPU for tfjs in Node.js (entry point `tfjs-gala/node`; Node only, never in a browser bundle).
 *
 * tfjs's GPU backend for Node, `@tensorflow/tfjs-node-gpu` 4.22, links libtensorflow 2.9.1 and
 * with it CUDA 11.2 / cuDNN 8.1 only: on CUDA 12 machines it looks for `libcudart.so.11.0` and
 * fails (tfjs issues #8362, #8187, #8505). This module gives tfjs a GPU in Node another way:
 * `@tensorflow/tfjs-backend-webgpu` running on Dawn, Chromium's WebGPU implementation, which the
 * npm package `webgpu` ships prebuilt for Linux, macOS and Windows. On Linux Dawn drives the
 * GPU through Vulkan; a machine without a GPU can still run it on SwiftShader, a software Vulkan
 * driver that Chromium ships (see {@link findSoftwareVulkanICD}).
 *
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { setupNodeWebGPU } from 'tfjs-gala/node';
 *
 * const gpu = await setupNodeWebGPU();   // tf.getBackend() === 'webgpu' from here on
 * console.log(gpu.adapter.description, gpu.isSoftware);
 * await model.fit(xs, ys, {epochs: 10});
 * gpu.release();                         // frees the device and lets the process exit
 * ```
 *
 * Limits of tfjs's webgpu backend in Node: synchronous reads (`dataSync`, `arraySync`, and code
 * that uses them) need `OffscreenCanvas`, which Node lacks: read with `await tensor.data()` /
 * `await tensor.array()`.
 *
 * Optional peer packages: `webgpu` (Dawn) and `@tensorflow/tfjs-backend-webgpu`, plus, for
 * SwiftShader on a machine without Chromium, `@sparticuz/chromium`. Importing this module loads
 * none of them: they are imported when {@link setupNodeWebGPU} / {@link findSoftwareVulkanICD}
 * run.
 * @packageDocumentation
 */

export { setupNodeWebGPU, releaseNodeWebGPU, type NodeWebGPUOptions, type NodeWebGPUInfo } from './setup';
export type { NodeWebGPUAdapter } from './adapter';
export type { WebGPUModule } from './globals';
export { prepareSyncReads } from './sync_reads';
export { findSoftwareVulkanICD, type SwiftShaderSource, type FindSoftwareVulkanICDOptions } from './swiftshader';
