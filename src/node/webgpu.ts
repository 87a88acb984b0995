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
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';

import * as tf from '@tensorflow/tfjs-core';

/** What the npm package `webgpu` exports (the part used here). */
export interface WebGPUModule {
  /**
   * Creates a `GPU` (the object browsers expose as `navigator.gpu`); `options` are Dawn's
   * `key=value` switches. Typed loosely so that these declarations need no WebGPU typings.
   */
  create(options: string[]): unknown;
  /** The WebGPU classes and constants (`GPUBufferUsage`, `GPUMapMode`, ...), which tfjs reads as globals. */
  globals: object;
}

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

/** Description of the adapter tfjs trains on (from WebGPU's `GPUAdapterInfo`). */
export interface NodeWebGPUAdapter {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
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

/**
 * Places {@link findSoftwareVulkanICD} looks for SwiftShader, in this order by default:
 * - `'env'`: a `VK_ICD_FILENAMES` / `VK_DRIVER_FILES` already set (first existing file),
 * - `'chromium'`: an installed Chromium's `vk_swiftshader_icd.json` (Debian/Ubuntu packages:
 *   `/usr/lib/chromium/`, `/usr/lib/chromium-browser/`; Google Chrome: `/opt/google/chrome/`),
 * - `'npm'`: the npm package `@sparticuz/chromium`, whose `bin/swiftshader.tar.br` is unpacked
 *   into a cache folder under `os.tmpdir()`.
 */
export type SwiftShaderSource = 'env' | 'chromium' | 'npm';

/** Options of {@link findSoftwareVulkanICD}. */
export interface FindSoftwareVulkanICDOptions {
  /** Sources to try, in order (default `['env', 'chromium', 'npm']`). */
  readonly sources?: readonly SwiftShaderSource[];
  /** Folder under which the npm package's SwiftShader is unpacked (default `os.tmpdir()`). */
  readonly cacheDir?: string;
}

const ALL_SOURCES: readonly SwiftShaderSource[] = ['env', 'chromium', 'npm'];
const CHROMIUM_DIRS = ['/usr/lib/chromium', '/usr/lib/chromium-browser', '/usr/lib64/chromium-browser', '/opt/google/chrome'];
const ICD_JSON = 'vk_swiftshader_icd.json';
const VULKAN_LOADER = 'libvulkan.so.1';
const SPARTICUZ = '@sparticuz/chromium';
const INSTALL_HINT = 'npm install webgpu @tensorflow/tfjs-backend-webgpu';

/** What this module installed, kept so that {@link releaseNodeWebGPU} can undo it. */
interface Installed {
  info: NodeWebGPUInfo;
  device: GPUDevice | null;
  undoNavigator: () => void;
  undoGlobals: () => void;
}
let installed: Installed | null = null;
/** Loaders preloaded in this process (a loaded library cannot be unloaded). */
const preloadedLoaders = new Set<string>();
/**
 * Every `GPU` object created here, kept reachable for the life of the process: with webgpu
 * 0.6.2 on SwiftShader, garbage-collecting one aborts the process ("The futex facility returned
 * an unexpected error code"), crashes it (SIGSEGV) or hangs it, even after its device was
 * destroyed. A Dawn instance costs little memory; Node does not collect at exit, so exit is clean.
 */
const keptInstances = new Set<unknown>();

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

/**
 * Makes the next synchronous reads (`dataSync`, `arraySync`) of these tensors work on tfjs's
 * webgpu backend in Node: it reads them asynchronously (`await t.data()`), and tfjs-webgpu keeps
 * the values it read on the CPU, where a synchronous read finds them until the tensor changes.
 * Without tensors: every tfjs variable (model weights, optimizer slots, loss state such as
 * GalaLoss's), which is what `GalaLoss.getState()` and `model.save(..., {includeOptimizer:
 * true})` with a GalaLoss read synchronously. Call it right before such a read; a training step
 * in between replaces the variables' values and needs another call. Costs one GPU-to-CPU copy
 * per tensor.
 * @param tensors the tensors about to be read synchronously (default: all variables).
 */
export async function prepareSyncReads(tensors?: readonly tf.Tensor[]): Promise<void> {
  let targets: readonly tf.Tensor[];
  if (tensors != null) {
    targets = tensors.filter((t) => !t.isDisposed);
  } else {
    // Only variables whose data is held by the active backend: others read synchronously
    // anyway, and those of a removed backend (after releaseNodeWebGPU) cannot be read at all.
    const engine = tf.engine() as unknown as { backend: tf.KernelBackend; state: { tensorInfo: WeakMap<object, { backend: tf.KernelBackend }> } };
    const active = engine.backend;
    targets = Object.values(tf.engine().state.registeredVariables).filter(
      (v) => !v.isDisposed && engine.state.tensorInfo.get(v.dataId)?.backend === active,
    );
  }
  await Promise.all(targets.map((t) => t.data()));
}

/**
 * Finds the Vulkan driver manifest (ICD json) of SwiftShader, the software Vulkan driver
 * Chromium ships, so that Dawn can run WebGPU on a machine without a GPU: set the returned path
 * as `VK_ICD_FILENAMES` before Dawn starts (setupNodeWebGPU does). Looks in `sources` order
 * (see {@link SwiftShaderSource}); the npm package `@sparticuz/chromium` is unpacked once
 * (brotli-compressed tar, about 8 MB) into `<cacheDir>/tfjs-gala-swiftshader-<version>-<uid>`,
 * and the json there gets an absolute `library_path`. Linux x64/arm64 only.
 *
 * @returns the json's absolute path, or null when no source has SwiftShader (including on
 *   platforms other than Linux).
 * @throws Error only when the npm package's archive is present but cannot be unpacked (corrupt
 *   archive, unwritable cache folder, a cache folder owned by another user).
 */
export async function findSoftwareVulkanICD(options: FindSoftwareVulkanICDOptions = {}): Promise<string | null> {
  if (process.platform !== 'linux') return null;
  for (const source of options.sources ?? ALL_SOURCES) {
    if (source === 'env') {
      const fromEnv = envICDs().find((file) => fs.existsSync(file));
      if (fromEnv) return path.resolve(fromEnv);
    } else if (source === 'chromium') {
      const dir = CHROMIUM_DIRS.find((d) => fs.existsSync(path.join(d, ICD_JSON)));
      if (dir) return path.join(dir, ICD_JSON);
    } else if (source === 'npm') {
      const unpacked = await unpackNpmSwiftShader(options.cacheDir ?? os.tmpdir());
      if (unpacked) return unpacked;
    } else {
      throw new Error(`findSoftwareVulkanICD: unknown source ${JSON.stringify(source)}; use 'env', 'chromium' or 'npm'.`);
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Adapter choice

interface ChooseOptions {
  powerPreference: GPUPowerPreference;
  allowSoftware: boolean;
  vulkanICD: string;
  sources?: readonly SwiftShaderSource[];
  dawnOptions?: readonly string[];
}

async function chooseAdapter(
  webgpu: WebGPUModule,
  o: ChooseOptions,
): Promise<{ gpu: GPU; adapter: GPUAdapter; icd: string | null; loader: string | null }> {
  const dawnOptions = [...(o.dawnOptions ?? [])];
  const attempt = async (icd: string | null, loader: string | null) => {
    // Each create() makes a new Dawn instance, whose Vulkan loader reads VK_ICD_FILENAMES anew.
    const gpu = webgpu.create(dawnOptions) as GPU;
    keptInstances.add(gpu);
    const adapter = await gpu.requestAdapter({ powerPreference: o.powerPreference });
    return adapter == null ? null : { gpu, adapter, icd, loader };
  };
  const linux = process.platform === 'linux';
  const software = async () => {
    const icd = await findSoftwareVulkanICD({ sources: o.sources });
    if (icd == null) return null;
    setICD(icd);
    return attempt(icd, ensureVulkanLoader(path.dirname(icd)));
  };

  if (!linux) {
    const found = await attempt(null, null);
    if (found) return found;
    throw new Error(noAdapterMessage(`no WebGPU adapter on ${process.platform}: check the GPU driver.`));
  }
  if (o.vulkanICD === 'swiftshader') {
    const found = await software();
    if (found) return found;
    throw new Error(noAdapterMessage('vulkanICD is "swiftshader" but SwiftShader gave no adapter or was not found.'));
  }
  if (o.vulkanICD !== 'auto' && o.vulkanICD !== 'system') {
    const icd = path.resolve(o.vulkanICD);
    if (!fs.existsSync(icd)) throw new Error(`setupNodeWebGPU: vulkanICD file ${icd} does not exist.`);
    setICD(icd);
    const found = await attempt(icd, ensureVulkanLoader(path.dirname(icd)));
    if (found) return found;
    throw new Error(noAdapterMessage(`the Vulkan driver ${icd} gave no adapter.`));
  }
  const fromEnv = currentICD();
  if (fromEnv != null || o.vulkanICD === 'system' || !o.allowSoftware) {
    const loader = hasSystemVulkanLoader() ? null : fromEnv != null ? ensureVulkanLoader(path.dirname(fromEnv)) : null;
    const found = await attempt(fromEnv, loader);
    if (found) return found;
    const why = fromEnv != null ? `the Vulkan driver in the environment (${fromEnv}) gave no adapter.` : 'the system has no Vulkan driver that Dawn accepts.';
    throw new Error(noAdapterMessage(why));
  }
  // 'auto' with nothing set: GPU drivers first (only worth trying with a system loader), then SwiftShader.
  if (hasSystemVulkanLoader()) {
    const found = await attempt(null, null);
    if (found) return found;
  }
  const found = await software();
  if (found) return found;
  throw new Error(noAdapterMessage('no GPU adapter, and no SwiftShader found to fall back on.'));
}

function noAdapterMessage(why: string): string {
  return (
    `setupNodeWebGPU: ${why} To get a WebGPU adapter in Node on Linux, either install a GPU driver with Vulkan ` +
    `support (and the Vulkan loader, Debian package libvulkan1), or use a software Vulkan driver: SwiftShader, through ` +
    `VK_ICD_FILENAMES=/usr/lib/chromium/${ICD_JSON} (Debian's chromium package) or the npm package @sparticuz/chromium ` +
    `(npm install -D @sparticuz/chromium; findSoftwareVulkanICD() unpacks it). Mesa's lavapipe is rejected by Dawn.`
  );
}

function describeAdapter(adapter: GPUAdapter): NodeWebGPUAdapter {
  const info = (adapter as { info?: GPUAdapterInfo }).info;
  return {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
  };
}

/** WebGPU's `isFallbackAdapter` (on GPUAdapterInfo in current specs, on the adapter before), else the driver's name. */
function isSoftwareAdapter(adapter: GPUAdapter, described: NodeWebGPUAdapter): boolean {
  const info = (adapter as { info?: { isFallbackAdapter?: boolean } }).info;
  if (info?.isFallbackAdapter === true || (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true) return true;
  const text = `${described.vendor} ${described.architecture} ${described.device} ${described.description}`;
  return /swiftshader|llvmpipe|lavapipe|softpipe|software|basic render/i.test(text);
}

// ---------------------------------------------------------------------------------------------
// tfjs backend

interface WebGPUBackendModule {
  WebGPUBackend: new (device: GPUDevice, adapterInfo?: GPUAdapterInfo) => tf.KernelBackend;
}

/** Imports tfjs-backend-webgpu, makes it the backend, and returns its device. */
async function activateBackend(adapter: GPUAdapter, powerPreference: GPUPowerPreference): Promise<GPUDevice | null> {
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

// ---------------------------------------------------------------------------------------------
// Globals

async function importWebGPU(): Promise<WebGPUModule> {
  try {
    const loaded = (await import('webgpu')) as unknown as WebGPUModule & { default?: WebGPUModule };
    const webgpu = typeof loaded.create === 'function' ? loaded : loaded.default;
    if (webgpu == null || typeof webgpu.create !== 'function') throw new Error('it exports no create()');
    return webgpu;
  } catch (error) {
    throw new Error(
      `setupNodeWebGPU: the npm package 'webgpu' (Dawn for Node) could not be loaded (${firstLine(error)}). Run: ${INSTALL_HINT}`,
    );
  }
}

/** Defines the WebGPU globals (`GPUBufferUsage`, ...) that are missing; returns the undo. */
function installGlobals(globals: object): () => void {
  const added: string[] = [];
  for (const [name, value] of Object.entries(globals)) {
    if (name in globalThis) continue;
    Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
    added.push(name);
  }
  return () => {
    for (const name of added) delete (globalThis as Record<string, unknown>)[name];
  };
}

/**
 * Puts `gpu` at `navigator.gpu` without replacing what is there: Node >= 21 has a global
 * `navigator` (a getter on globalThis) without `gpu`; older Node has none. Returns the undo.
 */
function installNavigatorGPU(gpu: GPU): () => void {
  const g = globalThis as unknown as { navigator?: Record<string, unknown> };
  const navigator = g.navigator;
  if (navigator == null) {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    return () => {
      if (g.navigator?.gpu === gpu) delete g.navigator;
    };
  }
  try {
    Object.defineProperty(navigator, 'gpu', { value: gpu, configurable: true, writable: true });
  } catch {
    // a frozen or non-extensible navigator: shadow it below
  }
  if (navigator.gpu === gpu) {
    return () => {
      if (navigator.gpu === gpu) delete navigator.gpu;
    };
  }
  // Forward every other property to the original (Node's getters need their own receiver).
  const previous = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  const shadow: Record<string, unknown> = { gpu };
  for (let o: object | null = navigator; o != null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const key of Object.getOwnPropertyNames(o)) {
      if (key === 'constructor' || key in shadow) continue;
      Object.defineProperty(shadow, key, { get: () => navigator[key], enumerable: true, configurable: true });
    }
  }
  Object.defineProperty(globalThis, 'navigator', { value: shadow, configurable: true, writable: true });
  return () => {
    if (g.navigator === shadow) {
      if (previous) Object.defineProperty(globalThis, 'navigator', previous);
      else delete g.navigator;
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Vulkan: ICD and loader

function envICDs(): string[] {
  const value = process.env.VK_DRIVER_FILES || process.env.VK_ICD_FILENAMES || '';
  return value.split(':').filter((s) => s !== '');
}

function currentICD(): string | null {
  return envICDs()[0] ?? null;
}

/** Points the Vulkan loader at `icd` (VK_DRIVER_FILES wins over VK_ICD_FILENAMES in loaders >= 1.3.207). */
function setICD(icd: string): void {
  process.env.VK_ICD_FILENAMES = icd;
  if (process.env.VK_DRIVER_FILES != null) process.env.VK_DRIVER_FILES = icd;
}

const dlopen = (os.constants as { dlopen?: Record<string, number> }).dlopen ?? {};
/** glibc's RTLD_NODELETE: keeps a library loaded after Node's dlopen gives up on it. */
const RTLD_NODELETE = 0x1000;

let systemLoader: boolean | null = null;
/** Whether the dynamic linker finds a Vulkan loader (`libvulkan.so.1`) by itself, as Dawn asks for it. */
function hasSystemVulkanLoader(): boolean {
  if (systemLoader != null) return systemLoader;
  try {
    process.dlopen({ exports: {} }, VULKAN_LOADER, dlopen.RTLD_LAZY ?? 1);
    systemLoader = true; // not reached: it is no Node addon
  } catch (error) {
    // "did not self-register": found and loaded (then unloaded); "cannot open shared object file": absent.
    systemLoader = !/cannot open shared object file|No such file/i.test(String((error as Error).message));
  }
  return systemLoader;
}

/**
 * Dawn opens the Vulkan loader by its name, `libvulkan.so.1`. When the system has none, loading
 * Chromium's copy (shipped next to SwiftShader) first makes that name resolve to it: the dynamic
 * linker reuses a loaded library whose soname matches. Node's `process.dlopen` rejects it as no
 * addon, but RTLD_NODELETE keeps it loaded.
 * @returns the loader loaded, or null when the system has its own or `dir` has none.
 */
function ensureVulkanLoader(dir: string): string | null {
  if (hasSystemVulkanLoader()) return null;
  const loader = path.join(dir, VULKAN_LOADER);
  if (!fs.existsSync(loader)) return null;
  if (preloadedLoaders.size > 0) return [...preloadedLoaders][0];
  try {
    process.dlopen({ exports: {} }, loader, (dlopen.RTLD_NOW ?? 2) | RTLD_NODELETE);
  } catch (error) {
    if (!/self-register/i.test(String((error as Error).message))) {
      throw new Error(`setupNodeWebGPU: could not load the Vulkan loader ${loader}: ${firstLine(error)}`);
    }
  }
  preloadedLoaders.add(loader);
  return loader;
}

// ---------------------------------------------------------------------------------------------
// SwiftShader from the npm package @sparticuz/chromium

/**
 * Folder of an installed package, resolved from this module (CommonJS build), then from the
 * main script and the working directory (the ES build has no `__filename`, and `import.meta`
 * would break the CommonJS build).
 */
function packageDir(name: string): string | null {
  const bases = [
    typeof __filename === 'string' ? __filename : null,
    process.argv[1] ? path.resolve(process.argv[1]) : null,
    path.join(process.cwd(), 'package.json'),
  ];
  for (const base of bases) {
    if (base == null) continue;
    try {
      let dir = path.dirname(createRequire(base).resolve(name));
      for (; dir !== path.dirname(dir); dir = path.dirname(dir)) {
        const manifest = path.join(dir, 'package.json');
        if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, 'utf8')).name === name) return dir;
      }
    } catch {
      // not resolvable from this base
    }
  }
  return null;
}

async function unpackNpmSwiftShader(cacheRoot: string): Promise<string | null> {
  const dir = packageDir(SPARTICUZ);
  if (dir == null) return null;
  const archive = path.join(dir, 'bin', 'swiftshader.tar.br');
  if (!fs.existsSync(archive)) return null;
  const version = String(JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version).replace(/[^\w.-]/g, '_');
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const target = path.join(cacheRoot, `tfjs-gala-swiftshader-${version}-${uid}`);
  const icd = path.join(target, ICD_JSON);
  if (fs.existsSync(icd)) {
    checkOwnFolder(target);
    return icd;
  }

  const tar = await promisify(zlib.brotliDecompress)(fs.readFileSync(archive));
  const partial = `${target}.partial-${process.pid}-${Date.now()}`;
  fs.mkdirSync(partial, { recursive: true, mode: 0o700 });
  try {
    for (const entry of readTar(tar)) {
      if (entry.type !== 'file') continue;
      const name = path.posix.normalize(entry.name).replace(/^(\.\/)+/, '');
      if (name.includes('/') || name === '..' || name === '.' || name === '') continue; // the archive is flat: skip anything else
      fs.writeFileSync(path.join(partial, name), entry.data, { mode: entry.mode & 0o755 });
    }
    const json = path.join(partial, ICD_JSON);
    if (!fs.existsSync(json)) throw new Error(`${archive} holds no ${ICD_JSON}`);
    const manifest = JSON.parse(fs.readFileSync(json, 'utf8')) as { ICD?: { library_path?: string } };
    const library = manifest.ICD?.library_path;
    if (typeof library !== 'string') throw new Error(`${archive}: ${ICD_JSON} has no ICD.library_path`);
    if (!path.isAbsolute(library)) {
      // Relative paths are read relative to the json by current loaders; an absolute path works with all of them.
      manifest.ICD!.library_path = path.join(target, path.basename(library));
      fs.writeFileSync(json, JSON.stringify(manifest));
    }
    try {
      fs.renameSync(partial, target);
    } catch (error) {
      // another process unpacked it first
      if (!fs.existsSync(icd)) throw error;
      fs.rmSync(partial, { recursive: true, force: true });
    }
  } catch (error) {
    fs.rmSync(partial, { recursive: true, force: true });
    throw new Error(`findSoftwareVulkanICD: could not unpack SwiftShader from ${SPARTICUZ} (${archive}) into ${target}: ${firstLine(error)}`);
  }
  checkOwnFolder(target);
  return icd;
}

/** Refuses a cache folder that another user could have planted in a shared temporary folder. */
function checkOwnFolder(dir: string): void {
  if (typeof process.getuid !== 'function') return;
  const stat = fs.statSync(dir);
  if (stat.uid !== process.getuid() || (stat.mode & 0o022) !== 0) {
    throw new Error(`findSoftwareVulkanICD: ${dir} is not a folder only this user can write to; remove it or pass another cacheDir.`);
  }
}

interface TarEntry {
  name: string;
  type: 'file' | 'directory' | 'other';
  mode: number;
  data: Buffer;
}

/**
 * Reads a POSIX (ustar) tar archive held in memory, with GNU long names ('L') and pax
 * extended headers ('x', their `path`). Enough for Chromium's flat SwiftShader archive.
 */
function readTar(archive: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  const field = (header: Buffer, start: number, length: number) => {
    const raw = header.subarray(start, start + length);
    const end = raw.indexOf(0);
    return raw.subarray(0, end < 0 ? length : end).toString('utf8');
  };
  const octal = (header: Buffer, start: number, length: number) => {
    const text = field(header, start, length).trim();
    return text === '' ? 0 : parseInt(text, 8);
  };
  let offset = 0;
  let longName: string | null = null;
  while (offset + 512 <= archive.length) {
    const header = archive.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break; // end-of-archive block
    const size = octal(header, 124, 12);
    if (!Number.isFinite(size) || size < 0) throw new Error(`tar: bad size field at byte ${offset}`);
    const typeflag = String.fromCharCode(header[156] || 0x30);
    const dataStart = offset + 512;
    if (dataStart + size > archive.length) throw new Error('tar: archive is truncated');
    const data = archive.subarray(dataStart, dataStart + size);
    offset = dataStart + Math.ceil(size / 512) * 512;
    if (typeflag === 'L') {
      longName = field(data, 0, data.length);
      continue;
    }
    if (typeflag === 'x') {
      const match = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString('utf8'));
      if (match) longName = match[1];
      continue;
    }
    if (typeflag === 'g') continue;
    const prefix = header.subarray(257, 262).toString('latin1') === 'ustar' ? field(header, 345, 155) : '';
    const name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    longName = null;
    const type = typeflag === '0' || typeflag === '7' ? 'file' : typeflag === '5' ? 'directory' : 'other';
    entries.push({ name, type, mode: octal(header, 100, 8), data });
  }
  return entries;
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split('\n')[0];
}
