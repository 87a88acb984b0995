import { rmSync } from 'node:fs';
import { defineConfig, type Options } from 'tsup';
import type { Plugin } from 'esbuild';

// tfjs must never be bundled: a second copy breaks `instanceof` and the class registry.
const tfjsPackages = [
  '@tensorflow/tfjs',
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-layers',
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs-node-gpu',
  '@tensorflow/tfjs-backend-wasm',
  '@tensorflow/tfjs-backend-webgpu',
];
// Optional peers of the Node-only entry point, loaded with dynamic imports when used.
const nodeOnlyPackages = ['webgpu', '@sparticuz/chromium'];

// For the <script> bundle, every tfjs import reads the page's global `tf` (the union bundle
// `@tensorflow/tfjs` exposes core and layers on it), or ml5's bundled copy (`ml5.tf`), so the
// classes register with the tfjs instance the page trains with.
const tfjsFromGlobal: Plugin = {
  name: 'tfjs-from-global',
  setup(build) {
    const filter = /^@tensorflow\/tfjs(-core|-layers)?$/;
    build.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'tfjs-global' }));
    build.onLoad({ filter: /.*/, namespace: 'tfjs-global' }, () => ({
      contents:
        "var tfGlobal = globalThis.tf || (globalThis.ml5 && globalThis.ml5.tf);\n" +
        "if (!tfGlobal) { throw new Error('tfjs-gala: load @tensorflow/tfjs (or ml5) before tfjs-gala: no global tf found.'); }\n" +
        'module.exports = tfGlobal;',
      loader: 'js',
    }));
  },
};

const shared: Options = {
  sourcemap: true,
  target: 'es2020',
  external: tfjsPackages,
};

export default defineConfig(() => {
  // Empty dist/ once, before any build. tsup runs the three builds below in parallel, so
  // `clean: true` on one of them could delete what another has just written.
  rmSync('dist', { recursive: true, force: true });
  return [
    {
      ...shared,
      entry: { index: 'src/index.ts' },
      format: ['esm', 'cjs'],
      dts: true,
    },
    {
      // `tfjs-gala/node`: WebGPU in Node through Dawn; never part of the browser bundle.
      ...shared,
      entry: { node: 'src/node/webgpu.ts' },
      format: ['esm', 'cjs'],
      dts: true,
      platform: 'node',
      external: [...tfjsPackages, ...nodeOnlyPackages],
    },
    {
      ...shared,
      entry: { 'tfjs-gala': 'src/index.ts' },
      format: ['iife'],
      globalName: 'tfjsGala',
      external: [],
      noExternal: [/.*/],
      esbuildPlugins: [tfjsFromGlobal],
      outExtension: () => ({ js: '.global.js' }),
      minify: false,
    },
  ];
});
