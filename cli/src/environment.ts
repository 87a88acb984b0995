import type { DataLocations } from './data_source';

/** Where a command writes. */
export interface TextOutput {
  write(text: string): unknown;
}

/** What the commands need from the outside world; tests pass their own. */
export interface CliEnvironment extends DataLocations {
  /** Results and reports. */
  readonly stdout: TextOutput;
  /** Progress bars (only drawn on a terminal). */
  readonly stderr: NodeJS.WritableStream;
  /** The command's version, printed by `--version` (the tfjs-gala-cli package's). */
  readonly version?: string;
  /**
   * Renders a Vega-Lite spec to SVG; default the package's `renderSvg` (which needs the optional
   * packages vega and vega-lite).
   */
  readonly renderSvg?: (spec: Record<string, unknown>) => Promise<string>;
}
