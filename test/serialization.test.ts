import * as tf from '@tensorflow/tfjs';

import * as pkg from '../src/index';

/*
 * config -> object -> config is the identity for every class the package registers with
 * tf.serialization (losses, layers and callbacks). The classes are read from tfjs's registry, keeping those
 * the package exports, so a class added later is covered here as soon as it is registered and
 * exported: the test then asks for an example config for it below.
 */

/** Constructor arguments for each registered class, far from the defaults where possible. */
const EXAMPLES: Record<string, tf.serialization.ConfigDict> = {
  'tfjs-gala.CrossEntropyLoss': { fromLogits: false },
  'tfjs-gala.GalaLoss': { numClasses: 4, lambda1: 1.2, lambda2: 0.9, epsilon: 1e-2, fromLogits: false, variant: 'reference' },
  'tfjs-gala.FocalLoss': { gamma: 1.5, alpha: [1, 2, 4], fromLogits: false },
  'tfjs-gala.LogitAdjustedLoss': { tau: 1.2, priors: [0.6, 0.3, 0.1], fromLogits: false },
  'tfjs-gala.BalancedSoftmaxLoss': { classCounts: [5, 2, 1], fromLogits: false },
  'tfjs-gala.LDAMLoss': { classCounts: [5, 2, 1], maxMargin: 0.3, scale: 2, classWeights: [0.5, 1, 2], fromLogits: false },
  'tfjs-gala.PredictionRebalance': { mode: 'calibrated', tau: 1.4, fromLogits: false, classPriors: [3, 2, 1], name: 'rebalance_example' },
  'tfjs-gala.GradientMonitor': {
    source: 'training',
    batchSize: 64,
    modelOutput: 'logits',
    classCounts: [5, 2, 1],
    classNames: ['head', 'middle', 'tail'],
    svg: false,
  },
};

/**
 * Bare names 0.1.0 registered and saved models hold. Each class is now registered under
 * 'tfjs-gala.' + its bare name; loading the bare names is the save/load code's job (it may
 * register them as aliases, which the tests below tell apart from the classes' own names).
 */
const RELEASED_BARE_NAMES = ['GalaLoss', 'FocalLoss', 'LogitAdjustedLoss', 'BalancedSoftmaxLoss', 'LDAMLoss', 'CrossEntropyLoss', 'PredictionRebalance'];

/** tfjs-layers 4.22's test of layer and weight names (engine/common.ts), which default layer names must pass. */
const VALID_TENSOR_NAME = /^[A-Za-z0-9][-A-Za-z0-9._/]*$/;

type Registered = [tf.serialization.SerializableConstructor<tf.serialization.Serializable>, tf.serialization.FromConfigMethod<tf.serialization.Serializable>];

const registry = (): Record<string, Registered> => tf.serialization.SerializationMap.getMap().classNameMap;
const exported = new Set<unknown>(Object.values(pkg));

/** The registry's entries whose class the package exports, under the class's own className (aliases left out). */
function packageClasses(): Array<[string, Registered]> {
  return Object.entries(registry())
    .filter(([name, [cls]]) => exported.has(cls) && cls.className === name)
    .sort(([a], [b]) => a.localeCompare(b));
}

function dispose(object: unknown): void {
  if (object instanceof pkg.StatefulLoss) object.dispose();
}

describe('the classes the package registers', () => {
  it('are found, and cover every class a released version registered', () => {
    const names = packageClasses().map(([name]) => name);
    expect(names.length).toBeGreaterThan(0);
    expect(names).toEqual(expect.arrayContaining(RELEASED_BARE_NAMES.map((bare) => `tfjs-gala.${bare}`)));
  });

  it("have package-qualified names: 'tfjs-gala.' + the class name, no '_' (tfjs camel-cases names with one on load) and no '>'", () => {
    for (const [name] of packageClasses()) {
      expect(name).toMatch(/^tfjs-gala\.[A-Z][A-Za-z0-9]*$/);
      expect(name).toMatch(VALID_TENSOR_NAME);
    }
  });

  it('are all exported: every registered package loss or layer subclass', () => {
    const unexported = Object.entries(registry())
      .filter(([, [cls]]) => cls.prototype instanceof pkg.CallableLoss || cls.prototype instanceof pkg.PredictionRebalance || cls === pkg.PredictionRebalance)
      .filter(([, [cls]]) => !exported.has(cls))
      .map(([name]) => name);
    expect(unexported).toEqual([]);
  });

  it('each have an example config here (add one for a new class)', () => {
    const missing = packageClasses()
      .map(([name]) => name)
      .filter((name) => !(name in EXAMPLES));
    expect(missing).toEqual([]);
  });

  it('are registered under their own literal className', () => {
    for (const [name, [cls]] of packageClasses()) {
      expect(Object.prototype.hasOwnProperty.call(cls, 'className')).toBe(true);
      expect(cls.className).toBe(name);
    }
  });

  it('have no other registry entry than aliases for the bare names of released versions', () => {
    const aliases = Object.entries(registry()).filter(([name, [cls]]) => exported.has(cls) && cls.className !== name);
    for (const [alias, [cls]] of aliases) {
      expect(RELEASED_BARE_NAMES).toContain(alias);
      expect(cls.className).toBe(`tfjs-gala.${alias}`);
    }
  });
});

describe.each(packageClasses().map(([name, entry]) => [name, entry] as const))('%s', (name, [cls, fromConfig]) => {
  it('config -> object -> config is the identity, through a JSON round trip', () => {
    const example = EXAMPLES[name];
    expect(example).toBeDefined();
    const object = fromConfig(cls, example);
    expect(object).toBeInstanceOf(cls);
    expect(object.getClassName()).toBe(name);
    const config = object.getConfig();
    // Every argument given comes back as given; getConfig adds the defaults of the rest.
    expect(config).toMatchObject(example);

    const copy = fromConfig(cls, JSON.parse(JSON.stringify(config)));
    expect(copy).toBeInstanceOf(cls);
    expect(copy.getConfig()).toEqual(config);
    dispose(object);
    dispose(copy);
  });

  it('rebuilds from the config of a default-constructed instance, when it has defaults for everything', () => {
    let object: tf.serialization.Serializable;
    try {
      object = fromConfig(cls, {});
    } catch {
      return; // a required argument (numClasses, classCounts, mode): covered by the example above
    }
    const config = object.getConfig();
    expect(fromConfig(cls, JSON.parse(JSON.stringify(config))).getConfig()).toEqual(config);
    dispose(object);
  });
});
