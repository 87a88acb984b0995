/** Makes tfjs-backend-webgpu the tfjs backend on a chosen adapter. */
import * as tf from '@tensorflow/tfjs-core';

import { firstLine, INSTALL_HINT } from './errors';

interface WebGPUBackendModule {
  WebGPUBackend: new (device: GPUDevice, adapterInfo?: GPUAdapterInfo) => tf.KernelBackend;
}

/** Imports tfjs-backend-webgpu, makes it the backend, and returns its device. */
export async function activateBackend(adapter: GPUAdapter, powerPreference: GPUPowerPreference): Promise<GPUDevice | null> {
  let backendModule: WebGPUBackendModule;
  try {
    backendModule = (await import('@tensorflow/tfjs-backend-webgpu')) as unknown as WebGPUBackendModule;
  } catch (error) {
    throw new Error(`setupNodeWebGPU: @tensorflow/tfjs-backend-webgpu is not installed (${firstLine(error)}). Run: ${INSTALL_HINT}`);
  }
  // Registered by tfjs-backend-webgpu's import (which reads navigator.gpu then); registered in
  // WebGPUBackend.ts flags. A flag unknown to this tfjs-core is left alone.
  try {
    tf.env().set('WEBGPU_USE_LOW_POWER_GPU', powerPreference === 'low-power');
  } catch {
    // flag not registered by this version
  }
  if (tf.findBackendFactory('webgpu') == null) {
    // The package was imported before navigator.gpu existed (or the backend was released):
    // register a factory on the adapter chosen above.
    tf.registerBackend('webgpu', async () => {
      const limits = adapter.limits;
      const wanted: GPUFeatureName[] = ['timestamp-query', 'bgra8unorm-storage'];
      const device = await adapter.requestDevice({
        requiredFeatures: wanted.filter((f) => adapter.features.has(f)),
        requiredLimits: {
          maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
          maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
          maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
          maxBufferSize: limits.maxBufferSize,
          maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
          maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
        },
      });
      return new backendModule.WebGPUBackend(device, (adapter as { info?: GPUAdapterInfo }).info);
    }, 3);
  }
  // setBackend resolves false (and logs) when the factory fails; catch the log's reason too.
  const ok = await tf.setBackend('webgpu');
  if (!ok || tf.getBackend() !== 'webgpu') {
    throw new Error(
      `setupNodeWebGPU: tfjs could not initialise the webgpu backend (tf.getBackend() is '${tf.getBackend()}'); ` +
        'see the warning tfjs printed above. Check that only one copy of @tensorflow/tfjs-core is installed (npm ls @tensorflow/tfjs-core).',
    );
  }
  const backend = tf.backend() as tf.KernelBackend & { device?: GPUDevice };
  guardReadSync(backend);
  return backend.device ?? null;
}

/** Turns tfjs-webgpu's "OffscreenCanvas is not defined" on `dataSync()` into an error that says what to do. */
function guardReadSync(backend: tf.KernelBackend): void {
  if (typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas !== 'undefined') return;
  const readSync = backend.readSync.bind(backend);
  backend.readSync = (dataId: object) => {
    try {
      return readSync(dataId);
    } catch (error) {
      if (error instanceof ReferenceError && /OffscreenCanvas/.test(error.message)) {
        throw new Error(
          'tfjs webgpu backend in Node: synchronous reads (dataSync, arraySync, and functions that use them) are not ' +
            'available (they need OffscreenCanvas). Use `await tensor.data()` / `await tensor.array()` instead.',
        );
      }
      throw error;
    }
  };
}
