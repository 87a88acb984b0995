import { longTailCounts, sampleClassIndices } from '../../src/data/long_tail';

describe('longTailCounts', () => {
  // floor(500 * IF^(-c/9)), computed with 50-digit decimals.
  it.each([
    [100, [500, 299, 179, 107, 64, 38, 23, 13, 8, 5]],
    [50, [500, 323, 209, 135, 87, 56, 36, 23, 15, 10]],
    [10, [500, 387, 299, 232, 179, 139, 107, 83, 64, 50]],
    [1, [500, 500, 500, 500, 500, 500, 500, 500, 500, 500]],
  ])('follows the exponential profile at IF %p, nMax 500', (imbalanceFactor, expected) => {
    expect(longTailCounts({ numClasses: 10, imbalanceFactor, nMax: 500 })).toEqual(expected);
  });

  it('does not floor an exact integer to one less through rounding error', () => {
    // 32^(-c/5) = 2^(-c) exactly, but 500 * Math.pow(32, -2/5) is 124.99999999999999.
    expect(500 * Math.pow(32, -2 / 5)).toBeLessThan(125);
    expect(longTailCounts({ numClasses: 6, imbalanceFactor: 32, nMax: 500 })).toEqual([500, 250, 125, 62, 31, 15]);
  });

  it.each([
    [{ numClasses: 1, imbalanceFactor: 10, nMax: 500 }, 'numClasses must be an integer >= 2; received 1.'],
    [{ numClasses: 10, imbalanceFactor: 0.5, nMax: 500 }, 'imbalanceFactor must be a finite number >= 1; received 0.5.'],
    [{ numClasses: 10, imbalanceFactor: Infinity, nMax: 500 }, 'imbalanceFactor must be a finite number >= 1; received Infinity.'],
    [{ numClasses: 10, imbalanceFactor: 10, nMax: 2.5 }, 'nMax must be an integer >= 1; received 2.5.'],
    [{ numClasses: 10, imbalanceFactor: 100, nMax: 50 }, /nMax 50 with imbalanceFactor 100 leaves the tail class with no sample/],
  ])('rejects %p', (options, message) => {
    expect(() => longTailCounts(options)).toThrow(message);
  });
});

describe('sampleClassIndices', () => {
  // 3 classes, interleaved: labels[i] = i % 3, 30 examples per class.
  const labels = Uint8Array.from({ length: 90 }, (_, i) => i % 3);

  it('takes the requested number of each class, ascending, without repeats', () => {
    const indices = sampleClassIndices(labels, [30, 10, 2], 0);
    const perClass = [0, 0, 0];
    for (const i of indices) perClass[labels[i]]++;
    expect(perClass).toEqual([30, 10, 2]);
    expect(new Set(indices).size).toBe(42);
    expect(Array.from(indices)).toEqual(Array.from(indices).sort((a, b) => a - b));
  });

  it('is deterministic in the seed', () => {
    const a = sampleClassIndices(labels, [5, 5, 5], 3);
    expect(sampleClassIndices(labels, [5, 5, 5], 3)).toEqual(a);
    expect(sampleClassIndices(labels, [5, 5, 5], 4)).not.toEqual(a);
  });

  it('nests smaller counts inside larger ones at the same seed', () => {
    const large = new Set(sampleClassIndices(labels, [20, 12, 8], 9));
    const small = sampleClassIndices(labels, [20, 4, 1], 9);
    for (const i of small) expect(large.has(i)).toBe(true);
  });

  it("chooses a class's examples independently of the other classes' counts", () => {
    const ofClass = (indices: Int32Array, c: number) => Array.from(indices).filter((i) => labels[i] === c);
    expect(ofClass(sampleClassIndices(labels, [3, 7, 1], 5), 1)).toEqual(ofClass(sampleClassIndices(labels, [29, 7, 0], 5), 1));
  });

  it('draws each class from its own random stream', () => {
    // Position of each chosen example within its class: labels[i] = i % 3, so position = floor(i / 3).
    const indices = Array.from(sampleClassIndices(labels, [5, 5, 5], 11));
    const positions = [0, 1, 2].map((c) => indices.filter((i) => labels[i] === c).map((i) => Math.floor(i / 3)));
    expect(positions[1]).not.toEqual(positions[0]);
    expect(positions[2]).not.toEqual(positions[0]);
  });

  it('names the class that has too few examples', () => {
    expect(() => sampleClassIndices(labels, [5, 31, 5], 0)).toThrow('Class 1 has 30 examples but 31 are needed.');
  });

  it('rejects labels outside the classes of counts', () => {
    expect(() => sampleClassIndices([0, 1, 2], [1, 1], 0)).toThrow('labels[2] is 2; class indices must be integers in [0, 1].');
  });
});
