/**
 * Helpers of the browser tests: Debian's Chromium driven headless by playwright-core, the
 * repository served by scripts/serve.cjs, and bundles fetched from the npm registry at test time
 * (ml5, which cannot be a devDependency) into a git-ignored cache.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const REPO_ROOT = path.join(__dirname, '..', '..');
/** Bundles fetched with `npm pack` (git-ignored). */
export const CACHE_DIR = path.join(__dirname, '.cache');
/** Screenshots (git-ignored). */
export const ARTIFACTS_DIR = path.join(__dirname, '.artifacts');

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** `TFJS_GALA_SKIP_BROWSER=1` skips every browser test (for machines without Chromium). */
export const SKIP_BROWSER = process.env.TFJS_GALA_SKIP_BROWSER === '1';

/**
 * Chromium flags, checked on Debian's Chromium 156 (see GUIDE §3): headless, no network
 * services, WebGL 2 in software (ANGLE on SwiftShader).
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
 * WebGPU on SwiftShader. `--enable-unsafe-webgpu` alone gives an adapter on which training
 * runs, but tfjs-webgpu's synchronous reads (`dataSync`, used by `GalaLoss.getState()`, ml5 and
 * tfjs itself) go through a WebGPU canvas: there they return zeros and then lose the device
 * ("A valid external Instance reference no longer exists"). With Vulkan on SwiftShader they work.
 */
export const WEBGPU_ARGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader'];

/** Throws the message a developer needs when the browser tests cannot run here. */
export function checkPrerequisites(): void {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}. The browser tests need it: 'apt-get install -y chromium' ` +
        `(.ci/run does), or CHROMIUM_PATH=/path/to/chromium, or TFJS_GALA_SKIP_BROWSER=1 to skip them.`,
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

export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...BASE_ARGS, ...extraArgs] });
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
