/**
 * The benchmark's chart: overall accuracy by method, one group of bars per imbalance factor,
 * with the spread over seeds as error bars. A Vega-Lite spec, rendered to SVG with the
 * package's `renderSvg` (vega and vega-lite are optional peers, loaded only then).
 */

import { type VegaLiteSpec } from 'tfjs-gala';
import { displayName } from './markdown';
import type { SummaryRow } from './summary';

/**
 * Grouped bars: x = imbalance factor, one bar per row (method or post-hoc row) inside each
 * group, height = mean overall top-1 accuracy in percent, error bar = mean ± std over seeds.
 * The y axis starts near the lowest bar, not at 0, so that differences of a point stay visible
 * (the axis title says so).
 */
export function accuracyChartSpec(summary: readonly SummaryRow[], title: string): VegaLiteSpec {
  const names = [...new Set(summary.map((row) => row.name))];
  const methods = names.map(displayName);
  const imbalanceFactors = [...new Set(summary.map((row) => `IF ${row.imbalanceFactor}`))];
  const values = summary.map((row) => {
    const mean = 100 * row.overall.mean;
    const std = 100 * (row.overall.std ?? 0);
    return { imbalance: `IF ${row.imbalanceFactor}`, method: displayName(row.name), mean, low: mean - std, high: mean + std, runs: row.runs };
  });
  const lowest = Math.min(...values.map((v) => v.low));
  const highest = Math.max(...values.map((v) => v.high));
  const floor = Math.max(0, Math.floor((lowest - 5) / 5) * 5);
  const ceiling = Math.min(100, Math.ceil((highest + 1) / 5) * 5);
  const y = { type: 'quantitative', scale: { domain: [floor, ceiling], zero: false }, title: `overall top-1 accuracy (%), axis from ${floor}` };
  const color = { field: 'method', type: 'nominal', sort: methods, scale: { domain: methods, range: rowColors(names) }, title: 'method' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: { step: 14 },
    height: 320,
    data: { values },
    encoding: {
      x: { field: 'imbalance', type: 'nominal', sort: imbalanceFactors, title: 'imbalance factor', axis: { labelAngle: 0 } },
      xOffset: { field: 'method', type: 'nominal', sort: methods },
      tooltip: [
        { field: 'imbalance', type: 'nominal' },
        { field: 'method', type: 'nominal' },
        { field: 'mean', type: 'quantitative', format: '.1f' },
        { field: 'runs', type: 'quantitative' },
      ],
    },
    layer: [
      { mark: { type: 'bar', clip: true }, encoding: { y: { field: 'mean', ...y }, color } },
      { mark: { type: 'rule', color: 'black', clip: true }, encoding: { y: { field: 'low', ...y }, y2: { field: 'high' } } },
    ],
  };
}

// Dark and light shade of one hue per method (Tableau 20): a method and its re-balanced row pair up.
const HUE_PAIRS: readonly (readonly [string, string])[] = [
  ['#4c78a8', '#9ecae9'],
  ['#f58518', '#ffbf79'],
  ['#54a24b', '#88d27a'],
  ['#b79a20', '#f2cf5b'],
  ['#439894', '#83bcb6'],
  ['#e45756', '#ff9d98'],
  ['#d67195', '#fcbfd2'],
  ['#b279a2', '#d6a5c9'],
  ['#9e765f', '#d8b5a5'],
];
const OTHER_POST_HOC = '#bab0ac';

/** Colour of each row: its method's dark shade, the light one for '+pr', grey for other post-hoc rows. */
export function rowColors(names: readonly string[]): string[] {
  const methods = [...new Set(names.map((name) => name.split('+')[0]))];
  return names.map((name) => {
    const [method, tag] = name.split('+');
    const [dark, light] = HUE_PAIRS[methods.indexOf(method) % HUE_PAIRS.length];
    return tag === undefined ? dark : tag === 'pr' ? light : OTHER_POST_HOC;
  });
}
