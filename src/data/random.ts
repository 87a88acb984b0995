/**
 * A small seeded pseudo-random generator, so that subsampling and batch order are reproducible
 * from one integer seed on every platform (`Math.random` cannot be seeded).
 *
 * mulberry32: a 32-bit state advanced by a Weyl sequence (adding an odd constant) and passed
 * through an integer mixing function. Period 2^32, good enough for shuffling datasets of
 * up to millions of items; not for cryptography.
 */

/** Returns a function yielding floats in [0, 1) from the 32-bit `seed` (any integer; taken mod 2^32). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Derives an independent seed for a named sub-stream (for example one per class), so that
 * what one stream draws never depends on how much another stream consumed.
 */
export function deriveSeed(seed: number, stream: number): number {
  // Two rounds of a 32-bit integer hash over (seed, stream).
  let h = (seed >>> 0) ^ Math.imul((stream >>> 0) + 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Fisher–Yates shuffle of the numbers in `items` (an array or typed array) in place, driven by `random` (floats in [0, 1)). Returns `items`. */
export function shuffleInPlace<T extends ArrayLike<number> & { [index: number]: number }>(items: T, random: () => number): T {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = items[i];
    items[i] = items[j];
    items[j] = swap;
  }
  return items;
}

/** Validates a seed: an integer in [0, 2^32). */
export function checkSeed(seed: number, argName = 'seed'): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new Error(`${argName} must be an integer in [0, 4294967295]; received ${seed}.`);
  }
}
