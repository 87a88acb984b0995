import { checkNumberArray } from './validate';

/**
 * Per-class frequency arguments shared by the baseline losses and weight helpers: class counts
 * (training samples per class) and class priors (their normalised form).
 */

/**
 * Throws unless `value` is an array of at least two finite numbers > 0, one per class.
 * Zero is refused because every user of counts takes their log or a negative power; give an
 * empty class a pseudo-count (e.g. 1) instead.
 * @returns a copy of the array.
 */
export function checkPositiveClassArray(name: string, value: unknown): number[] {
  const values = checkNumberArray(name, value, null, 0);
  if (values.length < 2 || values.some((v) => v <= 0)) {
    const shown = values.length > 12 ? `${values.slice(0, 12).join(', ')}, …` : values.join(', ');
    throw new Error(
      `${name} must be an array of at least 2 finite numbers > 0 (one per class; give an empty class a pseudo-count such as 1); ` +
        `received [${shown}] (length ${values.length}).`,
    );
  }
  return values;
}

/** Divides by the sum, so the entries add up to 1. */
export function normalise(values: readonly number[]): number[] {
  const total = values.reduce((a, b) => a + b, 0);
  return values.map((v) => v / total);
}

/**
 * Class priors from exactly one of `classCounts` and `priors` (null and undefined mean absent),
 * normalised to sum to 1. Unnormalised priors are accepted: a constant factor on every prior
 * only shifts each row of adjusted logits by a constant.
 * @throws Error naming `owner` when both or neither are given, or when the one given is invalid.
 */
export function priorsFrom(owner: string, classCounts: unknown, priors: unknown): number[] {
  const haveCounts = classCounts != null;
  const havePriors = priors != null;
  if (haveCounts === havePriors) {
    throw new Error(
      `${owner}: pass exactly one of classCounts (training samples per class) and priors (class frequencies); ` +
        `received ${haveCounts ? 'both' : 'neither'}.`,
    );
  }
  return normalise(haveCounts ? checkPositiveClassArray('classCounts', classCounts) : checkPositiveClassArray('priors', priors));
}

/** Float32 natural logs, computed in double precision first. */
export function logs(values: readonly number[]): Float32Array {
  return Float32Array.from(values, (v) => Math.log(v));
}
