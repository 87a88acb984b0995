/**
 * SVG rendering of Vega-Lite specs in Node, for the monitor's pictures (and any other chart).
 *
 * vega and vega-lite are loaded only when a picture is rendered, through an import whose
 * specifier bundlers do not follow: browser bundles never contain or load them.
 */

/** A Vega-Lite v5 specification (plain JSON). */
export type VegaLiteSpec = Record<string, unknown>;

// A specifier in a variable: bundlers (esbuild, webpack, rollup) leave this import alone, so
// neither the ESM nor the <script> build contains or loads vega.
const importModule = (specifier: string): Promise<Record<string, unknown>> => import(specifier);

interface VegaModule {
  View: new (runtime: unknown, options: { renderer: string }) => { toSVG(): Promise<string>; finalize(): void };
  parse(spec: unknown): unknown;
}
interface VegaLiteModule {
  compile(spec: unknown): { spec: unknown };
}

/** The module's exports whether Node loaded it as CommonJS (under `default`) or ESM. */
function exportsOf<T>(module: Record<string, unknown>, member: string): T {
  return (member in module ? module : (module.default as Record<string, unknown>)) as T;
}

/**
 * Renders a Vega-Lite spec to an SVG string with vega (Node; headless, no canvas).
 * @throws Error when vega or vega-lite cannot be loaded or the spec is invalid.
 */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  let vegaModule: Record<string, unknown>;
  let vegaLiteModule: Record<string, unknown>;
  try {
    [vegaModule, vegaLiteModule] = await Promise.all([importModule('vega'), importModule('vega-lite')]);
  } catch (err) {
    // vega and vega-lite are optional peer dependencies: only pictures need them.
    throw new Error(
      `renderSvg: the optional packages vega and vega-lite must be installed to render SVG (npm install vega vega-lite); ` +
        `received this error loading them: ${(err as Error).message}`,
    );
  }
  const vega = exportsOf<VegaModule>(vegaModule, 'View');
  const vegaLite = exportsOf<VegaLiteModule>(vegaLiteModule, 'compile');
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
