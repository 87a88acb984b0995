import { FEW_SHOT_BELOW, MANY_SHOT_ABOVE, SHOT_THRESHOLDS, shotGroupOf, shotGroups } from '../../src/eval/shot_groups';

describe('shot groups', () => {
  it('uses the named thresholds many > 100, few < 20', () => {
    expect(MANY_SHOT_ABOVE).toBe(100);
    expect(FEW_SHOT_BELOW).toBe(20);
    expect(SHOT_THRESHOLDS).toEqual({ manyShotAbove: 100, fewShotBelow: 20 });
  });

  it.each([
    [101, 'many'],
    [100, 'medium'],
    [20, 'medium'],
    [19, 'few'],
    [0, 'few'],
  ])('puts a class with %p training examples in %p', (count, group) => {
    expect(shotGroupOf(count)).toBe(group);
  });

  // Group sizes of the reference protocol (docs/guide/07-reference-numbers.md): IF 100: 4/3/3; IF 50: 4/4/2; IF 10: 7/3/0.
  it.each([
    [[500, 299, 179, 107, 64, 38, 23, 13, 8, 5], [0, 1, 2, 3], [4, 5, 6], [7, 8, 9]],
    [[500, 323, 209, 135, 87, 56, 36, 23, 15, 10], [0, 1, 2, 3], [4, 5, 6, 7], [8, 9]],
    [[500, 387, 299, 232, 179, 139, 107, 83, 64, 50], [0, 1, 2, 3, 4, 5, 6], [7, 8, 9], []],
  ])('groups the Fashion-MNIST-LT counts %p', (counts, many, medium, few) => {
    expect(shotGroups(counts)).toEqual({ many, medium, few });
  });

  it('accepts custom thresholds', () => {
    expect(shotGroups([50, 10, 3], { manyShotAbove: 40, fewShotBelow: 5 })).toEqual({ many: [0], medium: [1], few: [2] });
  });

  it('rejects counts that are not non-negative integers', () => {
    expect(() => shotGroups([10, -1])).toThrow('classCounts[1] must be a non-negative integer; received -1.');
    expect(() => shotGroups([10, 2.5])).toThrow('classCounts[1] must be a non-negative integer; received 2.5.');
  });

  it('rejects thresholds where few-shot would overlap many-shot', () => {
    expect(() => shotGroupOf(5, { manyShotAbove: 10, fewShotBelow: 50 })).toThrow(/fewShotBelow <= manyShotAbove \+ 1/);
  });
});
