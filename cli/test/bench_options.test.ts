import { CommanderError, InvalidArgumentError } from 'commander';

import { applyQuickPreset, BENCH_DEFAULTS, estimateSeconds, formatDuration, planRuns, type BenchOptions } from '../src/bench_plan';
import { benchmarkMethods, drwSwitchEpoch } from '../src/methods';
import { integerOption, listOption } from '../src/options';
import { runCli as run } from './helpers';

describe('tfjs-gala bench: argument errors', () => {
  it.each([
    [['--imbalance', '0.5'], "option '--imbalance, --imbalance-factors <list>' argument '0.5' is invalid. Entry '0.5': Expected a finite number >= 1."],
    [['--imbalance', '10,,100'], "option '--imbalance, --imbalance-factors <list>' argument '10,,100' is invalid. Expected a comma-separated list with no empty entries, such as 0,1,2."],
    [['--seeds', '0,1,1'], "option '--seeds <list>' argument '0,1,1' is invalid. Entry '1' repeats an earlier one."],
    [['--seeds', '0,-1'], "option '--seeds <list>' argument '0,-1' is invalid. Entry '-1': Expected an integer in [0, 4294967295]."],
    [['--methods', 'ce,softmax'], "option '--methods <list>' argument 'ce,softmax' is invalid. Entry 'softmax': Allowed: ce, focal, la, bs, ldamdrw, cw, gala, galaref."],
    [['--epochs', '0'], "option '--epochs <n>' argument '0' is invalid. Expected an integer >= 1."],
    [['--ldam-scale', '0'], "option '--ldam-scale <s>' argument '0' is invalid. Expected a finite number > 0."],
    [['--lr', '-1'], "option '--lr, --learning-rate <rate>' argument '-1' is invalid. Expected a finite number > 0."],
    [['--model', 'resnet'], "option '--model <name>' argument 'resnet' is invalid. Allowed choices are mlp, cnn."],
    [['--backend', 'gpu'], "option '--backend <name>' argument 'gpu' is invalid. Allowed choices are auto, tensorflow, webgpu, wasm, cpu."],
  ])('rejects %p', async (args, message) => {
    const error = await run(['bench', ...args]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommanderError);
    expect((error as CommanderError).message).toBe(`error: ${message}`);
  });

  it('rejects an n-max below the largest imbalance factor, naming both options', async () => {
    await expect(run(['bench', '--imbalance', '10,100', '--n-max', '50'])).rejects.toThrow(
      "--n-max: the head class's training images must be at least the imbalance factor (100), or the rarest class gets floor(n-max / imbalance) = 0 images; received 50.",
    );
  });

  it('shows list defaults as they are typed', async () => {
    const error = (await run(['bench', '--help']).catch((e: unknown) => e)) as CommanderError & { printed: string };
    expect(error).toBeInstanceOf(CommanderError);
    const out = error.printed;
    expect(out).toContain('(default: 10,50,100)');
    expect(out).toMatch(/\(default:\s+ce,focal,la,bs,ldamdrw,cw,gala,galaref\)/);
  });
});

describe('listOption', () => {
  it('parses comma-separated entries with their own parser, spaces allowed', () => {
    expect(listOption(integerOption(0))('0, 1,2')).toEqual([0, 1, 2]);
    expect(() => listOption(integerOption(0))('1,1.0')).toThrow(InvalidArgumentError); // the same number twice
  });
});

describe('applyQuickPreset', () => {
  const options: BenchOptions = { ...BENCH_DEFAULTS, quick: true };

  it('takes IF 100 for options left at their defaults, the rest of the full protocol unchanged', () => {
    const quick = applyQuickPreset(options, () => true);
    expect(quick.imbalanceFactors).toEqual([100]);
    expect(quick.out).toBe('bench-results');
    expect(quick.seeds).toEqual([0, 1, 2]);
    expect(quick.methods).toEqual(BENCH_DEFAULTS.methods);
    expect(quick.epochs).toBe(30);
  });

  it('with the CNN also leaves out the methods without a CNN reference row (bs, cw), to stay near 9 minutes', () => {
    const quick = applyQuickPreset({ ...options, model: 'cnn' }, () => true);
    expect(quick.imbalanceFactors).toEqual([100]);
    expect(quick.methods).toEqual(['ce', 'focal', 'la', 'ldamdrw', 'gala', 'galaref']);
    expect(quick.seeds).toEqual([0, 1, 2]);
    expect(applyQuickPreset({ ...options, model: 'cnn', methods: ['bs'] }, (name) => name !== 'methods').methods).toEqual(['bs']);
  });

  it('keeps the options the user gave', () => {
    const given = { ...options, imbalanceFactors: [50] };
    const quick = applyQuickPreset(given, (name) => name !== 'imbalanceFactors');
    expect(quick.imbalanceFactors).toEqual([50]);
  });

  it('changes nothing without --quick', () => {
    const full = { ...BENCH_DEFAULTS, quick: false };
    expect(applyQuickPreset(full, () => true)).toBe(full);
  });

  it('is applied by the command line, explicit options winning', async () => {
    // The preset's IF 100 does not fit n-max 50...
    await expect(run(['bench', '--quick', '--n-max', '50', '--data', '/nonexistent/fmnist'])).rejects.toThrow(
      "--n-max: the head class's training images must be at least the imbalance factor (100)",
    );
    // ...but an explicit --imbalance replaces it: the options pass and the data folder is read.
    await expect(run(['bench', '--quick', '--imbalance', '10', '--n-max', '50', '--data', '/nonexistent/fmnist'])).rejects.toThrow(
      'Fashion-MNIST folder /nonexistent/fmnist does not exist.',
    );
  });
});

describe('planRuns', () => {
  const methods = benchmarkMethods();

  it('orders runs by imbalance factor, seed, then method, with steps from the long-tailed counts', () => {
    const plan = planRuns({ ...BENCH_DEFAULTS, imbalanceFactors: [100, 10], seeds: [0, 1] }, methods, '/data');
    expect(plan).toHaveLength(2 * 2 * 8);
    expect(plan.slice(0, 9).map((r) => `${r.imbalanceFactor} ${r.seed} ${r.method.name}`)).toEqual([
      '100 0 ce', '100 0 focal', '100 0 la', '100 0 bs', '100 0 ldamdrw', '100 0 cw', '100 0 gala', '100 0 galaref', '100 1 ce',
    ]);
    // IF 100, nMax 500: 500+299+179+107+64+38+23+13+8+5 = 1236 images, 10 batches of 128, 30 epochs.
    expect(plan[0].trainExamples).toBe(1236);
    expect(plan[0].steps).toBe(300);
    expect(new Set(plan.map((r) => r.key)).size).toBe(plan.length);
  });

  it('keys LDAM-DRW runs by its scale', () => {
    const [a] = planRuns({ ...BENCH_DEFAULTS, imbalanceFactors: [100], seeds: [0] }, benchmarkMethods({ ldamScale: 30 }).filter((m) => m.name === 'ldamdrw'), '/d');
    const [b] = planRuns({ ...BENCH_DEFAULTS, imbalanceFactors: [100], seeds: [0] }, benchmarkMethods({ ldamScale: 1 }).filter((m) => m.name === 'ldamdrw'), '/d');
    expect(a.settings.method).toMatchObject({ scale: 30, maxMargin: 0.5, drwBeta: 0.9999 });
    expect(a.key).not.toBe(b.key);
  });

  it('keys MLP runs as runs stored before there was a choice of model, and CNN runs apart', () => {
    const gala = benchmarkMethods().filter((m) => m.name === 'gala' || m.name === 'ce');
    const grid = { ...BENCH_DEFAULTS, imbalanceFactors: [100], seeds: [0, 1] };
    const mlp = planRuns(grid, gala, '/usr/share/datasets/fashion-mnist');
    // Keys written by the benchmark before --model existed (same settings), so that its runs are reused.
    expect(mlp.map((r) => r.key)).toEqual(expect.arrayContaining(['if100/gala/seed0/65496e78b354', 'if100/ce/seed1/fec0243fe46a']));
    const cnn = planRuns({ ...grid, model: 'cnn' }, gala, '/usr/share/datasets/fashion-mnist');
    expect(cnn.map((r) => r.key.split('/').slice(0, 4).join('/'))).toEqual(mlp.map((r) => `cnn/${r.key.split('/').slice(0, 3).join('/')}`));
  });

  it('estimates time from steps and evaluation, and formats durations', () => {
    const plan = planRuns({ ...BENCH_DEFAULTS, imbalanceFactors: [100], seeds: [0] }, methods.slice(0, 1), '/d');
    // 300 training steps + 10000/128 -> 79 evaluation batches at a third of a step each.
    expect(estimateSeconds(plan, 100, 10000, 128)).toBeCloseTo(((300 + 79 / 3) * 100) / 1000, 10);
    expect(formatDuration(42)).toBe('42 s');
    expect(formatDuration(600)).toBe('10 min');
    expect(formatDuration(3900)).toBe('1 h 05 min');
  });

  it('switches deferred re-weighting at 80% of the epochs', () => {
    expect(drwSwitchEpoch(30)).toBe(24);
    expect(drwSwitchEpoch(200)).toBe(160);
    expect(drwSwitchEpoch(1)).toBe(0);
  });
});
