/**
 * Old class names (issue 11, item 9, loading side). The package's classes are registered under
 * package-qualified names; models saved by 0.1.0 name them bare. Each bare name is an alias in
 * tfjs's class registry, added only where no class holds the name, never enumerated, and given
 * up to any class registered under it later. A model that uses a package class, loaded without
 * the package, fails with a message that names tfjs-gala.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as tf from '@tensorflow/tfjs';

import * as pkg from '../../src/index';
import { LEGACY_CLASS_NAMES, installLegacyClassNames, isLegacyAlias, uninstallLegacyClassNames } from '../../src/io/legacy_class_names';
import { saveToMemory } from './io_helpers';

type Entry = [unknown, unknown];
const registry = () => tf.serialization.SerializationMap.getMap().classNameMap as unknown as Record<string, Entry>;

describe('aliases of the bare names 0.1.0 saved', () => {
  it('map every bare name to a name under the package prefix', () => {
    for (const [bare, qualified] of Object.entries(LEGACY_CLASS_NAMES)) expect(qualified).toBe(`tfjs-gala.${bare}`);
    expect(Object.keys(LEGACY_CLASS_NAMES)).toEqual(
      expect.arrayContaining(['GalaLoss', 'FocalLoss', 'LogitAdjustedLoss', 'BalancedSoftmaxLoss', 'LDAMLoss', 'PredictionRebalance']),
    );
  });

  it('resolve each bare name to the class the package registers now, without being listed', () => {
    const map = registry();
    for (const [bare, qualified] of Object.entries(LEGACY_CLASS_NAMES)) {
      const current = Object.prototype.hasOwnProperty.call(map, qualified) ? qualified : bare;
      // Registered under its qualified name: the bare one is an alias to it. (Until then, the
      // class itself holds the bare name.)
      expect(map[bare]?.[0]).toBeDefined();
      expect(map[bare][0]).toBe(map[current][0]);
      expect(Object.keys(map).includes(bare)).toBe(current === bare);
      expect(isLegacyAlias(bare, map)).toBe(current !== bare);
    }
    // What the package exports is what the aliases lead to.
    expect(map.GalaLoss[0]).toBe(pkg.GalaLoss);
    expect(map.PredictionRebalance[0]).toBe(pkg.PredictionRebalance);
  });

  describe('in a registry of their own', () => {
    class Qualified {
      static className = 'tfjs-gala.PredictionRebalance';
    }
    class UsersOwn {
      static className = 'PredictionRebalance';
    }
    const fromConfig = () => null;

    it('are added only where no class holds the name: a user class of that name is never replaced', () => {
      const map: Record<string, Entry> = { PredictionRebalance: [UsersOwn, fromConfig] };
      installLegacyClassNames(map);
      expect(map.PredictionRebalance[0]).toBe(UsersOwn);
      expect(isLegacyAlias('PredictionRebalance', map)).toBe(false);
      expect(isLegacyAlias('GalaLoss', map)).toBe(true);
    });

    it('give the name up to a class registered under it later, which then is listed as usual', () => {
      const map: Record<string, Entry> = { 'tfjs-gala.PredictionRebalance': [Qualified, fromConfig] };
      installLegacyClassNames(map);
      expect(map.PredictionRebalance[0]).toBe(Qualified);
      map.PredictionRebalance = [UsersOwn, fromConfig]; // what tf.serialization.registerClass does
      expect(map.PredictionRebalance[0]).toBe(UsersOwn);
      expect(Object.keys(map)).toContain('PredictionRebalance');
      expect(isLegacyAlias('PredictionRebalance', map)).toBe(false);
      installLegacyClassNames(map); // again: still the user's
      expect(map.PredictionRebalance[0]).toBe(UsersOwn);
    });

    it('read as an unknown class while the qualified class is not registered, and are removed again', () => {
      const map: Record<string, Entry> = {};
      installLegacyClassNames(map);
      expect('GalaLoss' in map).toBe(true);
      expect(map.GalaLoss).toEqual([null, null]);
      map['tfjs-gala.GalaLoss'] = [Qualified, fromConfig];
      expect(map.GalaLoss[0]).toBe(Qualified);
      uninstallLegacyClassNames(map);
      expect('GalaLoss' in map).toBe(false);
      expect(Object.keys(map)).toEqual(['tfjs-gala.GalaLoss']);
    });
  });
});

describe('a model that uses the package, loaded without it', () => {
  let dir: string;
  beforeAll(async () => {
    expect(await tf.setBackend('cpu')).toBe(true);
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-gala-legacy-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Loads saved artifacts in a process that has tfjs only; returns its `ERROR <message>` or `LOADED`. */
  function loadWithoutPackage(artifacts: tf.io.ModelArtifacts): string {
    const file = path.join(dir, 'artifacts.json');
    fs.writeFileSync(file, JSON.stringify({ ...artifacts, weightData: Buffer.from(artifacts.weightData as ArrayBuffer).toString('base64') }));
    const script = `
      const tf = require('@tensorflow/tfjs');
      const a = JSON.parse(require('fs').readFileSync(${JSON.stringify(file)}, 'utf8'));
      const b = Buffer.from(a.weightData, 'base64');
      a.weightData = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
      tf.loadLayersModel(tf.io.fromMemory(a)).then(() => console.log('LOADED'), (e) => console.log('ERROR ' + e.message.split('\\n')[0]));`;
    return execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd: path.resolve(__dirname, '../..') }).trim();
  }

  it('fails with a message that names tfjs-gala, for a layer of the package', async () => {
    const input = tf.input({ shape: [3] });
    const output = pkg.predictionRebalance({ classPriors: [3, 2, 1], name: 'rebalanced' }).apply(input) as tf.SymbolicTensor;
    const artifacts = await saveToMemory(tf.model({ inputs: input, outputs: output }), false);
    expect(loadWithoutPackage(artifacts)).toMatch(/^ERROR Unknown layer: tfjs-gala\.PredictionRebalance\b/);
  });

  it('fails with a message that names tfjs-gala and says to import it, for a loss of the package', async () => {
    const m = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [2] })] });
    const loss = pkg.galaLoss({ numClasses: 3 });
    m.compile({ optimizer: 'sgd', loss });
    const out = loadWithoutPackage(await saveToMemory(m));
    expect(out).toMatch(/^ERROR Unknown loss \S*GalaLoss \(saved by tfjs-gala: import 'tfjs-gala' before loading this model/);
    loss.dispose();
  });
});
