import { describeValue } from '../core/labels';

/**
 * Reads one per-class array of a saved loss state (e.g. `GalaState.positive`): a plain array or
 * a numeric typed array (`Float32Array`, what `tensor.dataSync()` returns, ...) of `length`
 * finite numbers >= 0.
 * @param name how the message names the field, e.g. `'GalaLoss.setState: state.positive'`.
 * @returns a plain array copy.
 * @throws Error naming the field, what is allowed and what was received: its type and length,
 *   and the first offending entry with its index.
 */
export function readStateArray(name: string, value: unknown, length: number): number[] {
  const allowed = `an array or typed array of ${length} finite numbers >= 0`;
  const isTypedArray = ArrayBuffer.isView(value) && !(value instanceof DataView);
  if (!Array.isArray(value) && !isTypedArray) {
    throw new Error(`${name} must be ${allowed}; received ${describeValue(value)}.`);
  }
  const entries = Array.from(value as ArrayLike<unknown>);
  const kind = Array.isArray(value) ? 'an array' : `a ${(value as object).constructor.name}`;
  if (entries.length !== length) {
    throw new Error(`${name} must be ${allowed}; received ${kind} of length ${entries.length}.`);
  }
  const bad = entries.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v) || v < 0);
  if (bad >= 0) {
    throw new Error(`${name} must be ${allowed}; received ${kind} with entry ${bad} = ${describeEntry(entries[bad])}.`);
  }
  return entries as number[];
}

function describeEntry(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return String(value);
  return `${Array.isArray(value) ? 'an array' : typeof value}`;
}
