/**
 * Parsers for numeric command-line options. Each throws commander's InvalidArgumentError, which
 * commander reports as: option '--epochs <n>' argument 'abc' is invalid. <why>.
 */

import { InvalidArgumentError } from 'commander';

/** Parser for an integer option in [min, max]. */
export function integerOption(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  const allowed = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;
  return (value: string) => {
    const parsed = parseNumber(value);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(`Expected ${allowed}.`);
    }
    return parsed;
  };
}

/** Parser for a finite number option, at least `min` (or above it when `exclusiveMin`). */
export function numberOption(min: number, exclusiveMin = false): (value: string) => number {
  const allowed = `a finite number ${exclusiveMin ? '>' : '>='} ${min}`;
  return (value: string) => {
    const parsed = parseNumber(value);
    if (!Number.isFinite(parsed) || parsed < min || (exclusiveMin && parsed === min)) {
      throw new InvalidArgumentError(`Expected ${allowed}.`);
    }
    return parsed;
  };
}

// Number('') is 0 and Number(' 1 ') is 1: only accept what looks like a number.
function parseNumber(value: string): number {
  return /^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i.test(value) ? Number(value) : Number.NaN;
}

/**
 * Parser for a comma-separated list of at least one value, each parsed by `item` (for example
 * `integerOption(0)`); duplicates are rejected. `--seeds 0,1,2` gives [0, 1, 2].
 */
export function listOption<T>(item: (value: string) => T): (value: string) => T[] {
  return (value: string) => {
    const parts = value.split(',').map((part) => part.trim());
    if (parts.length === 0 || parts.some((part) => part === '')) {
      throw new InvalidArgumentError('Expected a comma-separated list with no empty entries, such as 0,1,2.');
    }
    const parsed = parts.map((part) => {
      try {
        return item(part);
      } catch (error) {
        throw new InvalidArgumentError(`Entry '${part}': ${(error as Error).message}`);
      }
    });
    const duplicate = parsed.findIndex((entry, i) => parsed.indexOf(entry) !== i);
    if (duplicate >= 0) throw new InvalidArgumentError(`Entry '${parts[duplicate]}' repeats an earlier one.`);
    return parsed;
  };
}

/** Parser for one of `choices` (for list entries; single options use commander's `.choices`). */
export function choiceOption<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value: string) => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`Allowed: ${choices.join(', ')}.`);
    return value as T;
  };
}
