/**
 * Plumbing shared by the wasm training kernels: running other wasm kernels from inside a kernel
 * and freeing every intermediate buffer they produce, plus the checks and error messages.
 *
 * Inside a kernel there is no engine and no `tf.tidy`: the results of nested kernel calls are
 * plain `TensorInfo`s whose buffers must be released with `backend.disposeData` (reference
 * counted: a `Reshape` shares its input's buffer and adds a reference).
 *
 * @internal
 */

import * as tf from '@tensorflow/tfjs-core';

/** Name of the backend these kernels are for. */
export const WASM = 'wasm';

/** Prefix of every error message of this feature. */
export const ERROR_PREFIX = 'enableWasmTraining:';

/**
 * Builds an error in the project's format `enableWasmTraining: <thing> must be <allowed>; received <value>.`
 * (`fn` replaces the `enableWasmTraining` prefix for the other public functions).
 */
export function trainingError(thing: string, allowed: string, received: unknown, fn = 'enableWasmTraining'): Error {
  return new Error(`${fn}: ${thing} must be ${allowed}; received ${describe(received)}.`);
}

/** A description of what was received, written as is (not quoted like a string value). */
export class Received {
  constructor(readonly text: string) {}
}

function describe(value: unknown): string {
  if (value instanceof Received) return value.text;
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return JSON.stringify(value);
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * Collects the intermediate results of nested kernel calls so that they can all be freed at the
 * end. `run` records each result; `keep` takes one out of the collection (the kernel's output).
 */
export class KernelScope {
  private readonly owned: tf.TensorInfo[] = [];

  constructor(readonly backend: tf.KernelBackend) {}

  /** Runs the wasm kernel `kernelName` and records its (single) output as an intermediate. */
  run(kernelName: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): tf.TensorInfo {
    const kernel = tf.getKernel(kernelName, WASM);
    if (kernel === undefined) {
      throw trainingError(`the wasm kernel '${kernelName}' (used by the training kernels)`, 'registered', new Received('none'));
    }
    const out = kernel.kernelFunc({ inputs, backend: this.backend, attrs });
    if (Array.isArray(out)) {
      out.forEach((t) => this.owned.push(t));
      throw new Error(`${ERROR_PREFIX} internal error: the wasm kernel '${kernelName}' returned ${out.length} outputs where one was expected.`);
    }
    this.owned.push(out as tf.TensorInfo);
    return out as tf.TensorInfo;
  }

  /** Records a buffer created outside `run` (e.g. `backend.makeTensorInfo`) for freeing. */
  own(t: tf.TensorInfo): tf.TensorInfo {
    this.owned.push(t);
    return t;
  }

  /** Reshape (shares the buffer; the new reference is recorded). */
  reshape(x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  /** Takes `t` out of the intermediates: it survives {@link dispose}. */
  keep(t: tf.TensorInfo): tf.TensorInfo {
    const i = this.owned.lastIndexOf(t);
    if (i >= 0) this.owned.splice(i, 1);
    return t;
  }

  /** Frees every recorded intermediate (one reference each). */
  dispose(): void {
    for (const t of this.owned) this.backend.disposeData(t.dataId);
    this.owned.length = 0;
  }
}

/**
 * Runs `fn` with a fresh {@link KernelScope}, keeps its result and frees everything else, also
 * when `fn` throws.
 */
export function withScope(backend: tf.KernelBackend, fn: (scope: KernelScope) => tf.TensorInfo): tf.TensorInfo {
  const scope = new KernelScope(backend);
  try {
    return scope.keep(fn(scope));
  } finally {
    scope.dispose();
  }
}

/** A float32 version of `x` (recorded in `scope` when a cast was needed). */
export function asFloat32(scope: KernelScope, x: tf.TensorInfo): tf.TensorInfo {
  return x.dtype === 'float32' ? x : scope.run('Cast', { x }, { dtype: 'float32' });
}

/** A float32 zero tensor of the given shape, recorded in `scope`. */
export function zeros(scope: KernelScope, shape: number[]): tf.TensorInfo {
  return scope.run('Fill', {}, { shape, value: 0, dtype: 'float32' });
}

/** Throws unless `tensor` has rank 4. */
export function checkRank4(kernel: string, name: string, tensor: tf.TensorInfo): void {
  if (tensor.shape.length !== 4) {
    throw trainingError(`${kernel} input '${name}'`, 'of rank 4', new Received(`shape ${JSON.stringify(tensor.shape)}`));
  }
}

/** Throws unless `actual` equals `expected` (the shape the kernel's attributes imply). */
export function checkShape(kernel: string, name: string, actual: readonly number[], expected: readonly number[], why: string): void {
  if (actual.length !== expected.length || actual.some((d, i) => d !== expected[i])) {
    throw trainingError(`${kernel} input '${name}'`, `of shape ${JSON.stringify(expected)} (${why})`, new Received(`shape ${JSON.stringify(actual)}`));
  }
}

/**
 * Rows `[start, start + length)` of axis `axis` of `x`, where rows outside `[0, x.shape[axis])`
 * are zeros: returns the crop to apply with `Slice` (null when none is needed) and the zero rows
 * to add before and after (left to the convolution's explicit padding, which costs no copy).
 */
export interface AxisWindow {
  /** First row of `x` used, and how many rows are used (0 when the window misses `x` entirely). */
  readonly begin: number;
  readonly size: number;
  /** Zero rows before and after the used rows. */
  readonly padBefore: number;
  readonly padAfter: number;
}

export function axisWindow(extent: number, start: number, length: number): AxisWindow {
  const begin = Math.min(Math.max(0, start), extent);
  const end = Math.max(Math.min(extent, start + length), begin);
  const size = end - begin;
  const padBefore = size === 0 ? length : begin - start;
  const padAfter = length - padBefore - size;
  return { begin, size, padBefore, padAfter };
}
