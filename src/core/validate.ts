/**
 * Argument checks shared by the losses, layers and callbacks. Each error names the argument,
 * the value received and what is allowed (Keras convention).
 */

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(describe).join(', ')}]`;
  return String(value);
}

/** Throws unless `value` is an integer >= `min`. */
export function checkInteger(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new Error(`${name} must be an integer >= ${min}; received ${describe(value)}.`);
  }
  return value;
}

/** Throws unless `value` is a finite number in the given range (`min` inclusive unless `exclusiveMin`). */
export function checkNumber(
  name: string,
  value: unknown,
  opts: { min?: number; exclusiveMin?: boolean; max?: number } = {},
): number {
  const { min, exclusiveMin = false, max } = opts;
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (min === undefined || (exclusiveMin ? value > min : value >= min)) &&
    (max === undefined || value <= max);
  if (!ok) {
    const bounds = [
      min === undefined ? null : `${exclusiveMin ? '>' : '>='} ${min}`,
      max === undefined ? null : `<= ${max}`,
    ].filter(Boolean);
    throw new Error(`${name} must be a finite number${bounds.length ? ' ' + bounds.join(' and ') : ''}; received ${describe(value)}.`);
  }
  return value as number;
}

/** Throws unless `value` is a boolean. */
export function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new Error(`${name} must be true or false; received ${describe(value)}.`);
  return value;
}

/** Throws unless `value` is one of `allowed`. */
export function checkOneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new Error(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}; received ${describe(value)}.`);
  }
  return value as T;
}

/** Throws unless `value` is an array of `length` finite numbers, each >= `min` (when given). */
export function checkNumberArray(name: string, value: unknown, length: number | null, min?: number): number[] {
  const ok =
    Array.isArray(value) &&
    (length === null || value.length === length) &&
    value.every((v) => typeof v === 'number' && Number.isFinite(v) && (min === undefined || v >= min));
  if (!ok) {
    const what = `${length === null ? 'an array of' : `an array of ${length}`} finite numbers${min === undefined ? '' : ` >= ${min}`}`;
    const got = Array.isArray(value) ? `${describe(value.length > 12 ? value.slice(0, 12).concat(['…']) : value)} (length ${value.length})` : describe(value);
    throw new Error(`${name} must be ${what}; received ${got}.`);
  }
  return (value as number[]).slice();
}
