import { checkSeed, deriveSeed, mulberry32, shuffleInPlace } from '../../src/data/random';

describe('mulberry32', () => {
  it('matches values computed by an independent implementation of the algorithm', () => {
    // Python port of mulberry32 (32-bit arithmetic with explicit masks).
    const zero = mulberry32(0);
    expect(zero()).toBe(0.26642920868471265);
    expect(zero()).toBe(0.0003297457005828619);
    expect(zero()).toBe(0.2232720274478197);
    expect(mulberry32(42)()).toBe(0.6011037519201636);
  });

  it('repeats the same sequence for the same seed and differs for another seed', () => {
    const a = mulberry32(7);
    const b = mulberry32(7);
    const c = mulberry32(8);
    const seqA = Array.from({ length: 20 }, () => a());
    expect(Array.from({ length: 20 }, () => b())).toEqual(seqA);
    expect(Array.from({ length: 20 }, () => c())).not.toEqual(seqA);
  });

  it('yields floats in [0, 1) with a mean near 1/2', () => {
    const random = mulberry32(123);
    let sum = 0;
    for (let i = 0; i < 10000; i++) {
      const x = random();
      expect(x >= 0 && x < 1).toBe(true);
      sum += x;
    }
    expect(Math.abs(sum / 10000 - 0.5)).toBeLessThan(0.02);
  });
});

describe('deriveSeed', () => {
  it('gives distinct seeds for distinct streams and is deterministic', () => {
    const seeds = Array.from({ length: 100 }, (_, stream) => deriveSeed(0, stream));
    expect(new Set(seeds).size).toBe(100);
    expect(deriveSeed(0, 5)).toBe(seeds[5]);
    expect(deriveSeed(1, 5)).not.toBe(seeds[5]);
  });
});

describe('shuffleInPlace', () => {
  it('returns a permutation of the input', () => {
    const items = Int32Array.from({ length: 50 }, (_, i) => i);
    shuffleInPlace(items, mulberry32(1));
    expect(Array.from(items).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(Array.from(items)).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('draws every permutation of 3 items about equally often', () => {
    const random = mulberry32(2);
    const seen = new Map<string, number>();
    for (let i = 0; i < 6000; i++) {
      const key = shuffleInPlace([0, 1, 2], random).join('');
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    expect(seen.size).toBe(6);
    for (const count of seen.values()) expect(Math.abs(count - 1000)).toBeLessThan(150);
  });
});

describe('checkSeed', () => {
  it.each([-1, 1.5, 2 ** 32, Number.NaN])('rejects %p, naming the argument', (seed) => {
    expect(() => checkSeed(seed, '--seed')).toThrow(/--seed must be an integer in \[0, 4294967295\]/);
  });
});
