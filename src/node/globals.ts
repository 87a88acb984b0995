/**
 * The npm package `webgpu` (Dawn for Node) and the browser globals tfjs-backend-webgpu reads:
 * `navigator.gpu` and the WebGPU classes and constants (`GPUBufferUsage`, ...).
 */
import { firstLine, INSTALL_HINT } from './errors';

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

/** Imports the npm package `webgpu`, with an error that names the install command. */
export async function importWebGPU(): Promise<WebGPUModule> {
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
export function installGlobals(globals: object): () => void {
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
export function installNavigatorGPU(gpu: GPU): () => void {
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
