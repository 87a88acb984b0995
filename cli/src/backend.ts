/**
 * Choosing the tfjs backend for the command line. The fast backends are optional packages
 * (tfjs-node and tfjs-node-gpu download libtensorflow at install time, which fails without
 * internet; webgpu needs Dawn, the npm package `webgpu`), so every backend is loaded with a
 * dynamic import inside try/catch, and `auto` falls through to the next one.
 */

import * as os from 'node:os';

import * as tf from '@tensorflow/tfjs';

import { enableWasmTraining } from 'tfjs-gala';
import { prepareSyncReads, releaseNodeWebGPU, setupNodeWebGPU, type NodeWebGPUInfo } from 'tfjs-gala/node';
import type { ModelName } from './protocol';

/**
 * `auto` prefers a hardware GPU (tfjs-node-gpu when it loads, else webgpu on a hardware
 * adapter), then tfjs-node, then wasm, then cpu; it never picks a software GPU adapter.
 */
export const BACKEND_CHOICES = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
export type BackendName = Exclude<BackendChoice, 'auto'>;

/** The backend in use, where it came from and what it computes on. */
export interface SelectedBackend {
  /** `tf.getBackend()` after selection. */
  readonly name: BackendName;
  /** The package that provides it. */
  readonly packageName: string;
  /** What computes: the GPU adapter for webgpu, libtensorflow's device, or the CPU. */
  readonly device: string;
  /** For webgpu: whether the adapter is a software one (SwiftShader: CPU speed or less). */
  readonly softwareAdapter: boolean;
  /** How the command line changed the stock backend (wasm), for the output; null when it did not. */
  readonly note: string | null;
}

/** Options of {@link selectBackend}. */
export interface BackendOptions {
  /**
   * For `webgpu` chosen explicitly: when no GPU adapter exists, look for SwiftShader, a software
   * Vulkan driver (in Chromium or the npm package @sparticuz/chromium), and run on it. Default
   * false: only the system's drivers, or the one `VK_ICD_FILENAMES` names (which may be a
   * software one: the user chose it), are used. `auto` never takes a software adapter.
   */
  readonly allowSoftwareGpu?: boolean;
  /**
   * The command reads tensors synchronously while training (the gradient monitor), which
   * tfjs's webgpu backend cannot do in Node: `auto` then skips webgpu. Default false.
   */
  readonly needsSynchronousReads?: boolean;
}

interface BackendCandidate {
  readonly name: BackendName;
  readonly packageName: string;
  /** Registers (and for webgpu activates) the backend; returns what it computes on. Throws when unavailable. */
  readonly load: () => Promise<{ device: string; softwareAdapter?: boolean }>;
}

const cpuDescription = () => {
  const cpus = os.cpus();
  return `CPU: ${cpus.length} cores of ${cpus[0]?.model.trim() ?? 'unknown CPU'}`;
};

function tensorflowCandidate(packageName: string, device: string): BackendCandidate {
  // Imported by a name held in a variable, so that neither TypeScript nor the bundler needs them.
  return { name: 'tensorflow', packageName, load: async () => (await importOptional(packageName), { device }) };
}

/**
 * webgpu through Dawn. `'hardware'`: a GPU adapter only (auto). `'explicit'`: the system's
 * drivers or the one `VK_ICD_FILENAMES` names, software or not. `'software-fallback'`: also
 * SwiftShader when they give no adapter.
 */
function webgpuCandidate(mode: 'hardware' | 'explicit' | 'software-fallback'): BackendCandidate {
  return {
    name: 'webgpu',
    packageName: '@tensorflow/tfjs-backend-webgpu on Dawn (npm package webgpu)',
    load: async () => {
      const gpu = await setupNodeWebGPU({ allowSoftware: mode !== 'hardware', vulkanICD: mode === 'software-fallback' ? 'auto' : 'system' });
      return { device: describeAdapter(gpu), softwareAdapter: gpu.isSoftware };
    },
  };
}

const NODE_GPU = tensorflowCandidate('@tensorflow/tfjs-node-gpu', 'libtensorflow with CUDA (GPU when CUDA 11.2 / cuDNN 8.1 load, else CPU)');
const NODE = tensorflowCandidate('@tensorflow/tfjs-node', 'libtensorflow on the CPU');
const WASM: BackendCandidate = {
  name: 'wasm',
  packageName: '@tensorflow/tfjs-backend-wasm',
  load: async () => (await import('@tensorflow/tfjs-backend-wasm'), { device: cpuDescription() }),
};
const CPU: BackendCandidate = { name: 'cpu', packageName: '@tensorflow/tfjs (tfjs-backend-cpu)', load: async () => ({ device: cpuDescription() }) };

/** The backends tried for a choice, in order. */
function candidates(choice: BackendChoice, options: BackendOptions): BackendCandidate[] {
  switch (choice) {
    case 'auto':
      return options.needsSynchronousReads ? [NODE_GPU, NODE, WASM, CPU] : [NODE_GPU, webgpuCandidate('hardware'), NODE, WASM, CPU];
    case 'tensorflow':
      return [NODE_GPU, NODE];
    case 'webgpu':
      return [webgpuCandidate(options.allowSoftwareGpu ? 'software-fallback' : 'explicit')];
    case 'wasm':
      return [WASM];
    case 'cpu':
      return [CPU];
  }
}

/**
 * Loads and activates a backend. `tf.setBackend` falls back silently on failure, so the result
 * is checked with `tf.getBackend()`. On wasm it also calls the package's `enableWasmTraining()`:
 * the gradient kernels tfjs-backend-wasm 4.22 lacks (conv layers train) and the transposed
 * matrix-product fix (dense layers train several times faster).
 *
 * @throws Error when an explicitly chosen backend cannot be loaded or activated, naming the
 *   package to install (for webgpu: how to get an adapter) and the underlying failure; or for a
 *   name not in {@link BACKEND_CHOICES}.
 */
export async function selectBackend(choice: BackendChoice, options: BackendOptions = {}): Promise<SelectedBackend> {
  if (!(BACKEND_CHOICES as readonly string[]).includes(choice)) {
    throw new Error(`--backend: the backend must be one of ${BACKEND_CHOICES.join(', ')}; received ${String(choice)}.`);
  }
  const failures: string[] = [];
  for (const candidate of candidates(choice, options)) {
    try {
      const { device, softwareAdapter = false } = await candidate.load();
      if (candidate.name !== 'webgpu') {
        const activated = await tf.setBackend(candidate.name);
        await tf.ready();
        if (!activated || tf.getBackend() !== candidate.name) {
          throw new Error(`tf.setBackend('${candidate.name}') did not activate it (active backend: ${tf.getBackend()})`);
        }
      }
      if (candidate.name !== 'webgpu') releaseNodeWebGPU(); // a GPU set up earlier in this process
      let note: string | null = null;
      if (candidate.name === 'wasm') {
        enableWasmTraining();
        note = "tfjs-gala's enableWasmTraining(): conv gradient kernels and the transposed-matMul fix";
      }
      return { name: candidate.name, packageName: candidate.packageName, device, softwareAdapter, note };
    } catch (error) {
      failures.push(`${candidate.packageName}: ${firstLine((error as Error).message).replace(/\.+$/, '')}`);
    }
  }
  const hints: Record<BackendChoice, string> = {
    auto: '',
    tensorflow: ' Install @tensorflow/tfjs-node (or @tensorflow/tfjs-node-gpu), or choose --backend wasm or cpu.',
    webgpu:
      ' A WebGPU adapter needs a GPU driver with Vulkan support (and the Vulkan loader, Debian package libvulkan1), or a software ' +
      'Vulkan driver named by VK_ICD_FILENAMES, e.g. VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json (SwiftShader, ' +
      "from Debian's chromium package; CPU speed). The packages: npm install webgpu @tensorflow/tfjs-backend-webgpu.",
    wasm: ' Install @tensorflow/tfjs-backend-wasm, or choose --backend cpu.',
    cpu: '',
  };
  // setupNodeWebGPU's own message already says how to get an adapter when it found none.
  const hint = choice === 'webgpu' && failures.some((f) => f.includes('VK_ICD_FILENAMES')) ? '' : hints[choice];
  throw new Error(`--backend: backend '${choice}' is not available. Tried ${failures.join('; ')}.${hint}`);
}

/**
 * Makes the next synchronous reads of every tfjs variable (model weights, optimizer slots, loss
 * state) work on webgpu in Node, where they otherwise fail: call before saving a model with
 * its loss state or reading that state. Does nothing on other backends.
 */
export async function prepareVariablesForSyncReads(): Promise<void> {
  if (tf.getBackend() === 'webgpu') await prepareSyncReads();
}

/**
 * Frees what {@link selectBackend} holds that would keep the process alive: a WebGPU device
 * (Dawn keeps Node running while one exists), once the work queued on it is done. Call when the
 * command is done.
 */
export async function releaseBackends(): Promise<void> {
  const webgpu = tf.findBackend('webgpu') as (tf.KernelBackend & { device?: GPUDevice }) | null;
  try {
    await webgpu?.device?.queue.onSubmittedWorkDone();
  } catch {
    // a lost device has nothing left to finish
  }
  releaseNodeWebGPU();
}

/**
 * Checks that `backend` can train `model`: the CNN needs the `Conv2DBackpropFilter` kernel
 * (stock tfjs-backend-wasm 4.22 has none; {@link selectBackend} adds it).
 * @throws Error naming the backend and what to choose instead.
 */
export function checkBackendTrains(model: ModelName, backend: string): void {
  if (model !== 'cnn') return;
  const missing = ['Conv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'MaxPool', 'MaxPoolGrad'].filter((kernel) => tf.getKernel(kernel, backend) === undefined);
  if (missing.length > 0) {
    throw new Error(`--model: the cnn must be trainable on the backend '${backend}'; received a backend without the kernels ${missing.join(', ')}. Choose --backend cpu or wasm.`);
  }
}

/** "wasm (@tensorflow/tfjs-backend-wasm; CPU: 2 cores of ...; <note>)". */
export function formatBackend(backend: Pick<SelectedBackend, 'name' | 'packageName'> & Partial<Pick<SelectedBackend, 'device' | 'softwareAdapter' | 'note'>>): string {
  // The pure-JS cpu backend trains the demo's MLP about 20x slower than wasm: say how to fix it.
  const hint = backend.name === 'cpu' ? 'pure JavaScript, slow: npm install @tensorflow/tfjs-backend-wasm for ~20x faster training' : null;
  const software = backend.softwareAdapter ? 'software adapter: CPU speed or less' : null;
  const parts = [backend.packageName, backend.device ? (backend.name === 'webgpu' ? `adapter: ${backend.device}` : backend.device) : null, software, backend.note, hint];
  return `${backend.name} (${parts.filter(Boolean).join('; ')})`;
}

function describeAdapter(gpu: NodeWebGPUInfo): string {
  const { vendor, architecture, device, description } = gpu.adapter;
  const text = description || [vendor, architecture, device].filter(Boolean).join(' ') || 'unnamed adapter';
  return `${text}${gpu.vulkanICD ? ` via ${gpu.vulkanICD}` : ''}`;
}

async function importOptional(packageName: string): Promise<unknown> {
  return import(packageName);
}

function firstLine(text: string): string {
  return text.split('\n')[0];
}
