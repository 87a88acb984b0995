import type { GradientStatistics } from './gradient_statistics';
import type { ClassAxis } from './charts';

/**
 * Live pictures in the browser through tfjs-vis, which the user passes in (the package never
 * imports it). Follows `tfvis.show.fitCallbacks`: the container is a visor surface `{name, tab}`
 * or an HTML element, and each picture gets its own sub-area.
 */

/** The part of `@tensorflow/tfjs-vis` the monitor uses. */
export interface TfvisLike {
  /** `tfvis.render`: the two chart functions the monitor draws with. */
  readonly render: {
    /** `tfvis.render.heatmap`: the C x C negative-gradient matrix (rows: receiving class j). */
    heatmap(
      container: unknown,
      data: { values: number[][]; xTickLabels?: string[]; yTickLabels?: string[] },
      options?: Record<string, unknown>,
    ): Promise<void>;
    /** `tfvis.render.barchart`: the positive / negative gradient ratio of each class. */
    barchart(container: unknown, data: { index: number | string; value: number }[], options?: Record<string, unknown>): Promise<void>;
  };
}

/** A tfjs-vis visor surface, as in `fitCallbacks({name, tab}, ...)`. */
export interface SurfaceInfo {
  /** Surface name shown in the visor; the monitor appends the picture's title to it. */
  readonly name: string;
  /** Visor tab to put the surface in (tfjs-vis's default tab when absent). */
  readonly tab?: string;
}

/** Where the pictures go: a visor surface `{name, tab}`, an HTML element, or a surface `{drawArea}`. */
export type TfvisContainer =
  | SurfaceInfo
  | HTMLElement
  | {
      /** The element to draw into, as on the object `tfvis.visor().surface()` returns. */
      readonly drawArea: HTMLElement;
    };

/** Default container, beside the visor's usual training tab. */
export const DEFAULT_CONTAINER: SurfaceInfo = { name: 'Gradient monitor', tab: 'Training' };

/** Whether `container` is a plain `{name, tab}` surface description (serialisable). */
export function isSurfaceInfo(container: unknown): container is SurfaceInfo {
  const c = container as { name?: unknown; tab?: unknown; drawArea?: unknown; appendChild?: unknown } | null;
  return (
    c != null &&
    typeof c === 'object' &&
    typeof c.name === 'string' &&
    (c.tab === undefined || typeof c.tab === 'string') &&
    c.drawArea === undefined &&
    c.appendChild === undefined
  );
}

/** Draws the heatmap and the ratio chart into their two areas each time it is called. */
export class LiveDisplay {
  private areas: [unknown, unknown] | null = null;

  constructor(
    private readonly tfvis: TfvisLike,
    private readonly container: TfvisContainer,
  ) {}

  async show(statistics: GradientStatistics, axis: ClassAxis, epoch: number): Promise<void> {
    const [heatmapArea, ratioArea] = (this.areas ??= this.createAreas());
    const labels = axis.order.map((j) => axis.labels[j]);
    const values = axis.order.map((j) => axis.order.map((k) => statistics.negative[j][k]));
    // tfjs-vis sorts bar labels as strings: a zero-padded rank prefix keeps the class order.
    const width = String(axis.order.length).length;
    const ratios = axis.order
      .map((j, rank) => ({ j, rank }))
      .filter(({ j }) => statistics.ratio[j] != null)
      .map(({ j, rank }) => ({ index: `${String(rank + 1).padStart(width, '0')} ${axis.labels[j]}`, value: statistics.ratio[j] as number }));
    await Promise.all([
      this.tfvis.render.heatmap(
        heatmapArea,
        { values, xTickLabels: labels, yTickLabels: labels },
        { rowMajor: true, xLabel: 'samples of class k (emitting)', yLabel: 'classifier j (receiving)', colorMap: 'viridis' },
      ),
      this.tfvis.render.barchart(ratioArea, ratios, {
        xLabel: axis.counts == null ? `class (epoch ${epoch})` : `class, most training samples first (epoch ${epoch})`,
        yLabel: 'positive / negative gradient',
      }),
    ]);
  }

  private createAreas(): [unknown, unknown] {
    if (isSurfaceInfo(this.container)) {
      const { name, tab } = this.container;
      return [
        { name: `${name}: negative gradient received (cumulative)`, tab },
        { name: `${name}: positive / negative gradient ratio (cumulative)`, tab },
      ];
    }
    const parent = 'drawArea' in this.container ? this.container.drawArea : this.container;
    const make = () => {
      const div = parent.ownerDocument.createElement('div');
      parent.appendChild(div);
      return div;
    };
    return [make(), make()];
  }
}
