/**
 * The benchmark's chart: overall accuracy by method, one group of bars per imbalance factor,
 * with the spread over seeds as error bars. A Vega-Lite spec rendered to SVG by vega in Node
 * (no browser, no canvas).
 */

import * as vega from 'vega';
import * as vegaLite from 'vega-lite';

import { displayName } from './markdown';
import type { SummaryRow } from './summary';

/** A Vega-Lite specification (plain JSON). */
export type VegaLiteSpec = Record<string, unknown>;

/**
 * Grouped bars: x = imbalance factor, one bar per row (method or post-hoc row) inside each
 * group, height = mean overall top-1 accuracy in percent, error bar = mean ± std over seeds.
 * The y axis starts near the lowest bar, not at 0, so that differences of a point stay visible
 * (the axis title says so).
 */
export function accuracyChartSpec(summary: readonly SummaryRow[], title: string): VegaLiteSpec {
  const methods = [...new Set(summary.map((row) => displayName(row.name)))];
  const imbalanceFactors = [...new Set(summary.map((row) => `IF ${row.imbalanceFactor}`))];
  const values = summary.map((row) => {
    const mean = 100 * row.overall.mean;
    const std = 100 * (row.overall.std ?? 0);
    return { imbalance: `IF ${row.imbalanceFactor}`, method: displayName(row.name), mean, low: mean - std, high: mean + std, runs: row.runs };
  });
  const lowest = Math.min(...values.map((v) => v.low));
  const floor = Math.max(0, Math.floor((lowest - 5) / 5) * 5);
  const y = { type: 'quantitative', scale: { domain: [floor, 100], zero: false }, title: `overall top-1 accuracy (%), axis from ${floor}` };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: { step: 14 },
    height: 320,
    data: { values },
    encoding: {
      x: { field: 'imbalance', type: 'nominal', sort: imbalanceFactors, title: 'imbalance factor', axis: { labelAngle: 0 } },
      xOffset: { field: 'method', type: 'nominal', sort: methods },
      color: { field: 'method', type: 'nominal', sort: methods, scale: { scheme: 'tableau20' }, title: 'method' },
      tooltip: [
        { field: 'imbalance', type: 'nominal' },
        { field: 'method', type: 'nominal' },
        { field: 'mean', type: 'quantitative', format: '.1f' },
        { field: 'runs', type: 'quantitative' },
      ],
    },
    layer: [
      { mark: { type: 'bar', clip: true }, encoding: { y: { field: 'mean', ...y } } },
      { mark: { type: 'rule', color: 'black', clip: true }, encoding: { y: { field: 'low', ...y }, y2: { field: 'high' } } },
    ],
  };
}

/**
 * Renders a Vega-Lite spec to an SVG document (headless vega view, renderer 'none').
 * @throws Error when the spec is invalid.
 */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const compiled = vegaLite.compile(spec as unknown as vegaLite.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
