/**
 * The browser examples, run in headless Chromium (software GPU) on real backends:
 * examples/browser/index.html on webgl, wasm and webgpu (its MLP) and its CNN on wasm (after
 * enableWasmTraining), module.html (ES modules, import map) on webgl, and examples/ml5/index.html
 * with ml5 1.4.0 on webgl. The pages load dist/: this
 * test builds nothing (`npm test` builds first).
 *
 * Chromium: a system one (Debian's), else the one inside the devDependency @sparticuz/chromium
 * (see chromium.ts; TFJS_GALA_NO_SYSTEM_CHROMIUM=1 forces it); the test names say which. Neither:
 * the tests fail with how to get one; TFJS_GALA_SKIP_BROWSER=1 skips them.
 * ml5 and tfjs-backend-webgpu come from the npm registry (npm pack, cached in .cache/) when
 * they are not in node_modules; without a registry those tests are skipped, saying so.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { Browser, Page } from 'playwright-core';

import {
  ARTIFACTS_DIR,
  CHROMIUM,
  SKIP_BROWSER,
  WEBGPU_ARGS,
  checkPrerequisites,
  installedOrPackedFile,
  isolatedContext,
  launchChromium,
  packageFile,
  recordConsole,
  serveFileAt,
  waitForResult,
} from './chromium';

// CommonJS so that `node scripts/serve.cjs` runs it too.
const { startStaticServer } = require('../../scripts/serve.cjs') as {
  startStaticServer(options?: { port?: number }): Promise<{ url: string; close(): Promise<void> }>;
};

/** What examples/browser/demo.js puts on `window.galaResult`. */
interface GalaState {
  positive: number[];
  negative: number[];
  steps: number;
}
interface LongTailAccuracy {
  overall: number;
  perClass: (number | null)[];
  groups: Record<'many' | 'medium' | 'few', { classes: number[]; accuracy: number | null }>;
}
interface ExampleResult {
  ok: boolean;
  error?: string;
  stack?: string;
  log?: string[];
  variant: 'script' | 'module';
  backend: string;
  model: 'mlp' | 'cnn';
  crossOriginIsolated: boolean;
  wasmTraining?: boolean;
  wasmSimd?: boolean;
  wasmThreads?: boolean;
  classCounts: number[];
  numTrain: number;
  epochs: number;
  losses: number[];
  batchLosses: number[];
  trainSeconds: number;
  stateBefore: GalaState;
  stateAfter: GalaState;
  stateAfterLocalStorage: GalaState;
  stepsAfterResume: number;
  maxPredictionDifference: number;
  predsEqual: boolean;
  accuracy: { plain: LongTailAccuracy; rebalanced: LongTailAccuracy; tau: number };
  monitor: { epochs: number; ratio: (number | null)[] | null } | null;
  seconds: number;
}
/** What examples/ml5/index.html puts on `window.ml5Result`. */
interface Ml5Result {
  ok: boolean;
  error?: string;
  stack?: string;
  backend: string;
  ml5Version: string;
  losses: number[];
  state: GalaState;
  reloadedState: GalaState;
  positiveByClass: number[];
  accuracy: { plain: (number | null)[]; rebalanced: (number | null)[] };
}

const NUM_CLASSES = 10;
const BATCH_SIZE = 64; // demo.js
const PAGE_TIMEOUT_MS = 90_000;
const ML5_SPEC = 'ml5@1.4.0';
const ML5_CDN_URL = 'https://unpkg.com/ml5@1.4.0/dist/ml5.min.js'; // as examples/ml5/index.html loads it
const ML5_EPOCHS = 20; // examples/ml5/index.html
const WEBGPU_BUNDLE = 'dist/tf-backend-webgpu.min.js';

const describeBrowser = SKIP_BROWSER ? describe.skip : describe;
if (SKIP_BROWSER) console.warn('TFJS_GALA_SKIP_BROWSER=1: browser tests skipped.');

// Fetched while the tests are collected, so that a missing registry shows up as a skipped test.
const ml5Bundle = SKIP_BROWSER ? null : packageFile(ML5_SPEC, 'dist/ml5.min.js');
const webgpuBundle = SKIP_BROWSER ? null : installedOrPackedFile('@tensorflow/tfjs-backend-webgpu', '4.22.0', WEBGPU_BUNDLE);
for (const [what, bundle] of [[ML5_SPEC, ml5Bundle], ['@tensorflow/tfjs-backend-webgpu', webgpuBundle]] as const) {
  if (bundle instanceof Error) console.warn(`Browser tests: skipping the ${what} test: ${bundle.message}`);
}
const itWithMl5 = typeof ml5Bundle === 'string' ? it : it.skip;
const itWithWebgpu = typeof webgpuBundle === 'string' ? it : it.skip;

type Server = { url: string; close(): Promise<void> };

/** Opens `pagePath` in a fresh context and returns `window[resultName]` once the page sets it. */
async function runPage<T extends { ok: boolean; error?: string; stack?: string }>(
  { browser, server }: { browser: Browser; server: Server },
  pagePath: string,
  resultName: string,
  options: { routes?: Record<string, string>; screenshot?: string } = {},
): Promise<T> {
  const log: string[] = [];
  const context = await isolatedContext(browser, log);
  try {
    const page: Page = await context.newPage();
    recordConsole(page, log);
    for (const [url, file] of Object.entries(options.routes ?? {})) await serveFileAt(page, url, file);
    await page.goto(server.url + pagePath);
    let result: T;
    try {
      result = await waitForResult<T>(page, resultName, PAGE_TIMEOUT_MS);
    } catch (error) {
      throw new Error(`${pagePath}: no result (${(error as Error).message}).\n${log.join('\n')}`);
    }
    if (options.screenshot != null) {
      fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS_DIR, options.screenshot), fullPage: true });
    }
    if (!result.ok) {
      throw new Error(`${pagePath} failed: ${result.error}\n${result.stack}\n${JSON.stringify((result as { log?: string[] }).log ?? [])}\n${log.join('\n')}`);
    }
    return result;
  } finally {
    await context.close();
  }
}

function expectClose(actual: readonly number[], expected: readonly number[], relativeTolerance: number): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((value, i) => {
    if (Math.abs(value - expected[i]) > relativeTolerance * Math.max(1, Math.abs(expected[i]))) {
      throw new Error(`index ${i}: ${value} vs ${expected[i]} (relative tolerance ${relativeTolerance}); [${actual.join(', ')}] vs [${expected.join(', ')}]`);
    }
  });
}

/** The checks every run of examples/browser/ must pass. */
function expectExampleResult(result: ExampleResult, backend: string, epochs: number, predictionTolerance: number): void {
  expect(result.backend).toBe(backend);

  // Training: one loss per epoch, falling.
  expect(result.losses).toHaveLength(epochs);
  expect(result.losses.every(Number.isFinite)).toBe(true);
  expect(result.losses[epochs - 1]).toBeLessThan(0.8 * result.losses[0]);

  // GALA's state: one step per batch, and exactly the same after the IndexedDB round trip.
  const steps = epochs * Math.ceil(result.numTrain / BATCH_SIZE);
  expect(result.stateBefore.steps).toBe(steps);
  expect(result.stateAfter.steps).toBe(steps);
  expect(result.stateBefore.positive.every((value) => value > 0)).toBe(true);
  expectClose(result.stateAfter.positive, result.stateBefore.positive, 1e-6);
  expectClose(result.stateAfter.negative, result.stateBefore.negative, 1e-6);
  // localstorage:// keeps the loss state too.
  expect(result.stateAfterLocalStorage.steps).toBe(steps);
  expectClose(result.stateAfterLocalStorage.positive, result.stateBefore.positive, 1e-6);
  // ... and training goes on from it.
  expect(result.stepsAfterResume).toBe(steps + 1);

  // The reloaded model predicts what the trained one did.
  expect(result.predsEqual).toBe(true);
  expect(result.maxPredictionDifference).toBeLessThanOrEqual(predictionTolerance);

  // Per-class accuracy, plain and re-balanced, every class and shot group present.
  for (const accuracy of [result.accuracy.plain, result.accuracy.rebalanced]) {
    expect(accuracy.perClass).toHaveLength(NUM_CLASSES);
    for (const value of accuracy.perClass) {
      expect(value).not.toBeNull();
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThanOrEqual(1);
    }
    for (const group of ['many', 'medium', 'few'] as const) expect(accuracy.groups[group].accuracy).not.toBeNull();
  }
  expect(result.accuracy.plain.overall).toBeGreaterThan(0.3); // chance is 0.1

  // The gradient monitor measured every epoch.
  expect(result.monitor).not.toBeNull();
  expect(result.monitor!.epochs).toBe(epochs);
  expect(result.monitor!.ratio).toHaveLength(NUM_CLASSES);
}

describeBrowser(`browser examples on ${CHROMIUM.label}`, () => {
  const session = {} as { browser: Browser; server: Server };

  beforeAll(async () => {
    checkPrerequisites();
    session.server = await startStaticServer();
    session.browser = await launchChromium();
  });

  afterAll(async () => {
    await session.browser?.close();
    await session.server?.close();
  });

  it('index.html trains with galaLoss on webgl, reloads from IndexedDB with the same predictions and GALA state', async () => {
    const result = await runPage<ExampleResult>(session, 'examples/browser/index.html?backend=webgl', 'galaResult', {
      screenshot: 'example-webgl.png',
    });
    expect(result.variant).toBe('script');
    expect(result.model).toBe('mlp');
    // Same weights, same backend: webgl may still round differently between two programs.
    expectExampleResult(result, 'webgl', 10, 1e-4);
  });

  it('index.html does the same on wasm, with the threaded SIMD build (COOP/COEP)', async () => {
    const result = await runPage<ExampleResult>(session, 'examples/browser/index.html?backend=wasm', 'galaResult', {
      screenshot: 'example-wasm.png',
    });
    expect(result.crossOriginIsolated).toBe(true);
    expect(result.wasmSimd).toBe(true);
    expect(result.wasmThreads).toBe(true);
    expect(result.wasmTraining).toBe(true);
    expectExampleResult(result, 'wasm', 10, 0);
  });

  it('index.html?model=cnn trains the CNN with galaLoss on wasm after tfjsGala.enableWasmTraining() (issue 12)', async () => {
    // Conv layers need Conv2DBackpropFilter, which tfjs-backend-wasm 4.22 lacks: the page calls
    // enableWasmTraining() once after choosing wasm. Two short epochs of 8 batches.
    const epochs = 2;
    const result = await runPage<ExampleResult>(session, `examples/browser/index.html?backend=wasm&model=cnn&epochs=${epochs}`, 'galaResult', {
      screenshot: 'example-wasm-cnn.png',
    });
    expect(result.backend).toBe('wasm');
    expect(result.model).toBe('cnn');
    expect(result.wasmTraining).toBe(true);
    const steps = epochs * Math.ceil(result.numTrain / BATCH_SIZE);
    expect(result.batchLosses).toHaveLength(steps);
    expect(result.batchLosses.every(Number.isFinite)).toBe(true);
    expect(result.losses).toHaveLength(epochs);
    expect(result.losses.every(Number.isFinite)).toBe(true);
    expect(result.losses[epochs - 1]).toBeLessThan(result.losses[0]);
    // GALA's state moved once per batch, survived the IndexedDB round trip, and training resumes.
    expect(result.stateBefore.steps).toBe(steps);
    expect(result.stateAfter.steps).toBe(steps);
    expectClose(result.stateAfter.positive, result.stateBefore.positive, 1e-6);
    expect(result.stepsAfterResume).toBe(steps + 1);
    expect(result.predsEqual).toBe(true);
    expect(result.maxPredictionDifference).toBe(0);
    expect(result.accuracy.plain.overall).toBeGreaterThan(0.2); // chance is 0.1
  });

  it('module.html loads tfjs and the ES build through an import map (one tfjs instance) and trains briefly', async () => {
    const result = await runPage<ExampleResult>(session, 'examples/browser/module.html?backend=webgl&epochs=2', 'galaResult');
    expect(result.variant).toBe('module');
    expectExampleResult(result, 'webgl', 2, 1e-4);
  });

  it('an unknown backend or model is reported, not silently replaced', async () => {
    const log: string[] = [];
    const context = await isolatedContext(session.browser, log);
    try {
      const page = await context.newPage();
      await page.goto(`${session.server.url}examples/browser/index.html?backend=tpu`);
      const result = await waitForResult<{ ok: boolean; error: string }>(page, 'galaResult', PAGE_TIMEOUT_MS);
      expect(result.ok).toBe(false);
      expect(result.error).toMatch(/\?backend= must be one of webgl, wasm, webgpu, cpu; received 'tpu'/);
      await page.goto(`${session.server.url}examples/browser/index.html?model=resnet`);
      const model = await waitForResult<{ ok: boolean; error: string }>(page, 'galaResult', PAGE_TIMEOUT_MS);
      expect(model.ok).toBe(false);
      expect(model.error).toMatch(/\?model= must be one of mlp, cnn; received 'resnet'/);
    } finally {
      await context.close();
    }
  });

  itWithMl5('ml5 1.4.0: neuralNetwork trains a classifier with galaLoss on webgl through its inner tfjs model', async () => {
    const result = await runPage<Ml5Result>(session, 'examples/ml5/index.html?backend=webgl', 'ml5Result', {
      routes: { [ML5_CDN_URL]: ml5Bundle as string },
      screenshot: 'ml5-webgl.png',
    });
    expect(result.backend).toBe('webgl');
    expect(result.ml5Version).toBe('1.4.0');
    // done() was called after all epochs; GALA was the loss that ran (its state moved).
    expect(result.losses).toHaveLength(ML5_EPOCHS);
    expect(result.losses[ML5_EPOCHS - 1]).toBeLessThan(0.8 * result.losses[0]);
    expect(result.state.steps).toBeGreaterThan(0);
    expect(result.state.steps % ML5_EPOCHS).toBe(0);
    // The package's save/load hooks act on ml5's tfjs: the inner model keeps loss and state through IndexedDB.
    expect(result.reloadedState.steps).toBe(result.state.steps);
    expectClose(result.reloadedState.positive, result.state.positive, 1e-6);
    // Every class, the 8-sample one included, was trained on (ml5's validation split took none of them whole).
    expect(result.positiveByClass.every((value) => value > 0)).toBe(true);
    for (const accuracies of [result.accuracy.plain, result.accuracy.rebalanced]) {
      expect(accuracies).toHaveLength(4);
      expect(accuracies.every((value) => value != null && value >= 0 && value <= 1)).toBe(true);
    }
    expect(result.accuracy.plain[3]).toBeGreaterThan(0); // the tail class is predicted at all
  });
});

describeBrowser(`browser example on webgpu (SwiftShader through Vulkan) on ${CHROMIUM.label}`, () => {
  const session = {} as { browser: Browser; server: Server; noAdapter?: string };

  beforeAll(async () => {
    if (typeof webgpuBundle !== 'string') return;
    checkPrerequisites();
    session.server = await startStaticServer();
    session.browser = await launchChromium(WEBGPU_ARGS);
    // The npm package's Chromium is a build for servers: should it ever come without a WebGPU
    // adapter, say so and skip rather than fail (a system Chromium must have one).
    if (CHROMIUM.kind === 'npm') {
      const page = await session.browser.newPage();
      try {
        await page.goto(`${session.server.url}package.json`);
        const adapter = await page.evaluate(async () => {
          const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
          return gpu ? (await gpu.requestAdapter()) != null : false;
        });
        if (!adapter) session.noAdapter = `${CHROMIUM.label} gives no WebGPU adapter with ${WEBGPU_ARGS.join(' ')}`;
      } finally {
        await page.close();
      }
    }
  });

  afterAll(async () => {
    await session.browser?.close();
    await session.server?.close();
  });

  itWithWebgpu('index.html trains, saves and reloads on webgpu', async () => {
    if (session.noAdapter) {
      console.warn(`Browser tests: skipping the webgpu test: ${session.noAdapter}.`);
      return;
    }
    const result = await runPage<ExampleResult>(session, 'examples/browser/index.html?backend=webgpu&epochs=3', 'galaResult', {
      routes: { '**/node_modules/@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.min.js': webgpuBundle as string },
    });
    expectExampleResult(result, 'webgpu', 3, 1e-4);
  });
});
