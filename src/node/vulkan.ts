/**
 * The Vulkan side of Dawn on Linux: which driver manifest (ICD json) the Vulkan loader reads,
 * from `VK_ICD_FILENAMES` / `VK_DRIVER_FILES`, and a Vulkan loader (`libvulkan.so.1`) for
 * systems that have none.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { firstLine } from './errors';

const VULKAN_LOADER = 'libvulkan.so.1';

/** Loaders preloaded in this process (a loaded library cannot be unloaded). */
const preloadedLoaders = new Set<string>();

/** The ICD jsons named in the environment (`VK_DRIVER_FILES`, else `VK_ICD_FILENAMES`). */
export function envICDs(): string[] {
  const value = process.env.VK_DRIVER_FILES || process.env.VK_ICD_FILENAMES || '';
  return value.split(':').filter((s) => s !== '');
}

/** The first ICD json named in the environment, or null. */
export function currentICD(): string | null {
  return envICDs()[0] ?? null;
}

/** Points the Vulkan loader at `icd` (VK_DRIVER_FILES wins over VK_ICD_FILENAMES in loaders >= 1.3.207). */
export function setICD(icd: string): void {
  process.env.VK_ICD_FILENAMES = icd;
  if (process.env.VK_DRIVER_FILES != null) process.env.VK_DRIVER_FILES = icd;
}

const dlopen = (os.constants as { dlopen?: Record<string, number> }).dlopen ?? {};
/** glibc's RTLD_NODELETE: keeps a library loaded after Node's dlopen gives up on it. */
const RTLD_NODELETE = 0x1000;

let systemLoader: boolean | null = null;
/** Whether the dynamic linker finds a Vulkan loader (`libvulkan.so.1`) by itself, as Dawn asks for it. */
export function hasSystemVulkanLoader(): boolean {
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
export function ensureVulkanLoader(dir: string): string | null {
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
