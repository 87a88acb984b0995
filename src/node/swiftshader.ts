/**
 * SwiftShader, the software Vulkan driver Chromium ships, found in the environment, an installed
 * Chromium, or the npm package `@sparticuz/chromium` (unpacked from its brotli-compressed tar).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';

import { firstLine } from './errors';
import { readTar } from './tar';
import { envICDs } from './vulkan';

/**
 * Places {@link findSoftwareVulkanICD} looks for SwiftShader, in this order by default:
 * - `'env'`: a `VK_ICD_FILENAMES` / `VK_DRIVER_FILES` already set (first existing file),
 * - `'chromium'`: an installed Chromium's `vk_swiftshader_icd.json` (Debian/Ubuntu packages:
 *   `/usr/lib/chromium/`, `/usr/lib/chromium-browser/`; Google Chrome: `/opt/google/chrome/`),
 * - `'npm'`: the npm package `@sparticuz/chromium`, whose `bin/swiftshader.tar.br` is unpacked
 *   into a cache folder under `os.tmpdir()`.
 */
export type SwiftShaderSource = 'env' | 'chromium' | 'npm';

/** Options of {@link findSoftwareVulkanICD}. */
export interface FindSoftwareVulkanICDOptions {
  /** Sources to try, in order (default `['env', 'chromium', 'npm']`). */
  readonly sources?: readonly SwiftShaderSource[];
  /** Folder under which the npm package's SwiftShader is unpacked (default `os.tmpdir()`). */
  readonly cacheDir?: string;
}

const ALL_SOURCES: readonly SwiftShaderSource[] = ['env', 'chromium', 'npm'];
const CHROMIUM_DIRS = ['/usr/lib/chromium', '/usr/lib/chromium-browser', '/usr/lib64/chromium-browser', '/opt/google/chrome'];
/** File name of SwiftShader's Vulkan driver manifest. */
export const ICD_JSON = 'vk_swiftshader_icd.json';
const SPARTICUZ = '@sparticuz/chromium';

/**
 * Finds the Vulkan driver manifest (ICD json) of SwiftShader, the software Vulkan driver
 * Chromium ships, so that Dawn can run WebGPU on a machine without a GPU: set the returned path
 * as `VK_ICD_FILENAMES` before Dawn starts (setupNodeWebGPU does). Looks in `sources` order
 * (see {@link SwiftShaderSource}); the npm package `@sparticuz/chromium` is unpacked once
 * (brotli-compressed tar, about 8 MB) into `<cacheDir>/tfjs-gala-swiftshader-<version>-<uid>`,
 * and the json there gets an absolute `library_path`. Linux x64/arm64 only.
 *
 * @returns the json's absolute path, or null when no source has SwiftShader (including on
 *   platforms other than Linux).
 * @throws Error only when the npm package's archive is present but cannot be unpacked (corrupt
 *   archive, unwritable cache folder, a cache folder owned by another user).
 */
export async function findSoftwareVulkanICD(options: FindSoftwareVulkanICDOptions = {}): Promise<string | null> {
  if (process.platform !== 'linux') return null;
  for (const source of options.sources ?? ALL_SOURCES) {
    if (source === 'env') {
      const fromEnv = envICDs().find((file) => fs.existsSync(file));
      if (fromEnv) return path.resolve(fromEnv);
    } else if (source === 'chromium') {
      const dir = CHROMIUM_DIRS.find((d) => fs.existsSync(path.join(d, ICD_JSON)));
      if (dir) return path.join(dir, ICD_JSON);
    } else if (source === 'npm') {
      const unpacked = await unpackNpmSwiftShader(options.cacheDir ?? os.tmpdir());
      if (unpacked) return unpacked;
    } else {
      throw new Error(`findSoftwareVulkanICD: unknown source ${JSON.stringify(source)}; use 'env', 'chromium' or 'npm'.`);
    }
  }
  return null;
}

/**
 * Folder of an installed package, resolved from this module (CommonJS build), then from the
 * main script and the working directory (the ES build has no `__filename`, and `import.meta`
 * would break the CommonJS build).
 */
function packageDir(name: string): string | null {
  const bases = [
    typeof __filename === 'string' ? __filename : null,
    process.argv[1] ? path.resolve(process.argv[1]) : null,
    path.join(process.cwd(), 'package.json'),
  ];
  for (const base of bases) {
    if (base == null) continue;
    try {
      let dir = path.dirname(createRequire(base).resolve(name));
      for (; dir !== path.dirname(dir); dir = path.dirname(dir)) {
        const manifest = path.join(dir, 'package.json');
        if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, 'utf8')).name === name) return dir;
      }
    } catch {
      // not resolvable from this base
    }
  }
  return null;
}

async function unpackNpmSwiftShader(cacheRoot: string): Promise<string | null> {
  const dir = packageDir(SPARTICUZ);
  if (dir == null) return null;
  const archive = path.join(dir, 'bin', 'swiftshader.tar.br');
  if (!fs.existsSync(archive)) return null;
  const version = String(JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version).replace(/[^\w.-]/g, '_');
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const target = path.join(cacheRoot, `tfjs-gala-swiftshader-${version}-${uid}`);
  const icd = path.join(target, ICD_JSON);
  if (fs.existsSync(icd)) {
    checkOwnFolder(target);
    return icd;
  }

  const tar = await promisify(zlib.brotliDecompress)(fs.readFileSync(archive));
  const partial = `${target}.partial-${process.pid}-${Date.now()}`;
  fs.mkdirSync(partial, { recursive: true, mode: 0o700 });
  try {
    for (const entry of readTar(tar)) {
      if (entry.type !== 'file') continue;
      const name = path.posix.normalize(entry.name).replace(/^(\.\/)+/, '');
      if (name.includes('/') || name === '..' || name === '.' || name === '') continue; // the archive is flat: skip anything else
      fs.writeFileSync(path.join(partial, name), entry.data, { mode: entry.mode & 0o755 });
    }
    const json = path.join(partial, ICD_JSON);
    if (!fs.existsSync(json)) throw new Error(`${archive} holds no ${ICD_JSON}`);
    const manifest = JSON.parse(fs.readFileSync(json, 'utf8')) as { ICD?: { library_path?: string } };
    const library = manifest.ICD?.library_path;
    if (typeof library !== 'string') throw new Error(`${archive}: ${ICD_JSON} has no ICD.library_path`);
    if (!path.isAbsolute(library)) {
      // Relative paths are read relative to the json by current loaders; an absolute path works with all of them.
      manifest.ICD!.library_path = path.join(target, path.basename(library));
      fs.writeFileSync(json, JSON.stringify(manifest));
    }
    try {
      fs.renameSync(partial, target);
    } catch (error) {
      // another process unpacked it first
      if (!fs.existsSync(icd)) throw error;
      fs.rmSync(partial, { recursive: true, force: true });
    }
  } catch (error) {
    fs.rmSync(partial, { recursive: true, force: true });
    throw new Error(`findSoftwareVulkanICD: could not unpack SwiftShader from ${SPARTICUZ} (${archive}) into ${target}: ${firstLine(error)}`);
  }
  checkOwnFolder(target);
  return icd;
}

/** Refuses a cache folder that another user could have planted in a shared temporary folder. */
function checkOwnFolder(dir: string): void {
  if (typeof process.getuid !== 'function') return;
  const stat = fs.statSync(dir);
  if (stat.uid !== process.getuid() || (stat.mode & 0o022) !== 0) {
    throw new Error(`findSoftwareVulkanICD: ${dir} is not a folder only this user can write to; remove it or pass another cacheDir.`);
  }
}
