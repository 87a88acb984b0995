/**
 * The published package as its users get it: `npm pack`, then fresh projects that install the
 * tarball: ESM and CommonJS Node projects that train with `galaLoss`, a strict TypeScript
 * project, and the `<script>` bundle. tfjs is not installed from the network: the projects'
 * `node_modules/@tensorflow` is a link to this repository's, so tfjs-gala and tfjs resolve the
 * same tfjs-core and tfjs-layers files (one instance, one class registry).
 *
 * Needs a build: `npm test` runs `npm run build` first (`pretest`).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
/** Prefix of the line each consumer script prints its results on (tfjs prints banners too). */
const RESULT = 'RESULT ';

/** What `npm pack --json` reports (the fields used here). */
interface PackResult {
  readonly filename: string;
  readonly size: number;
  readonly files: readonly { readonly path: string; readonly size: number }[];
}

/** Files published outside `dist/`. */
const TOP_LEVEL_FILES = ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE'];
/** Folders published whole: the build only (the demo, benchmark and data live in tfjs-gala-cli). */
const PUBLISHED_FOLDERS = ['dist/'];
const REQUIRED_FILES = [
  ...TOP_LEVEL_FILES,
  'dist/index.js',
  'dist/index.cjs',
  'dist/index.d.ts',
  'dist/index.d.cts',
  'dist/tfjs-gala.global.js',
];
/** Names only the command-line tools use: none may appear in the library's build. */
const CLI_ONLY_MODULES = ['commander', 'cli-progress', 'cli-table3', 'fashion_mnist', 'idx_file'];

// Trains a 3-class linear model for 2 epochs of 3 batches with galaLoss, saves it with its
// training config to memory and loads it back. Prints where things resolved from and the state.
const TRAIN = `
  await tf.setBackend('cpu');
  const loss = galaLoss({ numClasses: 3 });
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4] })] });
  model.compile({ optimizer: tf.train.sgd(0.1), loss });
  const xs = tf.randomNormal([12, 4], 0, 1, 'float32', 1);
  const ys = tf.oneHot(tf.tensor1d([0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2], 'int32'), 3);
  const history = await model.fit(xs, ys, { epochs: 2, batchSize: 4, verbose: 0 });
  let artifacts;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
    { includeOptimizer: true },
  );
  const restored = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  const result = {
    resolved,
    coreFromPackage: realCore(resolved),
    coreFromTfjs: realCore(require.resolve('@tensorflow/tfjs')),
    registered: tf.serialization.SerializationMap.getMap().classNameMap.GalaLoss?.[0] === GalaLoss,
    isGalaLoss: loss instanceof GalaLoss,
    losses: history.history.loss,
    state: loss.getState(),
    restoredIsGalaLoss: restored.loss instanceof GalaLoss,
    restoredState: restored.loss.getState(),
  };
  console.log(${JSON.stringify(RESULT)} + JSON.stringify(result));
`;

// The tfjs-core file that code in \`file\`'s folder loads, links resolved.
const REAL_CORE = `
  const realCore = (file) => fs.realpathSync(require.resolve('@tensorflow/tfjs-core', { paths: [path.dirname(file)] }));
`;

const ESM_MAIN = `
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { galaLoss, GalaLoss } from 'tfjs-gala';

const require = createRequire(import.meta.url);
const resolved = fileURLToPath(import.meta.resolve('tfjs-gala'));
${REAL_CORE}
${TRAIN}
`;

const CJS_MAIN = `
const fs = require('node:fs');
const path = require('node:path');
const tf = require('@tensorflow/tfjs');
const { galaLoss, GalaLoss } = require('tfjs-gala');

const resolved = require.resolve('tfjs-gala');
${REAL_CORE}
(async () => {
${TRAIN}
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;

// Type-checked, never run. Each @ts-expect-error fails the check if that line type-checks,
// which is what happens if a public type degrades to `any`.
const TS_ESM = `
import * as tf from '@tensorflow/tfjs';
import {
  fileSystem,
  galaLoss,
  GalaLoss,
  GradientMonitor,
  PredictionRebalance,
  type GalaLossArgs,
  type GalaState,
  type GradientStatistics,
} from 'tfjs-gala';

const args: GalaLossArgs = { numClasses: 3, lambda1: 1, variant: 'paper' };
const loss: GalaLoss = galaLoss(args);
const model = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4] })] });
model.compile({ optimizer: 'sgd', loss });
const perSample: tf.Tensor = loss(tf.oneHot(tf.tensor1d([0, 2], 'int32'), 3), tf.zeros([2, 3]));
const state: GalaState = loss.getState();
const steps: number = state.steps;

const rebalance = new PredictionRebalance({ mode: 'calibrated', tau: 1.5 });
const adapted: Promise<void> = rebalance.adapt(tf.zeros([4, 3]));
const numClasses: number | null = rebalance.numClasses;
const serving = tf.sequential({ layers: [model, rebalance] });

const monitor = new GradientMonitor({ classCounts: [10, 5, 1], source: 'training' });
const trained: Promise<tf.History> = model.fit(tf.zeros([2, 4]), tf.zeros([2, 3]), { epochs: 1, callbacks: [monitor] });
const cumulative: GradientStatistics | null = monitor.cumulative;
const saved: Promise<tf.io.SaveResult> = model.save(fileSystem('./model'), { includeOptimizer: true });

// @ts-expect-error numClasses is required
galaLoss({});
// @ts-expect-error variant is 'paper' or 'reference'
galaLoss({ numClasses: 3, variant: 'other' });
// @ts-expect-error mode is 'transductive' or 'calibrated'
new PredictionRebalance({ mode: 'balanced' });
// @ts-expect-error getState() returns a GalaState
const notAString: string = loss.getState();

export { perSample, steps, adapted, numClasses, serving, trained, cumulative, saved, notAString };
`;

// Resolved through the \`require\` condition: checks dist/index.d.cts.
const TS_CJS = `
import tfjsGala = require('tfjs-gala');

const loss: tfjsGala.GalaLoss = tfjsGala.galaLoss({ numClasses: 4 });
const steps: number = loss.getState().steps;
// @ts-expect-error numClasses is a number
tfjsGala.galaLoss({ numClasses: '4' });

export = steps;
`;

const TS_CONFIG = {
  compilerOptions: {
    strict: true,
    module: 'node16',
    moduleResolution: 'node16',
    target: 'ES2022',
    lib: ['ES2022', 'DOM'],
    types: [],
    noEmit: true,
    // Off, so tfjs-gala's declarations are checked too; see typeErrorsOutsideTfjs.
    skipLibCheck: false,
  },
  files: ['esm.ts', 'commonjs.cts'],
};

let work: string;
let pack: PackResult;
let installed: string;

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

/** A consumer project `name` beside the shared node_modules, with the given package.json type. */
function project(name: string, type: 'module' | 'commonjs', files: Record<string, string>): string {
  const dir = path.join(work, name);
  write(path.join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, private: true, type }));
  for (const [file, text] of Object.entries(files)) write(path.join(dir, file), text);
  return dir;
}

/** Environment of the child processes: nothing that could find modules outside the project. */
function childEnv(): NodeJS.ProcessEnv {
  return { ...process.env, NODE_PATH: '', NODE_OPTIONS: '' };
}

/** Runs `node script` in `dir` and returns the object printed on the RESULT line. */
function runNode(dir: string, script: string): Record<string, unknown> {
  const run = spawnSync(process.execPath, [script], { cwd: dir, encoding: 'utf8', env: childEnv(), timeout: 60_000 });
  const line = run.stdout.split('\n').find((l) => l.startsWith(RESULT));
  if (run.status !== 0 || line === undefined) {
    throw new Error(`node ${script} in ${dir} exited with ${run.status}:\n${run.stdout}\n${run.stderr}`);
  }
  return JSON.parse(line.slice(RESULT.length)) as Record<string, unknown>;
}

beforeAll(() => {
  for (const file of ['dist/index.js', 'dist/index.cjs', 'dist/index.d.ts']) {
    if (!fs.existsSync(path.join(ROOT, file))) throw new Error(`${file} is missing: run \`npm run build\` first (npm test does).`);
  }
  // Real path: Node reports resolved files with links resolved (macOS's /tmp is one).
  work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-gala-consumers-')));
  // --ignore-scripts: pack the build `npm test` just made, whatever lifecycle scripts say.
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  pack = (JSON.parse(out) as PackResult[])[0];

  installed = path.join(work, 'node_modules', 'tfjs-gala');
  fs.mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', path.join(work, pack.filename), '-C', installed, '--strip-components=1']);
  fs.symlinkSync(path.join(ROOT, 'node_modules', '@tensorflow'), path.join(work, 'node_modules', '@tensorflow'), 'junction');
}, 60_000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('the npm tarball', () => {
  it('holds the build, the demo subset and the top-level docs, and nothing else', () => {
    const paths = pack.files.map((f) => f.path);
    for (const file of REQUIRED_FILES) expect(paths).toContain(file);
    const unexpected = paths.filter((p) => !TOP_LEVEL_FILES.includes(p) && !PUBLISHED_FOLDERS.some((folder) => p.startsWith(folder)));
    expect(unexpected).toEqual([]);
  });

  it('declares no runtime dependency and holds no CLI code', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'));
    expect(manifest.dependencies ?? {}).toEqual({});
    expect(manifest.bin).toBeUndefined();
    for (const file of pack.files.map((f) => f.path).filter((p) => /\.(c?js|d\.c?ts)$/.test(p))) {
      const text = fs.readFileSync(path.join(installed, file), 'utf8');
      expect(CLI_ONLY_MODULES.filter((name) => text.includes(name)).map((name) => `${file}: ${name}`)).toEqual([]);
    }
  });

  it('has every file package.json points to', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'));
    const targets: string[] = [manifest.main, manifest.module, manifest.types, manifest.unpkg, manifest.jsdelivr];
    const collect = (node: unknown): void => {
      if (typeof node === 'string') targets.push(node);
      else if (node != null && typeof node === 'object') Object.values(node).forEach(collect);
    };
    collect(manifest.exports);
    targets.push(...(manifest.sideEffects as string[]).filter((p) => p.startsWith('./dist/')));
    const missing = targets.filter((target) => typeof target === 'string' && !fs.existsSync(path.join(installed, target)));
    expect(missing).toEqual([]);
  });

  it('holds no path of the machine it was built on, and source maps name only relative sources', () => {
    const distFiles = pack.files.map((f) => f.path).filter((p) => p.startsWith('dist/'));
    const withRoot = distFiles.filter((p) => fs.readFileSync(path.join(installed, p), 'utf8').includes(ROOT));
    expect(withRoot).toEqual([]);
    for (const map of distFiles.filter((p) => p.endsWith('.map'))) {
      const { sources } = JSON.parse(fs.readFileSync(path.join(installed, map), 'utf8')) as { sources: string[] };
      expect(sources.filter((s) => path.isAbsolute(s) || /^[a-z]+:\/\//i.test(s) || /^[A-Za-z]:[\\/]/.test(s))).toEqual([]);
    }
  });
});

describe('the tfjs-gala-cli tarball', () => {
  let cliPack: PackResult;
  let cliDir: string;

  beforeAll(() => {
    if (!fs.existsSync(path.join(ROOT, 'cli', 'dist', 'main.js'))) throw new Error('cli/dist/main.js is missing: run `npm run build` first (npm test does).');
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
      cwd: path.join(ROOT, 'cli'),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cliPack = (JSON.parse(out) as PackResult[])[0];
    cliDir = path.join(work, 'cli-package');
    fs.mkdirSync(cliDir, { recursive: true });
    execFileSync('tar', ['-xzf', path.join(work, cliPack.filename), '-C', cliDir, '--strip-components=1']);
  }, 60_000);

  it('holds the command, its build and the committed Fashion-MNIST-LT subset', () => {
    const paths = cliPack.files.map((f) => f.path);
    for (const file of ['bin/tfjs-gala.js', 'dist/main.js', 'data/fashion-mnist-lt/train-images-idx3-ubyte.gz', 'data/fashion-mnist-lt/t10k-labels-idx1-ubyte.gz']) {
      expect(paths).toContain(file);
    }
    const manifest = JSON.parse(fs.readFileSync(path.join(cliDir, 'package.json'), 'utf8'));
    expect(manifest.bin).toEqual({ 'tfjs-gala': './bin/tfjs-gala.js' });
    expect(manifest.peerDependencies['tfjs-gala']).toBeDefined();
    expect(manifest.dependencies['tfjs-gala']).toBeUndefined();
  });

  it('imports the library by its package name instead of bundling a second copy', () => {
    const main = fs.readFileSync(path.join(cliDir, 'dist', 'main.js'), 'utf8');
    expect(main).toMatch(/from ["']tfjs-gala["']/);
    // The library's registration and save/load hooks exist once, in tfjs-gala itself.
    expect(main).not.toContain('registerClass');
    expect(main).not.toContain('getTrainingConfig');
  });
});

describe('a Node project using the package with @tensorflow/tfjs', () => {
  function expectTrainedAndRestored(result: Record<string, unknown>): void {
    // One tfjs-core: the package and tfjs load the same file, and the package's classes are in
    // tfjs's registry (a second copy would register them elsewhere).
    expect(result.coreFromPackage).toBe(result.coreFromTfjs);
    expect(result.registered).toBe(true);
    expect(result.isGalaLoss).toBe(true);
    const losses = result.losses as number[];
    expect(losses).toHaveLength(2);
    for (const value of losses) expect(Number.isFinite(value) && value > 0).toBe(true);
    const state = result.state as { positive: number[]; negative: number[]; steps: number };
    expect(state.steps).toBe(6); // 2 epochs x 3 batches of 4
    expect(state.positive).toHaveLength(3);
    for (const value of [...state.positive, ...state.negative]) expect(value).toBeGreaterThan(0);
    // Saved and loaded with its loss and state: tfjs-layers is shared too (its save hooks ran).
    expect(result.restoredIsGalaLoss).toBe(true);
    expect(result.restoredState).toEqual(state);
  }

  it('imports it as an ES module (the `import` condition: dist/index.js) and trains with galaLoss', () => {
    const dir = project('esm', 'module', { 'main.js': ESM_MAIN });
    const result = runNode(dir, 'main.js');
    expect(result.resolved).toBe(path.join(installed, 'dist', 'index.js'));
    expectTrainedAndRestored(result);
  });

  it('requires it from CommonJS (the `require` condition: dist/index.cjs) and trains with galaLoss', () => {
    const dir = project('cjs', 'commonjs', { 'main.js': CJS_MAIN });
    const result = runNode(dir, 'main.js');
    expect(result.resolved).toBe(path.join(installed, 'dist', 'index.cjs'));
    expectTrainedAndRestored(result);
  });

  it('loads the <script> bundle against the global tf and registers with it', () => {
    const dir = project('script', 'commonjs', {
      'main.js': `
        const fs = require('node:fs');
        const path = require('node:path');
        const vm = require('node:vm');
        globalThis.tf = require('@tensorflow/tfjs');
        const packageDir = path.dirname(require.resolve('tfjs-gala/package.json'));
        vm.runInThisContext(fs.readFileSync(path.join(packageDir, 'dist', 'tfjs-gala.global.js'), 'utf8'));
        const loss = tfjsGala.galaLoss({ numClasses: 3 });
        const value = loss(tf.oneHot(tf.tensor1d([0, 2], 'int32'), 3), tf.zeros([2, 3]));
        console.log(${JSON.stringify(RESULT)} + JSON.stringify({
          registered: tf.serialization.SerializationMap.getMap().classNameMap.GalaLoss?.[0] === tfjsGala.GalaLoss,
          value: Array.from(value.dataSync()),
        }));
      `,
    });
    const result = runNode(dir, 'main.js');
    expect(result.registered).toBe(true);
    // Uniform logits over 3 classes and no accumulated state yet: each loss is log 3.
    for (const value of result.value as number[]) expect(value).toBeCloseTo(Math.log(3), 4);
  });
});

describe('a strict TypeScript project (module node16)', () => {
  /** tsc's error lines that are not about tfjs's own declarations (which need skipLibCheck under strict). */
  function typeErrorsOutsideTfjs(output: string): string[] {
    return output
      .split('\n')
      .filter((line) => /error TS\d+/.test(line))
      .filter((line) => !/[\\/]node_modules[\\/]@tensorflow[\\/]/.test(line.split('(')[0]));
  }

  it('type-checks the public API from ESM (dist/index.d.ts) and CommonJS (dist/index.d.cts) files', () => {
    const dir = project('ts', 'module', {
      'tsconfig.json': JSON.stringify(TS_CONFIG, null, 2),
      'esm.ts': TS_ESM,
      'commonjs.cts': TS_CJS,
    });
    const run = spawnSync(process.execPath, [TSC, '-p', dir, '--listFiles'], { cwd: dir, encoding: 'utf8', env: childEnv(), timeout: 60_000 });
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.error).toBeUndefined();
    expect(typeErrorsOutsideTfjs(output)).toEqual([]);
    const listed = output.split('\n').map((line) => line.trim());
    expect(listed).toContain(path.join(installed, 'dist', 'index.d.ts'));
    expect(listed).toContain(path.join(installed, 'dist', 'index.d.cts'));
    expect(listed).toContain(path.join(dir, 'esm.ts'));
  });
});
