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
