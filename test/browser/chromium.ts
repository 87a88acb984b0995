/**
 * Helpers of the browser tests: headless Chromium driven by playwright-core, the repository
 * served by scripts/serve.cjs, and bundles fetched from the npm registry at test time (ml5,
 * which cannot be a devDependency) into a git-ignored cache.
 *
 * Which Chromium: `CHROMIUM_PATH` when set; else a system Chromium (Debian's /usr/bin/chromium,
 * or /usr/bin/chromium-browser); else the Chromium shipped inside the npm package
 * `@sparticuz/chromium` (a devDependency, unpacked to os.tmpdir() on first launch), so that a
 * machine with only Node and npm runs the browser tests too. `TFJS_GALA_NO_SYSTEM_CHROMIUM=1`
 * ignores the system Chromium (to test that path). {@link CHROMIUM} says which one runs.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';

import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const REPO_ROOT = path.join(__dirname, '..', '..');
/** Bundles fetched with `npm pack` (git-ignored). */
export const CACHE_DIR = path.join(__dirname, '.cache');
/** Screenshots (git-ignored). */
export const ARTIFACTS_DIR = path.join(__dirname, '.artifacts');

/** `TFJS_GALA_SKIP_BROWSER=1` skips every browser test (for machines without Chromium). */
export const SKIP_BROWSER = process.env.TFJS_GALA_SKIP_BROWSER === '1';
/** `TFJS_GALA_NO_SYSTEM_CHROMIUM=1`: use @sparticuz/chromium even when a system Chromium exists. */
const NO_SYSTEM_CHROMIUM = process.env.TFJS_GALA_NO_SYSTEM_CHROMIUM === '1';
const SYSTEM_CHROMIUMS = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
const NPM_CHROMIUM = '@sparticuz/chromium';

/** The Chromium the browser tests launch. */
export interface ChromiumChoice {
  /** `'system'`: an installed Chromium; `'npm'`: the one inside @sparticuz/chromium; `'none'`: neither. */
  readonly kind: 'system' | 'npm' | 'none';
  /** The executable (system), or null (npm: known after unpacking; none). */
  readonly executablePath: string | null;
  /** For test names and logs, e.g. "Debian chromium 156.0.8078.114" or "@sparticuz/chromium 153.0.0". */
  readonly label: string;
}

/** Decided once, synchronously, so that test names can say which browser runs. */
export const CHROMIUM: ChromiumChoice = chooseChromium();

function chooseChromium(): ChromiumChoice {
  const explicit = process.env.CHROMIUM_PATH;
  const system = explicit ?? (NO_SYSTEM_CHROMIUM ? undefined : SYSTEM_CHROMIUMS.find((p) => fs.existsSync(p)));
  if (system != null) return { kind: 'system', executablePath: system, label: systemLabel(system) };
  const npmVersion = npmChromiumVersion();
  if (npmVersion != null) return { kind: 'npm', executablePath: null, label: `${NPM_CHROMIUM} ${npmVersion}` };
  return { kind: 'none', executablePath: null, label: 'no Chromium' };
}

/** "Debian chromium 156.0.8078.114" from `chromium --version` ("Chromium 156.0.8078.114 built on Debian ..."). */
function systemLabel(executable: string): string {
  try {
    const version = execFileSync(executable, ['--version'], { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const number = /(\d+\.\d+\.\d+\.\d+)/.exec(version)?.[1] ?? version;
    return /debian/i.test(version) ? `Debian chromium ${number}` : `system Chromium ${number} (${executable})`;
  } catch {
    return `system Chromium (${executable})`;
  }
}

function npmChromiumVersion(): string | null {
  try {
    const entry = require.resolve(NPM_CHROMIUM); // <package>/build/index.js
    const manifest = JSON.parse(fs.readFileSync(path.join(path.dirname(entry), '..', 'package.json'), 'utf8')) as { version: string };
    return manifest.version;
  } catch {
    return null;
  }
}

/**
 * Chromium flags, checked on Debian's Chromium 156 and @sparticuz/chromium 153 (see docs/guide/05-backends.md):
 * headless, no network services, WebGL 2 in software (ANGLE on SwiftShader).
 */
const BASE_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--enable-unsafe-swiftshader',
  '--use-angle=swiftshader',
];

/**
 * @sparticuz/chromium's own `args` (made for AWS Lambda) that the tests must not get, found by
 * experiment with Chromium 153:
 * - `--disable-web-security` turns off cross-origin isolation (COOP/COEP), which the threaded
 *   wasm build needs (`crossOriginIsolated` stays false with it);
 * - `--single-process`: the browser exits when the tests close a page's context;
 * - `--in-process-gpu`: "Vulkan not supported with in process gpu", and WebGPU needs Vulkan here.
 */
const NPM_ARGS_DROPPED = new Set(['--disable-web-security', '--single-process', '--in-process-gpu']);

/**
 * WebGPU on SwiftShader. `--enable-unsafe-webgpu` alone gives an adapter on which training
 * runs, but tfjs-webgpu's synchronous reads (`dataSync`, used by `GalaLoss.getState()`, ml5 and
 * tfjs itself) go through a WebGPU canvas: there they return zeros and then lose the device
 * ("A valid external Instance reference no longer exists"). With Vulkan on SwiftShader they work.
 * @sparticuz/chromium finds SwiftShader's Vulkan driver next to its unpacked executable.
 */
export const WEBGPU_ARGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader'];

/** Throws the message a developer needs when the browser tests cannot run here. */
export function checkPrerequisites(): void {
  if (CHROMIUM.kind === 'none') {
    throw new Error(
      `No Chromium found for the browser tests: none at ${SYSTEM_CHROMIUMS.join(' or ')}` +
        `${NO_SYSTEM_CHROMIUM ? ' (ignored: TFJS_GALA_NO_SYSTEM_CHROMIUM=1)' : ''} and the devDependency ${NPM_CHROMIUM} ` +
        `is not installed. Run 'npm install' (it ships a Chromium), or 'apt-get install -y chromium', or set ` +
        `CHROMIUM_PATH=/path/to/chromium, or TFJS_GALA_SKIP_BROWSER=1 to skip them.`,
    );
  }
  if (CHROMIUM.kind === 'system' && !fs.existsSync(CHROMIUM.executablePath!)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM.executablePath} (CHROMIUM_PATH). Unset it to use /usr/bin/chromium or ${NPM_CHROMIUM}, ` +
        `or TFJS_GALA_SKIP_BROWSER=1 to skip the browser tests.`,
    );
  }
  for (const bundle of ['dist/tfjs-gala.global.js', 'dist/index.js']) {
    if (!fs.existsSync(path.join(REPO_ROOT, bundle))) {
      throw new Error(`${bundle} is missing: run 'npm run build' first ('npm test' builds in its pretest step).`);
    }
  }
  const built = fs.statSync(path.join(REPO_ROOT, 'dist/tfjs-gala.global.js')).mtimeMs;
  if (newestMtime(path.join(REPO_ROOT, 'src')) > built) {
    console.warn('Browser tests: src/ is newer than dist/: the pages load dist/, run `npm run build` to test the current sources.');
  }
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

/** Launches {@link CHROMIUM} headless with the base flags plus `extraArgs`, and logs which browser runs (once). */
export async function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  let browser: Browser;
  if (CHROMIUM.kind === 'npm') {
    const { executablePath, args, env } = await npmChromiumLaunch();
    const filtered = args.filter((a) => !NPM_ARGS_DROPPED.has(a));
    browser = await chromium.launch({ executablePath, headless: true, args: mergeFeatureFlags([...filtered, ...BASE_ARGS, ...extraArgs]), env });
  } else {
    browser = await chromium.launch({ executablePath: CHROMIUM.executablePath ?? undefined, headless: true, args: mergeFeatureFlags([...BASE_ARGS, ...extraArgs]) });
  }
  if (!launchLogged) {
    launchLogged = true;
    console.log(`Browser tests on ${CHROMIUM.label} (Chromium ${browser.version()}${CHROMIUM.kind === 'npm' ? ', unpacked by the npm package' : ''}).`);
  }
  return browser;
}
let launchLogged = false;

/**
 * Chromium reads only the last `--enable-features=` / `--disable-features=`: join them all
 * (@sparticuz/chromium's args bring their own). Other flags keep their order, duplicates dropped.
 */
export function mergeFeatureFlags(args: readonly string[]): string[] {
  const lists: Record<string, string[]> = { '--enable-features': [], '--disable-features': [] };
  const rest: string[] = [];
  for (const arg of args) {
    const [name, value] = arg.split(/=(.*)/s);
    if (name in lists) {
      for (const feature of (value ?? '').split(',')) if (feature && !lists[name].includes(feature)) lists[name].push(feature);
    } else if (!rest.includes(arg)) {
      rest.push(arg);
    }
  }
  for (const [name, features] of Object.entries(lists)) if (features.length > 0) rest.push(`${name}=${features.join(',')}`);
  return rest;
}

interface SparticuzChromium {
  executablePath(input?: string): Promise<string>;
  readonly args: string[];
}
interface SparticuzModule {
  default: SparticuzChromium;
  inflate(file: string): Promise<string>;
}

/**
 * Node's own `require` (not Jest's): @sparticuz/chromium is an ES module, which Jest's registry
 * would parse as CommonJS; Node >= 20.19 requires ES modules. Outside Jest, plain `require`.
 */
function nodeRequire(): (id: string) => unknown {
  const outer = vm.runInThisContext('process') as NodeJS.Process & { mainModule?: { require(id: string): unknown } };
  const main = outer.mainModule;
  return main ? (id) => main.require(id) : require;
}

/**
 * Unpacks the npm package's Chromium (with its fonts and SwiftShader) into os.tmpdir() once,
 * and gives it the shared libraries a bare machine may lack: the package ships NSS/NSPR/expat
 * (for Amazon Linux) in `al2023.tar.br`, used through LD_LIBRARY_PATH only when `ldd` reports
 * missing ones; fonts through FONTCONFIG_PATH only when the system has no fontconfig setup.
 */
async function npmChromiumLaunch(): Promise<{ executablePath: string; args: string[]; env: NodeJS.ProcessEnv }> {
  const entry = require.resolve(NPM_CHROMIUM);
  const sparticuz = nodeRequire()(entry) as SparticuzModule;
  const executablePath = await sparticuz.default.executablePath();
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (missingLibraries(executablePath).length > 0) {
    const libs = path.join(await sparticuz.inflate(path.join(path.dirname(entry), '..', 'bin', 'al2023.tar.br')), 'lib');
    env.LD_LIBRARY_PATH = [libs, env.LD_LIBRARY_PATH].filter(Boolean).join(':');
    const stillMissing = missingLibraries(executablePath, env);
    if (stillMissing.length > 0) {
      throw new Error(`${NPM_CHROMIUM}'s Chromium (${executablePath}) lacks shared libraries: ${stillMissing.join(', ')}. Install them, or a system Chromium.`);
    }
  }
  if (!fs.existsSync('/etc/fonts/fonts.conf') && env.FONTCONFIG_PATH == null) env.FONTCONFIG_PATH = path.join(os.tmpdir(), 'fonts');
  return { executablePath, args: [...sparticuz.default.args], env };
}

/** Libraries `ldd` cannot find for `executable` (empty when ldd itself is missing: the launch then says). */
function missingLibraries(executable: string, env: NodeJS.ProcessEnv = process.env): string[] {
  try {
    const output = execFileSync('ldd', [executable], { encoding: 'utf8', env, timeout: 20_000, stdio: ['ignore', 'pipe', 'ignore'] });
    return output
      .split('\n')
      .filter((line) => /not found/.test(line))
      .map((line) => line.trim().split(/\s+/)[0]);
  } catch {
    return [];
  }
}

/** A fresh context (its own IndexedDB) that can reach only the local server: other hosts are aborted and logged. */
export async function isolatedContext(browser: Browser, log: string[]): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 1400 } });
  await context.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => {
    log.push(`[blocked] ${route.request().url()}`);
    return route.abort();
  });
  return context;
}

/** Serves `url` from a local file (e.g. a CDN script from the cache); cross-origin readable. */
export async function serveFileAt(page: Page, url: string, file: string): Promise<void> {
  await page.route(url, (route) =>
    route.fulfill({
      path: file,
      headers: {
        'Content-Type': 'text/javascript; charset=utf-8',
        'Access-Control-Allow-Origin': '*',
        'Cross-Origin-Resource-Policy': 'cross-origin',
      },
    }),
  );
}

/** Collects console messages and page errors, for the failure message. */
export function recordConsole(page: Page, log: string[]): void {
  page.on('console', (message) => log.push(`[console.${message.type()}] ${message.text().slice(0, 500)}`));
  page.on('pageerror', (error) => log.push(`[pageerror] ${error.message}`));
}

/** Waits for the page to publish `window[name]` and returns it. */
export async function waitForResult<T>(page: Page, name: string, timeoutMs: number): Promise<T> {
  await page.waitForFunction((key) => (window as unknown as Record<string, unknown>)[key] !== undefined, name, { timeout: timeoutMs });
  return page.evaluate((key) => (window as unknown as Record<string, unknown>)[key], name) as Promise<T>;
}

/**
 * One file of a published npm package, fetched with `npm pack` (no install scripts run) into
 * CACHE_DIR and kept there for later runs.
 * @returns the file's path, or an Error saying why it could not be fetched (no registry, ...).
 */
export function packageFile(spec: string, fileInPackage: string): string | Error {
  const folder = path.join(CACHE_DIR, spec.replace(/[^A-Za-z0-9.@-]+/g, '_'));
  const target = path.join(folder, 'package', fileInPackage);
  if (fs.existsSync(target)) return target;
  try {
    fs.mkdirSync(folder, { recursive: true });
    const output = execFileSync('npm', ['pack', spec, '--ignore-scripts', '--json', '--pack-destination', folder], {
      encoding: 'utf8',
      timeout: 120_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const [{ filename }] = JSON.parse(output) as { filename: string }[];
    const tarball = path.join(folder, path.basename(filename));
    execFileSync('tar', ['-xzf', tarball, '-C', folder, `package/${fileInPackage}`], { timeout: 60_000 });
    fs.rmSync(tarball);
    if (!fs.existsSync(target)) return new Error(`${spec} has no ${fileInPackage}`);
    return target;
  } catch (error) {
    return new Error(`could not fetch ${spec} with npm pack: ${npmErrorSummary(error)}`);
  }
}

/** npm --json prints `{error: {summary}}` on stdout when it fails. */
function npmErrorSummary(error: unknown): string {
  const { stdout, message } = error as { stdout?: Buffer | string; message: string };
  try {
    const summary = (JSON.parse(String(stdout)) as { error?: { summary?: string } }).error?.summary;
    if (summary) return summary;
  } catch {
    // not npm's JSON: fall through
  }
  return message;
}

/** The node_modules copy of a package file, else the npm-pack cache (see {@link packageFile}). */
export function installedOrPackedFile(packageName: string, version: string, fileInPackage: string): string | Error {
  const installed = path.join(REPO_ROOT, 'node_modules', packageName, fileInPackage);
  return fs.existsSync(installed) ? installed : packageFile(`${packageName}@${version}`, fileInPackage);
}
