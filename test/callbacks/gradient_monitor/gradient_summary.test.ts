import { summarizeGradientImbalance } from '../../../src/callbacks/gradient_monitor/gradient_summary';

describe('summarizeGradientImbalance', () => {
  const negative = [
    [0, 1, 3, 2],
    [2, 0, 2, 2],
    [4, 0, 0, 2],
    [0, 0, 0, 0],
  ];
  const stats = { ratio: [2, 1, 0.5, null], negative };

  it('averages the ratio and the row spread over each shot group', () => {
    const summary = summarizeGradientImbalance(stats, [500, 150, 10, 5]);
    expect(summary.groups.many.classes).toEqual([0, 1]);
    expect(summary.groups.many.meanRatio).toBeCloseTo(1.5);
    // Row 0 {1, 3, 2}: std sqrt(2/3) / 2; row 1 {2, 2, 2}: 0.
    expect(summary.groups.many.meanRowCoefficientOfVariation).toBeCloseTo(Math.sqrt(2 / 3) / 4);
    expect(summary.groups.few.classes).toEqual([2, 3]);
    expect(summary.groups.few.meanRatio).toBe(0.5); // class 3 has no ratio
    expect(summary.groups.few.meanRowCoefficientOfVariation).toBeCloseTo(Math.sqrt(8 / 3) / 2);
  });

  it('reports an empty group as empty with null means, not 0', () => {
    const summary = summarizeGradientImbalance(stats, [500, 150, 10, 5]);
    expect(summary.groups.medium).toEqual({ classes: [], meanRatio: null, meanRowCoefficientOfVariation: null });
  });

  it('honours custom thresholds', () => {
    const summary = summarizeGradientImbalance(stats, [500, 150, 10, 5], { manyShotAbove: 200, fewShotBelow: 8 });
    expect(summary.groups.medium.classes).toEqual([1, 2]);
  });

  it('names classCounts when its length is wrong', () => {
    expect(() => summarizeGradientImbalance(stats, [1, 2])).toThrow(/^summarizeGradientImbalance: classCounts must be an array of 4/);
  });
});
