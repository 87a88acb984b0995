/**
 * Choosing the tfjs backend for the command line. The fast native backends are optional
 * packages (they download libtensorflow at install time, which fails without internet), so
 * every backend is loaded with a dynamic import inside try/catch.
 */

import * as tf from '@tensorflow/tfjs';

import { isWasmTransposedMatMulFixInstalled, setWasmTransposedMatMulFix } from './wasm_matmul';

/** `auto` picks the fastest one installed, in the order tensorflow (tfjs-node-gpu, tfjs-node), wasm, cpu. */
export const BACKEND_CHOICES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** The backend in use and where it came from. */
export interface SelectedBackend {
  /** `tf.getBackend()` after selection: 'tensorflow', 'wasm' or 'cpu'. */
  readonly name: string;
  /** The package that provides it. */
  readonly packageName: string;
}

interface BackendCandidate {
  readonly name: 'tensorflow' | 'wasm' | 'cpu';
  readonly packageName: string;
  /** Registers the backend with tfjs; throws when the package is missing or broken. */
  readonly load: () => Promise<unknown>;
}

const CANDIDATES: readonly BackendCandidate[] = [
  // tfjs-node(-gpu) are usually not installed: imported by a name held in a variable, so that
  // neither TypeScript nor the bundler needs them to exist.
  { name: 'tensorflow', packageName: '@tensorflow/tfjs-node-gpu', load: () => importOptional('@tensorflow/tfjs-node-gpu') },
  { name: 'tensorflow', packageName: '@tensorflow/tfjs-node', load: () => importOptional('@tensorflow/tfjs-node') },
  { name: 'wasm', packageName: '@tensorflow/tfjs-backend-wasm', load: () => import('@tensorflow/tfjs-backend-wasm') },
  { name: 'cpu', packageName: '@tensorflow/tfjs (tfjs-backend-cpu)', load: async () => undefined },
];

/**
 * Loads and activates a backend. `tf.setBackend` falls back silently on failure, so the result
 * is checked with `tf.getBackend()`.
 *
 * @throws Error when an explicitly chosen backend cannot be loaded or activated, naming the
 *   package to install and the underlying failure; or for a name not in {@link BACKEND_CHOICES}.
 */
export async function selectBackend(choice: BackendChoice): Promise<SelectedBackend> {
  if (!(BACKEND_CHOICES as readonly string[]).includes(choice)) {
    throw new Error(`Unknown backend '${choice}'; allowed: ${BACKEND_CHOICES.join(', ')}.`);
  }
  const candidates = choice === 'auto' ? CANDIDATES : CANDIDATES.filter((c) => c.name === choice);
  const failures: string[] = [];
  for (const candidate of candidates) {
    try {
      await candidate.load();
      const activated = await tf.setBackend(candidate.name);
      await tf.ready();
      if (!activated || tf.getBackend() !== candidate.name) {
        throw new Error(`tf.setBackend('${candidate.name}') did not activate it (active backend: ${tf.getBackend()})`);
      }
      return { name: candidate.name, packageName: candidate.packageName };
    } catch (error) {
      failures.push(`${candidate.packageName}: ${firstLine((error as Error).message)}`);
    }
  }
  const hint =
    choice === 'tensorflow'
      ? ' Install @tensorflow/tfjs-node (or @tensorflow/tfjs-node-gpu), or choose --backend wasm or cpu.'
      : choice === 'wasm'
        ? ' Install @tensorflow/tfjs-backend-wasm, or choose --backend cpu.'
        : '';
  throw new Error(`Backend '${choice}' is not available. Tried ${failures.join('; ')}.${hint}`);
}

async function importOptional(packageName: string): Promise<unknown> {
  return import(packageName);
}

function firstLine(text: string): string {
  return text.split('\n')[0];
}

/** A backend selected for training, with the speed fixes the command line applied to it. */
export interface TrainingBackend extends SelectedBackend {
  /** How the backend differs from stock tfjs, for the output; null when it does not. */
  readonly note: string | null;
}

/**
 * {@link selectBackend}, then, on wasm, the transposed-matMul speed fix of `wasm_matmul.ts`
 * (about 4x faster training of dense layers, same results to float rounding); on other backends
 * the fix is removed.
 * @throws as {@link selectBackend}.
 */
export async function selectTrainingBackend(choice: BackendChoice): Promise<TrainingBackend> {
  const selected = await selectBackend(choice);
  const wasm = selected.name === 'wasm';
  if (wasm || isWasmTransposedMatMulFixInstalled()) setWasmTransposedMatMulFix(wasm);
  return { ...selected, note: wasm ? 'transposed matMul routed through an explicit transpose, ~4x faster training (src/cli/wasm_matmul.ts)' : null };
}

/** "wasm (@tensorflow/tfjs-backend-wasm; <note>)". */
export function formatBackend(backend: SelectedBackend & { readonly note?: string | null }): string {
  // The pure-JS cpu backend trains the demo's MLP about 20x slower than wasm: say how to fix it.
  const hint = backend.name === 'cpu' ? 'pure JavaScript, slow: npm install @tensorflow/tfjs-backend-wasm for ~20x faster training' : null;
  const notes = [backend.note, hint].filter(Boolean).join('; ');
  return `${backend.name} (${backend.packageName}${notes ? `; ${notes}` : ''})`;
}
