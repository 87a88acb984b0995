/**
 * Both builds of the package in one process (issue 11, item 8): an app imports the ES module
 * build (dist/index.js) while a dependency requires the CommonJS one (dist/index.cjs). The
 * save/load hooks must install once, GALA models must save and load with either copy's loss,
 * and either copy can remove the hooks and install them again.
 *
 * Needs a build (`npm test` runs `npm run build` first; alone: `npx tsup`).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const DIST = path.join(ROOT, 'dist');

interface RoundTrip {
  saved?: { steps: number };
  loaded?: { steps: number };
  error?: string;
}

describe('the ESM and CommonJS builds in one process', () => {
  let result: {
    twoCopies: boolean;
    recorded: boolean;
    esmLoss: RoundTrip;
    cjsLoss: RoundTrip;
    uninstalled: boolean | string;
    installedAfterUninstall: boolean;
    stock: RoundTrip;
    reinstalled: RoundTrip;
  };

  beforeAll(() => {
    for (const file of ['index.js', 'index.cjs']) {
      if (!fs.existsSync(path.join(DIST, file))) throw new Error(`dist/${file} is missing: build first (npx tsup, or npm test).`);
    }
    const out = execFileSync(process.execPath, [path.join(__dirname, 'two_builds.mjs'), DIST], { cwd: ROOT, encoding: 'utf8' });
    const line = out.split('\n').find((l) => l.startsWith('RESULT '));
    if (line == null) throw new Error(`no RESULT line in:\n${out}`);
    result = JSON.parse(line.slice('RESULT '.length));
  });

  it('are two copies of the package, with the hooks recorded once on the shared LayersModel prototype', () => {
    expect(result.twoCopies).toBe(true);
    expect(result.recorded).toBe(true);
  });

  it('save and load a GALA model trained with either copy\'s loss, state included, and the loaded model trains', () => {
    for (const roundTrip of [result.esmLoss, result.cjsLoss]) {
      expect(roundTrip.error).toBeUndefined();
      expect(roundTrip.saved!.steps).toBe(6);
      expect(roundTrip.loaded!.steps).toBe(9);
    }
  });

  it('either copy removes the hooks (stock tfjs again) and installs them again', () => {
    expect(result.uninstalled).toBe(true);
    expect(result.installedAfterUninstall).toBe(false);
    expect(result.stock.error).toMatch(/Serialization of non-string loss is not supported/);
    expect(result.reinstalled.error).toBeUndefined();
    expect(result.reinstalled.loaded!.steps).toBe(9);
  });
});
