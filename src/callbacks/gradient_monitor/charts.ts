import { shotGroupOf } from '../../eval/shot_groups';
import type { GradientStatistics } from './gradient_statistics';
import type { VegaLiteSpec } from './render_svg';

/**
 * The monitor's two pictures of the gradient analysis (Zhang et al., ICASSP 2024,
 * arXiv:2403.09036, Fig. 1) as Vega-Lite specs: plain JSON, rendered by `renderSvg`.
 */

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';
/** Pixels per class on the axes, within [MIN_SIZE, MAX_SIZE]. */
const CELL = 24;
const MIN_SIZE = 240;
const MAX_SIZE = 960;

/** Labels and order of the classes on every chart. */
export interface ClassAxis {
  /** Label of each class, by class index. */
  readonly labels: readonly string[];
  /** Class indices in display order: by training count, most frequent first, when counts are known. */
  readonly order: readonly number[];
  /** Training count of each class, when known. */
  readonly counts: readonly number[] | null;
}

/**
 * Display order and labels: classes sorted by `classCounts` (descending, ties by index) when
 * given, else by index; labels from `classNames`, else the class index.
 */
export function classAxis(numClasses: number, classCounts: readonly number[] | null, classNames: readonly string[] | null): ClassAxis {
  const labels = Array.from({ length: numClasses }, (_, j) => (classNames == null ? String(j) : classNames[j]));
  const order = Array.from({ length: numClasses }, (_, j) => j);
  if (classCounts != null) order.sort((a, b) => classCounts[b] - classCounts[a] || a - b);
  return { labels, order, counts: classCounts };
}

function sideLength(numClasses: number): number {
  return Math.min(MAX_SIZE, Math.max(MIN_SIZE, CELL * numClasses));
}

/**
 * Heatmap of the negative-gradient matrix: row = classifier j receiving, column = class k whose
 * samples emit it; the diagonal (positive gradient) is left blank so it does not set the scale.
 */
export function negativeGradientHeatmapSpec(statistics: GradientStatistics, axis: ClassAxis, title: string): VegaLiteSpec {
  const values: { receiving: string; emitting: string; negative: number }[] = [];
  for (const j of axis.order) {
    for (const k of axis.order) {
      if (j !== k) values.push({ receiving: axis.labels[j], emitting: axis.labels[k], negative: statistics.negative[j][k] });
    }
  }
  const sort = axis.order.map((j) => axis.labels[j]);
  const size = sideLength(axis.labels.length);
  return {
    $schema: SCHEMA,
    title,
    width: size,
    height: size,
    data: { values },
    mark: 'rect',
    encoding: {
      x: { field: 'emitting', type: 'nominal', sort, title: 'samples of class k (emitting)' },
      y: { field: 'receiving', type: 'nominal', sort, title: 'classifier j (receiving)' },
      color: { field: 'negative', type: 'quantitative', title: 'negative gradient', scale: { scheme: 'viridis' } },
      tooltip: [{ field: 'receiving' }, { field: 'emitting' }, { field: 'negative', type: 'quantitative', format: '.4g' }],
    },
  };
}

/**
 * Bar chart of the positive / negative gradient ratio per class, classes in display order
 * (most frequent first); bars coloured by shot group when training counts are known.
 * Classes with an undefined ratio (nothing received) have no bar.
 */
export function gradientRatioChartSpec(statistics: GradientStatistics, axis: ClassAxis, title: string): VegaLiteSpec {
  const values = axis.order
    .filter((j) => statistics.ratio[j] != null)
    .map((j) => ({
      class: axis.labels[j],
      ratio: statistics.ratio[j] as number,
      ...(axis.counts == null ? {} : { count: axis.counts[j], group: `${shotGroupOf(axis.counts[j])}-shot` }),
    }));
  const sort = axis.order.map((j) => axis.labels[j]);
  return {
    $schema: SCHEMA,
    title,
    width: sideLength(axis.labels.length),
    height: MIN_SIZE,
    data: { values },
    mark: 'bar',
    encoding: {
      x: { field: 'class', type: 'nominal', sort, title: axis.counts == null ? 'class' : 'class (most training samples first)' },
      y: { field: 'ratio', type: 'quantitative', title: 'positive / negative gradient' },
      ...(axis.counts == null
        ? {}
        : { color: { field: 'group', type: 'nominal', title: 'shot group', sort: ['many-shot', 'medium-shot', 'few-shot'] } }),
      tooltip: [{ field: 'class' }, { field: 'ratio', type: 'quantitative', format: '.4g' }, ...(axis.counts == null ? [] : [{ field: 'count' }])],
    },
  };
}
