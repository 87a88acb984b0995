/** Choosing the WebGPU adapter: GPU drivers first, SwiftShader as the fallback, and describing what was found. */
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { WebGPUModule } from './globals';
import { findSoftwareVulkanICD, ICD_JSON, type SwiftShaderSource } from './swiftshader';
import { currentICD, ensureVulkanLoader, hasSystemVulkanLoader, setICD } from './vulkan';

/** Description of the adapter tfjs trains on (from WebGPU's `GPUAdapterInfo`). */
export interface NodeWebGPUAdapter {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
}

/**
 * Every `GPU` object created here, kept reachable for the life of the process: with webgpu
 * 0.6.2 on SwiftShader, garbage-collecting one aborts the process ("The futex facility returned
 * an unexpected error code"), crashes it (SIGSEGV) or hangs it, even after its device was
 * destroyed. A Dawn instance costs little memory; Node does not collect at exit, so exit is clean.
 */
const keptInstances = new Set<unknown>();

/** The options of {@link chooseAdapter}, as setupNodeWebGPU resolved them. */
export interface ChooseOptions {
  powerPreference: GPUPowerPreference;
  allowSoftware: boolean;
  vulkanICD: string;
  sources?: readonly SwiftShaderSource[];
  dawnOptions?: readonly string[];
}

/** Finds an adapter as `vulkanICD` and `allowSoftware` ask, setting `VK_ICD_FILENAMES` (Linux) on the way. */
export async function chooseAdapter(
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
    const systemLoader = hasSystemVulkanLoader();
    // Without a Vulkan loader Dawn can only fail, and prints a warning that reads like an error.
    if (fromEnv == null && !systemLoader) throw new Error(noAdapterMessage('the system has no Vulkan loader (libvulkan.so.1).'));
    const loader = systemLoader ? null : fromEnv != null ? ensureVulkanLoader(path.dirname(fromEnv)) : null;
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

/** The error message for "no adapter": why, then the ways to get one. */
export function noAdapterMessage(why: string): string {
  return (
    `setupNodeWebGPU: ${why} To get a WebGPU adapter in Node on Linux, either install a GPU driver with Vulkan ` +
    `support (and the Vulkan loader, Debian package libvulkan1), or use a software Vulkan driver: SwiftShader, through ` +
    `VK_ICD_FILENAMES=/usr/lib/chromium/${ICD_JSON} (Debian's chromium package) or the npm package @sparticuz/chromium ` +
    `(npm install -D @sparticuz/chromium; findSoftwareVulkanICD() unpacks it). Mesa's lavapipe is rejected by Dawn.`
  );
}

/** The adapter's `GPUAdapterInfo` strings ('' where missing). */
export function describeAdapter(adapter: GPUAdapter): NodeWebGPUAdapter {
  const info = (adapter as { info?: GPUAdapterInfo }).info;
  return {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
  };
}

/** WebGPU's `isFallbackAdapter` (on GPUAdapterInfo in current specs, on the adapter before), else the driver's name. */
export function isSoftwareAdapter(adapter: GPUAdapter, described: NodeWebGPUAdapter): boolean {
  const info = (adapter as { info?: { isFallbackAdapter?: boolean } }).info;
  if (info?.isFallbackAdapter === true || (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true) return true;
  const text = `${described.vendor} ${described.architecture} ${described.device} ${described.description}`;
  return /swiftshader|llvmpipe|lavapipe|softpipe|software|basic render/i.test(text);
}
