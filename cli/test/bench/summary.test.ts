import { ANCHOR_TOLERANCE_POINTS, findAnchor, REFERENCE_ROWS, referenceMismatches, type AnchorRow } from '../../src/bench/anchors';
import { BENCH_DEFAULTS } from '../../src/bench_plan';
import { compareWithAnchors, meanAndStd, summarizeRuns } from '../../src/bench/summary';
import { row, run } from './fixtures';

describe('meanAndStd', () => {
  it('gives the mean and the sample standard deviation (n - 1)', () => {
    const { mean, std, n } = meanAndStd([0.7, 0.8, 0.9]);
    expect(mean).toBeCloseTo(0.8, 12);
    expect(std).toBeCloseTo(0.1, 12); // sqrt((0.01 + 0 + 0.01) / 2)
    expect(n).toBe(3);
  });

  it('has no standard deviation for a single value', () => {
    expect(meanAndStd([0.25])).toEqual({ mean: 0.25, std: null, n: 1 });
  });

  it('rejects an empty list and non-finite values', () => {
    expect(() => meanAndStd([])).toThrow('meanAndStd: values is empty.');
    expect(() => meanAndStd([0.5, Number.NaN])).toThrow('meanAndStd: values must be finite; received [0.5, NaN].');
  });
});

describe('summarizeRuns', () => {
  const runs = [
    run(100, 'ce', 0, [row('ce', 0.6, 0.8, 0.5, 0.3), row('ce+pr', 0.7, 0.75, 0.6, 0.5)]),
    run(100, 'ce', 1, [row('ce', 0.8, 0.9, 0.7, 0.5), row('ce+pr', 0.9, 0.85, 0.8, 0.7)]),
    run(10, 'ce', 0, [row('ce', 0.81, 0.78, 0.89, null), row('ce+pr', 0.82, 0.79, 0.9, null)]),
    run(10, 'gala', 0, [row('gala', 0.83, 0.8, 0.91, null)]),
  ];

  it('averages each row over seeds, per imbalance factor, in the given order', () => {
    const summary = summarizeRuns(runs, { imbalanceFactors: [100, 10], rowNames: ['gala', 'ce', 'ce+pr'] });
    expect(summary.map((r) => `${r.imbalanceFactor} ${r.name} ${r.runs}`)).toEqual(['100 ce 2', '100 ce+pr 2', '10 gala 1', '10 ce 1', '10 ce+pr 1']);
    const ce100 = summary[0];
    expect(ce100.overall.mean).toBeCloseTo(0.7, 12);
    expect(ce100.overall.std).toBeCloseTo(Math.SQRT2 * 0.1, 12); // |0.6 - 0.8| / sqrt(2)
    expect(ce100.few!.mean).toBeCloseTo(0.4, 12);
    expect(ce100.seeds).toEqual([0, 1]);
  });

  it('reports a group empty in every run as null, not 0', () => {
    const summary = summarizeRuns(runs);
    const ce10 = summary.find((r) => r.imbalanceFactor === 10 && r.name === 'ce')!;
    expect(ce10.few).toBeNull();
    expect(ce10.many).toEqual({ mean: 0.78, std: null, n: 1 });
  });

  it('leaves a group out of the mean in runs where it is empty', () => {
    const mixed = [run(50, 'x', 0, [row('x', 0.5, 0.4, null, 0.2)]), run(50, 'x', 1, [row('x', 0.7, 0.6, 0.5, 0.4)])];
    const [summary] = summarizeRuns(mixed);
    expect(summary.medium).toEqual({ mean: 0.5, std: null, n: 1 });
    expect(summary.many!.n).toBe(2);
  });

  it('keeps the order of appearance without an explicit order', () => {
    expect(summarizeRuns(runs).map((r) => `${r.imbalanceFactor} ${r.name}`)).toEqual(['100 ce', '100 ce+pr', '10 ce', '10 ce+pr', '10 gala']);
  });
});

describe('compareWithAnchors', () => {
  const anchor: AnchorRow = {
    model: 'mlp',
    imbalanceFactor: 100,
    name: 'ce',
    overall: { mean: 69.1, std: 1.2 },
    many: { mean: 86, std: 0.9 },
    medium: { mean: 56, std: 3.7 },
    few: null,
    runs: 3,
  };
  const lookup = (imbalanceFactor: number, name: string) => (imbalanceFactor === 100 && name === 'ce' ? anchor : undefined);

  it('gives ours - anchor in points and flags an overall difference above the tolerance', () => {
    const summary = summarizeRuns([run(100, 'ce', 0, [row('ce', 0.6, 0.87, 0.5, 0.3)])]);
    const [comparison] = compareWithAnchors(summary, lookup);
    expect(comparison.difference!.overall).toBeCloseTo(60 - 69.1, 10);
    expect(comparison.difference!.many).toBeCloseTo(1, 10);
    expect(comparison.difference!.medium).toBeCloseTo(-6, 10);
    expect(comparison.difference!.few).toBeNull(); // the anchor's group is empty
    expect(comparison.flagged).toBe(true);
  });

  it('does not flag a difference within the tolerance', () => {
    const withinTolerance = (69.1 + ANCHOR_TOLERANCE_POINTS - 0.1) / 100;
    const [comparison] = compareWithAnchors(summarizeRuns([run(100, 'ce', 0, [row('ce', withinTolerance, 0.86, 0.56, 0.5)])]), lookup);
    expect(comparison.flagged).toBe(false);
  });

  it('marks rows without an anchor as not compared', () => {
    const [comparison] = compareWithAnchors(summarizeRuns([run(100, 'cw', 0, [row('cw', 0.5, 0.5, 0.5, 0.5)])]), lookup);
    expect(comparison.anchor).toBeUndefined();
    expect(comparison.difference).toBeUndefined();
    expect(comparison.flagged).toBe(false);
  });
});

describe('the reference tables', () => {
  it('hold the 42 MLP rows, with the empty few-shot group at IF 10', () => {
    expect(REFERENCE_ROWS.mlp).toHaveLength(42);
    expect(findAnchor('mlp', 100, 'gala+pr')).toMatchObject({ overall: { mean: 74.7, std: 1.3 }, few: { mean: 75.7, std: 3.0 } });
    expect(findAnchor('mlp', 10, 'ldamdrw')).toMatchObject({ overall: { mean: 80.9, std: 0.2 }, few: null });
    expect(findAnchor('mlp', 50, 'cw')).toBeUndefined();
    for (const factor of [10, 50, 100]) {
      for (const name of ['ce', 'focal', 'la', 'bs', 'ldamdrw', 'gala', 'galaref']) {
        expect(findAnchor('mlp', factor, name)).toBeDefined();
        expect(findAnchor('mlp', factor, `${name}+pr`)).toBeDefined();
      }
    }
  });

  it('hold the 36 CNN rows (no balanced softmax: the same loss as LA at tau 1)', () => {
    expect(REFERENCE_ROWS.cnn).toHaveLength(36);
    expect(findAnchor('cnn', 100, 'gala')).toMatchObject({ model: 'cnn', overall: { mean: 75.4, std: 0.5 }, few: { mean: 83.2, std: 2.0 } });
    expect(findAnchor('cnn', 50, 'ce+pr')).toMatchObject({ many: { mean: 84.9, std: 0.0 } });
    expect(findAnchor('cnn', 10, 'ldamdrw+pr')).toMatchObject({ overall: { mean: 83.1, std: 0.8 }, few: null });
    expect(findAnchor('cnn', 100, 'bs')).toBeUndefined();
    for (const factor of [10, 50, 100]) {
      for (const name of ['ce', 'focal', 'la', 'ldamdrw', 'gala', 'galaref']) expect(findAnchor('cnn', factor, `${name}+pr`)).toBeDefined();
    }
  });
});

describe('referenceMismatches', () => {
  it('is empty for the reference protocol on reference data, for either model', () => {
    expect(referenceMismatches(BENCH_DEFAULTS, 'full Fashion-MNIST')).toEqual([]);
    expect(referenceMismatches({ ...BENCH_DEFAULTS, model: 'cnn' }, 'committed Fashion-MNIST-LT subset')).toEqual([]);
  });

  it("names other data and each setting that differs from the reference run's", () => {
    expect(referenceMismatches({ ...BENCH_DEFAULTS, epochs: 5, learningRate: 0.01, initialization: 'glorot' }, null)).toEqual([
      'the data is not Fashion-MNIST (neither the full set nor the committed subset)',
      '5 epochs (reference: 30)',
      'lr 0.01 (reference: 0.001)',
      'glorot initialisation (reference: pytorch)',
    ]);
  });
});
