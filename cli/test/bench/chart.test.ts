import { accuracyChartSpec, rowColors } from '../../src/bench/chart';
import { renderSvg } from 'tfjs-gala';
import { summarizeRuns } from '../../src/bench/summary';
import { row, run } from './fixtures';

describe('accuracy chart', () => {
  const summary = summarizeRuns([
    run(100, 'ce', 0, [row('ce', 0.69, 0.86, 0.56, 0.6), row('ce+pr', 0.73, 0.85, 0.61, 0.68), row('ce+la', 0.74, 0.8, 0.6, 0.7)]),
    run(100, 'gala', 0, [row('gala', 0.73, 0.85, 0.58, 0.73), row('gala+pr', 0.75, 0.84, 0.62, 0.76)]),
    run(10, 'gala', 0, [row('gala', 0.82, 0.78, 0.91, null), row('gala+pr', 0.82, 0.78, 0.91, null)]),
  ]);

  it('groups bars by imbalance factor, one bar per row, in percent', () => {
    const spec = accuracyChartSpec(summary, 'title');
    const values = (spec.data as { values: { imbalance: string; method: string; mean: number }[] }).values;
    expect(values.map((v) => `${v.imbalance} ${v.method}`)).toEqual(['IF 100 ce', 'IF 100 ce +PR', 'IF 100 ce +LA', 'IF 100 gala', 'IF 100 gala +PR', 'IF 10 gala', 'IF 10 gala +PR']);
    expect(values[0].mean).toBeCloseTo(69, 10);
    expect((spec.encoding as { x: { field: string } }).x.field).toBe('imbalance');
  });

  it('pairs a method with its re-balanced row by hue', () => {
    expect(rowColors(['ce', 'ce+pr', 'ce+la', 'gala', 'gala+pr'])).toEqual(['#4c78a8', '#9ecae9', '#bab0ac', '#f58518', '#ffbf79']);
  });

  it('renders to an SVG document with the labels', async () => {
    const svg = await renderSvg(accuracyChartSpec(summary, 'Fashion-MNIST-LT test'));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('Fashion-MNIST-LT test');
    expect(svg).toContain('gala +PR');
    expect(svg).toContain('IF 100');
  });
});
