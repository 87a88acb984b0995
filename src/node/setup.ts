/** Setting up and releasing tfjs's webgpu backend in Node ({@link setupNodeWebGPU}, {@link releaseNodeWebGPU}). */
import * as tf from '@tensorflow/tfjs-core';

import { chooseAdapter, describeAdapter, isSoftwareAdapter, noAdapterMessage, type NodeWebGPUAdapter } from './adapter';
import { activateBackend } from './backend';
import { importWebGPU, installGlobals, installNavigatorGPU, type WebGPUModule } from './globals';
import type { SwiftShaderSource } from './swiftshader';
import { currentICD } from './vulkan';

/** Options of {@link setupNodeWebGPU}. */
export interface NodeWebGPUOptions {
  /** Which adapter to ask for when a machine has several (default `'high-performance'`). */
  readonly powerPreference?: 'high-performance' | 'low-power';
  /**
   * Whether a software adapter (SwiftShader, any WebGPU "fallback adapter") is acceptable
   * (default true). When true and no GPU adapter is found, {@link findSoftwareVulkanICD} provides
   * SwiftShader. When false, a software adapter is an error.
   */
  readonly allowSoftware?: boolean;
  /**
   * The Vulkan driver manifest (ICD json) Dawn should use (Linux):
   * - `'auto'` (default): the system's drivers; when they give no adapter and `allowSoftware`
   *   is true, SwiftShader from {@link findSoftwareVulkanICD}. A `VK_ICD_FILENAMES` or
   *   `VK_DRIVER_FILES` already set in the environment is used as it is.
   * - `'system'`: the system's drivers (and the environment) only.
   * - `'swiftshader'`: SwiftShader, even when a GPU is present (reproducible runs, CI).
   * - a path: that ICD json, set as `VK_ICD_FILENAMES` before Dawn starts Vulkan.
   */
  readonly vulkanICD?: 'auto' | 'system' | 'swiftshader' | (string & {});
  /** Where {@link findSoftwareVulkanICD} may look for SwiftShader (default: all, in its order). */
  readonly swiftShaderSources?: readonly SwiftShaderSource[];
  /** Extra Dawn switches passed to the `webgpu` package's `create()` (e.g. `'enable-dawn-features=...'`). */
  readonly dawnOptions?: readonly string[];
  /**
   * The `webgpu` module itself, for bundlers or test runners that cannot resolve it through a
   * dynamic `import('webgpu')` (default: that import).
   */
  readonly webgpu?: WebGPUModule;
}

/** What {@link setupNodeWebGPU} set up. */
export interface NodeWebGPUInfo {
  readonly backend: 'webgpu';
  readonly adapter: NodeWebGPUAdapter;
  /** True for a software adapter (SwiftShader, llvmpipe/lavapipe, WebGPU fallback adapters): expect CPU speed or less. */
  readonly isSoftware: boolean;
  /** The Vulkan ICD json set in `VK_ICD_FILENAMES` by this module or found there, or null (system drivers, or not Linux). */
  readonly vulkanICD: string | null;
  /**
   * The Vulkan loader (`libvulkan.so.1`) loaded from next to the ICD because the system has
   * none, or null (the system's was used, or not Linux).
   */
  readonly vulkanLoader: string | null;
  /** Same as {@link releaseNodeWebGPU}. */
  release(): void;
}

/** What this module installed, kept so that {@link releaseNodeWebGPU} can undo it. */
interface Installed {
  info: NodeWebGPUInfo;
  device: GPUDevice | null;
  undoNavigator: () => void;
  undoGlobals: () => void;
}
let installed: Installed | null = null;

/**
 * Makes `webgpu` the tfjs backend in Node.js: loads Dawn (npm package `webgpu`), installs
 * `navigator.gpu` and the WebGPU globals tfjs reads, finds an adapter (a GPU through Vulkan /
 * Metal / D3D12, else SwiftShader when `allowSoftware`), imports
 * `@tensorflow/tfjs-backend-webgpu`, and resolves once `tf.getBackend() === 'webgpu'`.
 *
 * Call it before importing `@tensorflow/tfjs-backend-webgpu` yourself: that package registers
 * its backend only if `navigator.gpu` exists when it is first imported (when it was imported
 * earlier, the backend is registered here instead). An existing `navigator.gpu` (a previous
 * call, Deno, Bun, your own setup) is used as it is; an existing `navigator` (Node >= 21) gets
 * a `gpu` property and keeps the rest. A second call while the first setup is live returns
 * the same info.
 *
 * On Linux the environment variable `VK_ICD_FILENAMES` is set (see `vulkanICD`) before Dawn
 * starts Vulkan; when the system has no Vulkan loader (`libvulkan.so.1`, Debian package
 * `libvulkan1`), the loader shipped next to the SwiftShader driver is loaded into the process.
 * Dawn may print warnings to stderr while it probes drivers ("Found no drivers", "XDG_RUNTIME_DIR
 * is invalid"); they are harmless.
 *
 * @returns the adapter and how it was reached; call its `release()` (or
 *   {@link releaseNodeWebGPU}) when training is done.
 * @throws Error when not running in Node.js; when `webgpu` or `@tensorflow/tfjs-backend-webgpu`
 *   is not installed (naming the npm command); when no adapter is found (naming the ways to get
 *   one); when only a software adapter is found and `allowSoftware` is false; when
 *   `vulkanICD` names a missing file; when tfjs cannot initialise the backend.
 * @see https://github.com/tensorflow/tfjs/issues/8362 https://github.com/tensorflow/tfjs/issues/8187
 *   https://github.com/tensorflow/tfjs/issues/8505 (tfjs-node-gpu's CUDA limits)
 */
export async function setupNodeWebGPU(options: NodeWebGPUOptions = {}): Promise<NodeWebGPUInfo> {
  if (typeof process === 'undefined' || process.versions?.node == null) {
    throw new Error('setupNodeWebGPU: this is for Node.js; in a browser tfjs finds navigator.gpu itself (import @tensorflow/tfjs-backend-webgpu).');
  }
  const powerPreference = options.powerPreference ?? 'high-performance';
  if (powerPreference !== 'high-performance' && powerPreference !== 'low-power') {
    throw new Error(`setupNodeWebGPU: powerPreference must be 'high-performance' or 'low-power'; received ${JSON.stringify(powerPreference)}.`);
  }
  const allowSoftware = options.allowSoftware ?? true;
  const vulkanICD = options.vulkanICD ?? 'auto';
  if (typeof vulkanICD !== 'string' || vulkanICD === '') {
    throw new Error(`setupNodeWebGPU: vulkanICD must be 'auto', 'system', 'swiftshader' or a path to an ICD json; received ${JSON.stringify(vulkanICD)}.`);
  }
  if (installed != null && tf.getBackend() === 'webgpu') return installed.info;
  if (installed != null) releaseNodeWebGPU();

  const existingGPU = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  const webgpu = existingGPU == null ? (options.webgpu ?? (await importWebGPU())) : null;
  const undoGlobals = webgpu == null ? () => {} : installGlobals(webgpu.globals);
  let undoNavigator = () => {};
  try {
    let gpu: GPU;
    let found: { adapter: GPUAdapter; icd: string | null; loader: string | null };
    if (existingGPU != null) {
      gpu = existingGPU;
      const adapter = await gpu.requestAdapter({ powerPreference });
      if (adapter == null) throw new Error(noAdapterMessage('the existing navigator.gpu gave no adapter.'));
      found = { adapter, icd: currentICD(), loader: null };
    } else {
      const chosen = await chooseAdapter(webgpu!, { powerPreference, allowSoftware, vulkanICD, sources: options.swiftShaderSources, dawnOptions: options.dawnOptions });
      gpu = chosen.gpu;
      found = chosen;
      undoNavigator = installNavigatorGPU(gpu);
    }
    const adapter = describeAdapter(found.adapter);
    const isSoftware = isSoftwareAdapter(found.adapter, adapter);
    if (isSoftware && !allowSoftware) {
      throw new Error(
        `setupNodeWebGPU: the only WebGPU adapter is a software one (${adapter.description || adapter.device || adapter.vendor}) and allowSoftware is false. ` +
          'Install a GPU driver with Vulkan support (Linux), or pass allowSoftware: true to train on the CPU through it.',
      );
    }

    const device = await activateBackend(found.adapter, powerPreference);
    const info: NodeWebGPUInfo = {
      backend: 'webgpu',
      adapter,
      isSoftware,
      vulkanICD: found.icd,
      vulkanLoader: found.loader,
      release: releaseNodeWebGPU,
    };
    installed = { info, device, undoNavigator, undoGlobals };
    return info;
  } catch (error) {
    undoNavigator();
    undoGlobals();
    throw error;
  }
}

/**
 * Undoes {@link setupNodeWebGPU}: removes tfjs's `webgpu` backend (its tensors are freed; tfjs
 * picks its next registered backend on the next operation, so `tf.getBackend()` is null until
 * then), destroys the WebGPU device (its GPU memory), and removes the `navigator.gpu` and
 * WebGPU globals it installed. The webgpu package's README ("Lifetime";
 * https://issues.chromium.org/issues/387965810) says a reachable `navigator.gpu` keeps Node
 * running; with webgpu 0.6.2 that was not observed (scripts and Jest exit with or without this
 * call), but call it when training is done all the same. The Dawn instance itself stays
 * referenced inside this module: garbage-collecting it crashes dawn.node 0.6.2. Does nothing when
 * nothing is set up. Tensors of the webgpu backend must not be used afterwards; a later
 * {@link setupNodeWebGPU} starts a new device.
 */
export function releaseNodeWebGPU(): void {
  const current = installed;
  if (current == null) return;
  installed = null;
  if (tf.findBackend('webgpu') != null || tf.findBackendFactory('webgpu') != null) {
    // The factory goes too: registering it again needs the module's own registration, which
    // happens once per process; setupNodeWebGPU registers its own factory next time.
    tf.removeBackend('webgpu');
  }
  try {
    current.device?.destroy();
  } catch {
    // already destroyed or lost: nothing to free
  }
  current.undoNavigator();
  current.undoGlobals();
}
