/**
 * tfjs's webgpu backend in Node through Dawn (npm package `webgpu`) on SwiftShader, set up by
 * src/node/webgpu.ts: GALA training, save/reload, GradientMonitor and PredictionRebalance on
 * webgpu against the cpu backend from the same initial weights.
 *
 * Each SwiftShader source found runs the whole suite in turn, in this process: Debian's
 * chromium (`/usr/lib/chromium/vk_swiftshader_icd.json`) and the npm package @sparticuz/chromium
 * (unpacked into os.tmpdir()). `TFJS_GALA_SWIFTSHADER=npm` (or `=chromium`) runs only that one;
 * with `npm`, the Vulkan loader also comes from the npm package, as on a machine without
 * Chromium or libvulkan1. The suite is skipped, with a message, only when neither exists.
 *
 * Reads use `await data()`: synchronous reads (dataSync) need OffscreenCanvas, which Node lacks.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';

import * as tf from '@tensorflow/tfjs';

import { galaLoss, GalaLoss, PredictionRebalance, GradientMonitor, fileSystem } from '../../src/index';
import { findSoftwareVulkanICD, prepareSyncReads, releaseNodeWebGPU, setupNodeWebGPU, type NodeWebGPUInfo } from '../../src/node/webgpu';

// `webgpu` is an ES module, which Jest's module registry would parse as CommonJS: load it with
// Node's own require (Node >= 20.19 loads ES modules that way), reached through the worker's
// main context. src/node/webgpu.ts still gets it through its `import('webgpu')`, which ts-jest
// compiles to a require that this mock answers.
jest.mock('webgpu', () =>
  jest.requireActual<typeof import('node:vm')>('node:vm').runInThisContext('process').mainModule.require(require.resolve('webgpu')),
);

// Jest gives each test file a copy of process.env, but Dawn's Vulkan loader reads the process's
// real environment (getenv): let src/node/webgpu.ts set VK_ICD_FILENAMES there, as it does
// outside Jest. Restored after the tests.
const realProcess = vm.runInThisContext('process') as NodeJS.Process;
const savedICD = realProcess.env.VK_ICD_FILENAMES;
process.env = realProcess.env;
afterAll(() => {
  if (savedICD === undefined) delete realProcess.env.VK_ICD_FILENAMES;
  else realProcess.env.VK_ICD_FILENAMES = savedICD;
});

type Source = 'chromium' | 'npm';

function available(): Source[] {
  const chromium = fs.existsSync('/usr/lib/chromium/vk_swiftshader_icd.json');
  let npm = false;
  try {
    npm = fs.existsSync(path.join(path.dirname(require.resolve('@sparticuz/chromium')), '..', 'bin', 'swiftshader.tar.br'));
  } catch {
    npm = false;
  }
  const wanted = process.env.TFJS_GALA_SWIFTSHADER;
  const all: Source[] = [...(chromium ? ['chromium' as const] : []), ...(npm ? ['npm' as const] : [])];
  return wanted ? all.filter((s) => s === wanted) : all;
}

const SOURCES = process.platform === 'linux' ? available() : [];
if (SOURCES.length === 0) {
  console.warn(
    'test/node/webgpu.test.ts: SKIPPED: no SwiftShader Vulkan driver found (neither /usr/lib/chromium/vk_swiftshader_icd.json ' +
      `nor the npm package @sparticuz/chromium${process.env.TFJS_GALA_SWIFTSHADER ? `, restricted by TFJS_GALA_SWIFTSHADER=${process.env.TFJS_GALA_SWIFTSHADER}` : ''}).`,
  );
}
const describeSources = SOURCES.length > 0 ? describe.each(SOURCES) : describe.skip.each(['none']);

/** 24 samples, 4 features, 3 classes in proportion 12:8:4 (long-tailed). */
function data() {
  const labels = Array.from({ length: 24 }, (_, i) => (i % 6 < 3 ? 0 : i % 6 < 5 ? 1 : 2));
  const xs = tf.tensor2d(labels.map((c, i) => [c === 0 ? 1 : -1, c === 1 ? 1 : -1, c === 2 ? 1 : -1, ((i * 7) % 5) / 5 - 0.4]));
  return { xs, ys: tf.oneHot(tf.tensor1d(labels, 'int32'), 3).toFloat() as tf.Tensor2D, labels };
}

/** Same initial weights on every backend (seeded initializers). */
function denseModel(hidden = 16): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({ units: hidden, inputShape: [4], activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }) }),
      tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 8 }) }),
    ],
  });
}

async function weightsOf(model: tf.LayersModel): Promise<number[]> {
  const parts = await Promise.all(model.getWeights().map((w) => w.data()));
  return parts.flatMap((p) => Array.from(p));
}

/** GALA's state through an async read (getState() reads synchronously). */
async function galaState(loss: GalaLoss) {
  await prepareSyncReads();
  return loss.getState();
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** Runs `fn` on the cpu backend, then on webgpu, and returns both results. */
async function onBoth<T>(fn: () => Promise<T>): Promise<{ cpu: T; webgpu: T }> {
  await tf.setBackend('cpu');
  const cpu = await fn();
  await tf.setBackend('webgpu');
  expect(tf.getBackend()).toBe('webgpu');
  const webgpu = await fn();
  return { cpu, webgpu };
}

/** Float32 on two backends: reductions in another order differ in the last bits. */
const TOL = 2e-5;
const report: string[] = [];

describeSources('tfjs webgpu backend in Node on SwiftShader from %s', (source) => {
  let info: NodeWebGPUInfo;

  beforeAll(async () => {
    info = await setupNodeWebGPU({ vulkanICD: 'swiftshader', swiftShaderSources: [source as Source] });
    console.log(
      `webgpu in Node (${source}): ${info.adapter.description} [${info.adapter.vendor}/${info.adapter.architecture}], ` +
        `software=${info.isSoftware}, ICD ${info.vulkanICD}, Vulkan loader ${info.vulkanLoader ?? 'system'}`,
    );
  });

  afterAll(() => {
    releaseNodeWebGPU();
    if (report.length > 0) console.log(report.splice(0).join('\n'));
  });

  it('makes webgpu the backend on a SwiftShader adapter from that source', async () => {
    expect(tf.getBackend()).toBe('webgpu');
    expect(info.backend).toBe('webgpu');
    expect(info.isSoftware).toBe(true);
    expect(`${info.adapter.architecture} ${info.adapter.description}`).toMatch(/swiftshader/i);
    if (source === 'chromium') expect(info.vulkanICD).toBe('/usr/lib/chromium/vk_swiftshader_icd.json');
    else expect(info.vulkanICD).toMatch(/tfjs-gala-swiftshader-[^/]+\/vk_swiftshader_icd\.json$/);
    expect(process.env.VK_ICD_FILENAMES).toBe(info.vulkanICD);
    // A second call while set up returns the same setup.
    await expect(setupNodeWebGPU()).resolves.toBe(info);
    const sum = tf.tidy(() => tf.sum(tf.matMul(tf.ones([64, 32]), tf.ones([32, 16]))));
    expect((await sum.data())[0]).toBe(64 * 32 * 16);
    sum.dispose();
  });

  it('trains GALA with fit like the cpu backend (losses, weights, state)', async () => {
    const run = async () => {
      const { xs, ys } = data();
      const model = denseModel();
      const loss = galaLoss({ numClasses: 3 });
      model.compile({ optimizer: tf.train.sgd(0.1), loss });
      const history = await model.fit(xs, ys, { epochs: 4, batchSize: 8, shuffle: false, verbose: 0 });
      const result = { losses: history.history.loss as number[], weights: await weightsOf(model), state: await galaState(loss) };
      tf.dispose([xs, ys]);
      model.dispose();
      loss.dispose();
      return result;
    };
    const { cpu, webgpu } = await onBoth(run);
    expect(webgpu.state.steps).toBe(12);
    expect(cpu.state.steps).toBe(12);
    const diffs = {
      loss: maxAbsDiff(webgpu.losses, cpu.losses),
      weights: maxAbsDiff(webgpu.weights, cpu.weights),
      theta: maxAbsDiff(webgpu.state.positive, cpu.state.positive),
      phi: maxAbsDiff(webgpu.state.negative, cpu.state.negative),
    };
    report.push(`[${source}] GALA fit webgpu vs cpu, max |diff|: ${JSON.stringify(diffs)}`);
    for (const d of Object.values(diffs)) expect(d).toBeLessThan(TOL * 10);
  });

  it('needs an async read before synchronous ones (getState), and says so', async () => {
    const { xs, ys } = data();
    const model = denseModel();
    const loss = galaLoss({ numClasses: 3 });
    model.compile({ optimizer: tf.train.sgd(0.1), loss });
    await model.fit(xs, ys, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0 });
    expect(() => loss.getState()).toThrow(/synchronous reads.*await tensor\.data\(\)/);
    await prepareSyncReads();
    expect(loss.getState().steps).toBe(3);
    tf.dispose([xs, ys]);
    model.dispose();
    loss.dispose();
  });

  it('saves to file:// and reloads with GALA state and optimizer; resuming matches', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-gala-webgpu-'));
    try {
      const { xs, ys } = data();
      const model = denseModel();
      const loss = galaLoss({ numClasses: 3, lambda1: 1.2, lambda2: 0.8 });
      model.compile({ optimizer: tf.train.adam(0.01), loss });
      await model.fit(xs, ys, { epochs: 2, batchSize: 8, shuffle: false, verbose: 0 });
      await prepareSyncReads(); // the save hook reads GALA's state synchronously
      await model.save(fileSystem(dir), { includeOptimizer: true });
      const loaded = await tf.loadLayersModel(fileSystem(dir));
      expect(tf.getBackend()).toBe('webgpu');
      const loadedLoss = loaded.loss as unknown as GalaLoss;
      expect(loadedLoss).toBeInstanceOf(GalaLoss);
      const [before, after] = [await galaState(loss), await galaState(loadedLoss)];
      expect(after.steps).toBe(before.steps);
      expect(maxAbsDiff(after.positive, before.positive)).toBe(0);
      expect(maxAbsDiff(await weightsOf(loaded), await weightsOf(model))).toBe(0);

      const resume = async (m: tf.LayersModel) => (await m.fit(xs, ys, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0 })).history.loss as number[];
      const [original, reloaded] = [await resume(model), await resume(loaded)];
      expect(maxAbsDiff(reloaded, original)).toBeLessThan(1e-6);
      report.push(`[${source}] save/reload on webgpu: resumed loss ${original[0].toFixed(6)} vs ${reloaded[0].toFixed(6)}`);
      tf.dispose([xs, ys]);
      model.dispose();
      loaded.dispose();
      loss.dispose();
      loadedLoss.dispose();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each(['training', 'probe'] as const)('GradientMonitor (source %s) measures the same gradients as on cpu', async (monitorSource) => {
    const run = async () => {
      const { xs, ys } = data();
      const model = denseModel();
      // Source 'probe' runs a copy of GALA made from getStateAsync() at each epoch end.
      const monitor = new GradientMonitor({ source: monitorSource, probe: { xs, ys } });
      model.compile({ optimizer: tf.train.sgd(0.1), loss: galaLoss({ numClasses: 3 }) });
      await model.fit(xs, ys, { epochs: 2, batchSize: 8, shuffle: false, verbose: 0, callbacks: [monitor] });
      const history = monitor.history.map((e) => ({ positive: e.statistics.positive, negative: e.statistics.negative.flat(), similarity: e.similarity }));
      monitor.dispose();
      tf.dispose([xs, ys]);
      model.dispose();
      return history;
    };
    const { cpu, webgpu } = await onBoth(run);
    expect(webgpu.length).toBe(2);
    let diff = 0;
    for (let e = 0; e < cpu.length; e++) {
      diff = Math.max(diff, maxAbsDiff(webgpu[e].positive, cpu[e].positive), maxAbsDiff(webgpu[e].negative, cpu[e].negative));
      diff = Math.max(diff, maxAbsDiff(webgpu[e].similarity as number[], cpu[e].similarity as number[]));
    }
    report.push(`[${source}] GradientMonitor (${monitorSource}) webgpu vs cpu, max |diff| ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(TOL * 10);
  });

  it('PredictionRebalance (transductive in a model, calibrated through adapt()) matches cpu', async () => {
    const run = async () => {
      const { xs, ys } = data();
      const trained = denseModel();
      const optimizer = tf.train.sgd(0.1);
      trained.compile({ optimizer, loss: galaLoss({ numClasses: 3 }) });
      await trained.fit(xs, ys, { epochs: 2, batchSize: 8, shuffle: false, verbose: 0 });
      const input = tf.input({ shape: [4] });
      const logits = trained.apply(input) as tf.SymbolicTensor;
      const transductive = tf.model({ inputs: input, outputs: new PredictionRebalance({ mode: 'transductive' }).apply(logits) as tf.SymbolicTensor });
      const out = transductive.predict(xs, { batchSize: 24 }) as tf.Tensor;
      const transductiveOut = Array.from(await out.data());

      // adapt() reads asynchronously, and the adapted layer's calls read nothing back: both run
      // on webgpu in Node, where synchronous reads throw.
      const calibrationLogits = trained.predict(xs) as tf.Tensor;
      const layer = new PredictionRebalance({ mode: 'calibrated' });
      await layer.adapt(calibrationLogits);
      const calibrated = layer.apply(calibrationLogits) as tf.Tensor;
      const calibratedOut = Array.from(await calibrated.data());
      tf.dispose([xs, ys, out, calibrationLogits, calibrated]);
      trained.dispose();
      optimizer.dispose();
      return { transductiveOut, calibratedOut };
    };
    const { cpu, webgpu } = await onBoth(run);
    const diffs = {
      transductive: maxAbsDiff(webgpu.transductiveOut, cpu.transductiveOut),
      calibrated: maxAbsDiff(webgpu.calibratedOut, cpu.calibratedOut),
    };
    report.push(`[${source}] PredictionRebalance webgpu vs cpu, max |diff|: ${JSON.stringify(diffs)}`);
    for (const d of Object.values(diffs)) expect(d).toBeLessThan(TOL * 10);
  });
});

const describeDefaults = SOURCES.length > 0 ? describe : describe.skip;
describeDefaults('setupNodeWebGPU defaults, navigator handling and release', () => {
  afterEach(() => {
    releaseNodeWebGPU();
    delete (globalThis as { navigator?: unknown }).navigator;
  });

  /** Like Node >= 21's navigator: getters on the prototype that need their own receiver (private fields). */
  class NodeLikeNavigator {
    #cores = 2;
    get hardwareConcurrency(): number {
      return this.#cores;
    }
  }

  it('with no options finds an adapter, adds gpu to an existing navigator, and release() removes it', async () => {
    const navigator = new NodeLikeNavigator();
    Object.defineProperty(globalThis, 'navigator', { get: () => navigator, configurable: true });
    const info = await setupNodeWebGPU();
    expect(tf.getBackend()).toBe('webgpu');
    expect(info.isSoftware).toBe(true);
    const current = (globalThis as unknown as { navigator: NodeLikeNavigator & { gpu?: unknown } }).navigator;
    expect(current).toBe(navigator);
    expect(current.gpu).toBeDefined();
    expect(current.hardwareConcurrency).toBe(2);
    expect((globalThis as { GPUBufferUsage?: unknown }).GPUBufferUsage).toBeDefined();
    info.release();
    expect(tf.findBackend('webgpu')).toBeNull();
    expect(current.gpu).toBeUndefined();
    expect((globalThis as { GPUBufferUsage?: unknown }).GPUBufferUsage).toBeUndefined();
    // tfjs goes on with its next backend.
    expect((await tf.add(tf.scalar(1), 1).data())[0]).toBe(2);
    expect(tf.getBackend()).toBe('cpu');
  });

  it('shadows a frozen navigator, forwarding its other properties, and restores it on release', async () => {
    const navigator = Object.freeze(new NodeLikeNavigator());
    Object.defineProperty(globalThis, 'navigator', { value: navigator, configurable: true, writable: true });
    await setupNodeWebGPU();
    const shadow = (globalThis as unknown as { navigator: { gpu?: unknown; hardwareConcurrency: number } }).navigator;
    expect(shadow).not.toBe(navigator);
    expect(shadow.gpu).toBeDefined();
    expect(shadow.hardwareConcurrency).toBe(2);
    releaseNodeWebGPU();
    expect((globalThis as { navigator?: unknown }).navigator).toBe(navigator);
  });

  it('refuses a software adapter when allowSoftware is false, leaving no navigator.gpu behind', async () => {
    await expect(setupNodeWebGPU({ allowSoftware: false })).rejects.toThrow(/allowSoftware|no Vulkan driver/);
    expect((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu).toBeUndefined();
  });

  it('names the missing ICD file', async () => {
    await expect(setupNodeWebGPU({ vulkanICD: '/nonexistent/icd.json' })).rejects.toThrow(/\/nonexistent\/icd\.json does not exist/);
  });
});

describe('findSoftwareVulkanICD', () => {
  it('returns null when no source has SwiftShader', async () => {
    await expect(findSoftwareVulkanICD({ sources: [] })).resolves.toBeNull();
  });

  if (SOURCES.includes('npm')) {
    it('unpacks @sparticuz/chromium once into a private cache folder with an absolute library_path', async () => {
      const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-gala-icd-'));
      try {
        const icd = await findSoftwareVulkanICD({ sources: ['npm'], cacheDir });
        expect(icd).not.toBeNull();
        const manifest = JSON.parse(fs.readFileSync(icd!, 'utf8'));
        expect(path.isAbsolute(manifest.ICD.library_path)).toBe(true);
        expect(fs.existsSync(manifest.ICD.library_path)).toBe(true);
        expect(fs.existsSync(path.join(path.dirname(icd!), 'libvulkan.so.1'))).toBe(true);
        expect(fs.statSync(path.dirname(icd!)).mode & 0o077).toBe(0);
        const mtime = fs.statSync(icd!).mtimeMs;
        await expect(findSoftwareVulkanICD({ sources: ['npm'], cacheDir })).resolves.toBe(icd);
        expect(fs.statSync(icd!).mtimeMs).toBe(mtime);
      } finally {
        fs.rmSync(cacheDir, { recursive: true, force: true });
      }
    });
  }

  it('prefers VK_ICD_FILENAMES when it names an existing file', async () => {
    const saved = process.env.VK_ICD_FILENAMES;
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-gala-env-')), 'x.json');
    fs.writeFileSync(file, '{}');
    try {
      process.env.VK_ICD_FILENAMES = `/nonexistent.json:${file}`;
      await expect(findSoftwareVulkanICD({ sources: ['env'] })).resolves.toBe(file);
    } finally {
      if (saved === undefined) delete process.env.VK_ICD_FILENAMES;
      else process.env.VK_ICD_FILENAMES = saved;
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });
});
