import { classAxis, gradientRatioChartSpec, negativeGradientHeatmapSpec } from '../../../src/callbacks/gradient_monitor/charts';
import { statisticsFromMatrix } from '../../../src/callbacks/gradient_monitor/gradient_statistics';

describe('charts', () => {
  // Specs are plain JSON: building them needs no vega.
  type Spec = { data: { values: Record<string, unknown>[] }; encoding: Record<string, { field: string; sort?: string[] }> };
  const stats = statisticsFromMatrix(
    [
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
    ],
    [1, 1, 1],
  );

  it('orders classes by training count, most frequent first, ties by index', () => {
    expect(classAxis(4, [5, 50, 5, 20], null).order).toEqual([1, 3, 0, 2]);
    expect(classAxis(3, null, ['a', 'b', 'c'])).toEqual({ labels: ['a', 'b', 'c'], order: [0, 1, 2], counts: null });
  });

  it('puts the off-diagonal matrix into the heatmap, receiving class on y, emitting class on x', () => {
    const spec = negativeGradientHeatmapSpec(stats, classAxis(3, [1, 30, 200], null), 'title') as unknown as Spec;
    const values = spec.data.values;
    expect(values).toHaveLength(6);
    expect(values[0]).toEqual({ receiving: '2', emitting: '1', negative: 8 });
    expect(spec.encoding.y.field).toBe('receiving');
    expect(spec.encoding.x.sort).toEqual(['2', '1', '0']);
  });

  it('labels the ratio bars with shot groups when counts are known', () => {
    const spec = gradientRatioChartSpec(stats, classAxis(3, [1, 30, 200], null), 'title') as unknown as Spec;
    expect(spec.data.values.map((v) => v.group)).toEqual(['many-shot', 'medium-shot', 'few-shot']);
  });
});
