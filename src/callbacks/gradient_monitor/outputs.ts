import { gradientRatioChartSpec, negativeGradientHeatmapSpec, type ClassAxis } from './charts';
import { MONITOR } from './errors';
import type { GradientStatistics } from './gradient_statistics';
import type { GradientMonitorEpoch, GradientMonitorJSON } from './history';
import { LiveDisplay } from './live_display';
import type { MonitorOptions } from './options';
import { isNode, OutputFolder, type Warn } from './output_folder';
import { renderSvg } from './render_svg';

/** Warns at most once per `key`. */
export type WarnOnce = (key: string, message: string) => void;

/**
 * Where the results of one `fit` go: JSON and SVG files in `outputDir` (Node only) and live
 * pictures through tfjs-vis. Each failure warns once and never stops training.
 *
 * Files: `gradient-monitor-epoch-NNNN.json` each epoch (that epoch's record with the full
 * cumulative statistics), `negative-gradients.svg` and `gradient-ratio.svg` (cumulative,
 * rewritten each epoch), and `gradient-monitor.json` (everything) at the end of training.
 */
export class MonitorOutputs {
  private readonly folder: OutputFolder | null = null;
  private readonly display: LiveDisplay | null;

  constructor(
    private readonly options: MonitorOptions,
    private readonly axis: ClassAxis,
    warn: Warn,
    private readonly warnOnce: WarnOnce,
  ) {
    if (options.outputDir != null) {
      if (isNode()) this.folder = new OutputFolder(options.outputDir, warn);
      else warnOnce('browser', `${MONITOR}: outputDir '${options.outputDir}' needs Node.js; no files are written.`);
    }
    this.display = options.tfvis == null ? null : new LiveDisplay(options.tfvis, options.container);
  }

  /** One epoch's record, and the pictures of the running totals `cumulative`. */
  async publishEpoch(record: GradientMonitorEpoch, cumulative: GradientStatistics): Promise<void> {
    const when = `cumulative to epoch ${record.epoch}`;
    if (this.folder != null) {
      const name = `gradient-monitor-epoch-${String(record.epoch).padStart(4, '0')}.json`;
      await this.folder.write(name, JSON.stringify({ ...record, cumulative }));
      if (this.options.svg) {
        try {
          const heatmap = await renderSvg(negativeGradientHeatmapSpec(cumulative, this.axis, `Negative gradient received (${when})`));
          const ratio = await renderSvg(gradientRatioChartSpec(cumulative, this.axis, `Positive / negative gradient ratio (${when})`));
          (await this.folder.write('negative-gradients.svg', heatmap)) && (await this.folder.write('gradient-ratio.svg', ratio));
        } catch (error) {
          this.warnOnce('svg', `${MONITOR}: could not draw the SVG pictures (${(error as Error).message}); training goes on.`);
        }
      }
    }
    if (this.display != null) {
      try {
        await this.display.show(cumulative, this.axis, record.epoch);
      } catch (error) {
        this.warnOnce('tfvis', `${MONITOR}: tfjs-vis could not draw (${(error as Error).message}); training goes on.`);
      }
    }
  }

  /** End of training: writes `gradient-monitor.json` when there is a folder. */
  async publishEnd(json: GradientMonitorJSON): Promise<void> {
    await this.folder?.write('gradient-monitor.json', JSON.stringify(json));
  }
}
