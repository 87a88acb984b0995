import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as tf from '@tensorflow/tfjs';

import { runBench } from '../src/bench';
import type { BenchOptions } from '../src/bench_plan';
import { labelsPerClass, writeFakeFashionMnist } from './data/fake_fashion_mnist';
import { capture, tinyBenchOptions } from './helpers';

// A tiny dataset: 20 training and 5 test images per class. At nMax 20 and IF 10 the training
// split has 20 15 11 9 7 5 4 3 2 2 images: medium [0], few [1..9], many empty.

describe('runBench', () => {
  let root: string;
  let data: string;
  let options: BenchOptions;
  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'tfjs-gala-bench-'));
    data = path.join(root, 'data');
    await writeFakeFashionMnist(data, { trainLabels: labelsPerClass(20), testLabels: labelsPerClass(5) });
  });
  beforeEach(async () => {
    options = tinyBenchOptions(data, await fs.mkdtemp(path.join(root, 'out-')));
  });
  afterAll(async () => {
    await fs.rm(root, { recursive: true, force: true });
    await tf.setBackend('cpu');
  });

  it('writes every run as it ends, then the summary as JSON, markdown and SVG', async () => {
    const { env, output } = capture(data);
    const tensorsBefore = tf.memory().numTensors;
    const report = await runBench(options, env);
    expect(tf.memory().numTensors).toBe(tensorsBefore);

    expect(report.runs.map((r) => `${r.imbalanceFactor} ${r.method} ${r.seed}`)).toEqual(['10 ce 0', '10 gala 0']);
    expect(report.summary.map((r) => r.name)).toEqual(['ce', 'ce+pr', 'ce+la', 'gala', 'gala+pr']);
    for (const row of report.summary) {
      expect(row.many).toBeNull(); // empty group stays empty
      expect(row.runs).toBe(1);
    }
    const lines = (await fs.readFile(report.files.runs, 'utf8')).trim().split('\n');
    expect(lines.map((line) => JSON.parse(line).key)).toEqual(report.runs.map((r) => r.key));

    const json = JSON.parse(await fs.readFile(report.files.json, 'utf8'));
    expect(json.runs).toHaveLength(2);
    expect(json.protocol).toMatchObject({ imbalanceFactors: [10], seeds: [0], epochs: 1, nMax: 20 });
    const markdown = await fs.readFile(report.files.markdown, 'utf8');
    expect(markdown).toContain('| IF | method | overall | many | medium | few | runs |');
    expect(markdown).toMatch(/\| 10 \| gala \+PR \| [\d.]+ \| empty \| [\d.]+ \| [\d.]+ \| 1 \|/);
    const svg = await fs.readFile(report.files.svg!, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('gala +PR');
    expect(svg).toContain('IF 10');

    const text = output();
    expect(text.split('\n')[0]).toMatch(/^Backend: wasm \(/);
    expect(text).toContain('Benchmark (custom mode): Fashion-MNIST-LT, IF 10 x seeds 0 x 2 methods = 2 training runs');
    expect(text).toContain('runs.jsonl: 0 of 2 runs already done, 2 to run');
    expect(text).toMatch(/Estimated time: .* for 2 runs \(6 training steps at/); // 78 images, batch 32: 3 steps per run
    expect(text).toMatch(/│ 10 │ gala \+PR │ +[\d.]+ │ +empty │ +[\d.]+ │ +[\d.]+ │ +1 │\n/); // no reference columns
    // The fake images are a user's own data: no comparison with the PyTorch reference numbers, and no flags.
    expect(text).toContain('(not the reference data: no comparison with the PyTorch reference numbers)');
    expect(text).toContain(
      'No comparison with the PyTorch reference numbers (docs/guide/07-reference-numbers.md): the data is not Fashion-MNIST ' +
        '(neither the full set nor the committed subset); n_max 20 (reference: 500); 1 epochs (reference: 30); batch 32 (reference: 128).',
    );
    expect(text).not.toMatch(/points from the reference/);
    expect(report.reference).toEqual({ data: null, compared: false, mismatches: expect.any(Array), page: 'docs/guide/07-reference-numbers.md' });
    expect(report.anchors.every((c) => c.anchor === undefined && !c.flagged)).toBe(true);
    expect(markdown).not.toContain('Against the PyTorch reference run');
  });

  it('skips finished runs on a rerun with the same output folder, and runs only what is new', async () => {
    const first = await runBench(options, capture(data).env);
    const mtime = (await fs.stat(first.files.runs)).mtimeMs;

    const again = capture(data);
    const second = await runBench(options, again.env);
    expect(second.skippedRuns).toBe(2);
    expect(again.output()).toContain('runs.jsonl: 2 of 2 runs already done)');
    expect((await fs.stat(first.files.runs)).mtimeMs).toBe(mtime); // nothing appended
    expect(second.runs).toEqual(first.runs);
    expect(second.summary).toEqual(first.summary);

    // One more seed: only its two runs train; the summary then averages two seeds.
    const third = await runBench({ ...options, seeds: [0, 1] }, capture(data).env);
    expect(third.skippedRuns).toBe(2);
    expect(third.runs).toHaveLength(4);
    expect(third.summary.find((r) => r.name === 'gala')!.runs).toBe(2);
    expect((await fs.readFile(first.files.runs, 'utf8')).trim().split('\n')).toHaveLength(4);

    // Another setting is another experiment: 2 epochs retrain both methods of seed 0.
    const fourth = await runBench({ ...options, epochs: 2 }, capture(data).env);
    expect(fourth.skippedRuns).toBe(0);
    expect(fourth.runs.every((r) => r.settings.epochs === 2)).toBe(true);
  });

  it('in quick mode writes its summary apart, and shares its runs with a later run', async () => {
    const quick = await runBench({ ...options, quick: true }, capture(data).env);
    expect([quick.files.json, quick.files.markdown, quick.files.svg!].map((f) => path.basename(f))).toEqual(['results-quick.json', 'results-quick.md', 'accuracy-quick.svg']);
    expect(quick.mode).toBe('quick');
    const later = await runBench({ ...options, seeds: [0, 1] }, capture(data).env);
    expect(later.skippedRuns).toBe(2);
    expect(path.basename(later.files.markdown)).toBe('results.md');
    await expect(fs.access(quick.files.markdown)).resolves.toBeUndefined();
  });

  it('still writes the summaries when the chart cannot be drawn (vega and vega-lite are optional)', async () => {
    const renderSvg = () => Promise.reject(new Error('rendering SVG needs the optional packages vega and vega-lite'));
    const { env, output } = capture(data, { renderSvg });
    const report = await runBench(options, env);
    expect(report.files.svg).toBeNull();
    expect((await fs.readdir(options.out)).sort()).toEqual(['results.json', 'results.md', 'runs.jsonl']);
    expect(await fs.readFile(report.files.markdown, 'utf8')).toContain('No chart: rendering SVG needs the optional packages vega and vega-lite');
    expect(output()).toContain('No chart: rendering SVG needs the optional packages vega and vega-lite');
  });

  it('keeps the runs of the CNN apart from the MLP\'s, in the same output folder', async () => {
    const mlp = await runBench({ ...options, methods: ['ce'] }, capture(data).env);
    const cnn = await runBench({ ...options, methods: ['ce'], model: 'cnn' }, capture(data).env);
    expect(cnn.skippedRuns).toBe(0); // the MLP's run of the same settings is not reused
    expect(cnn.runs[0].key).toMatch(/^cnn\/if10\/ce\/seed0\/[0-9a-f]{12}$/);
    expect(mlp.runs[0].key).toMatch(/^if10\/ce\/seed0\//);
    expect(cnn.runs[0].settings.model).toBe('cnn');
    expect(mlp.runs[0].settings).not.toHaveProperty('model');
    expect(cnn.architecture).toBe('CNN 28x28x1 conv16-pool-conv32-pool-128-10');
    expect(path.basename(cnn.files.markdown)).toBe('results-cnn.md');
    expect(path.basename(mlp.files.markdown)).toBe('results.md');
    expect(cnn.summary.map((r) => r.name)).toEqual(['ce', 'ce+pr', 'ce+la']);
    // Each rerun skips its own model's run only.
    expect((await runBench({ ...options, methods: ['ce'], model: 'cnn' }, capture(data).env)).skippedRuns).toBe(1);
    expect((await runBench({ ...options, methods: ['ce'] }, capture(data).env)).runs).toEqual(mlp.runs);
  });

  it('names the options that do not fit together', async () => {
    const { env } = capture(data);
    await expect(runBench({ ...options, imbalanceFactors: [10, 100] }, env)).rejects.toThrow(
      "--n-max: the head class's training images must be at least the imbalance factor (100), or the rarest class gets floor(n-max / imbalance) = 0 images; received 20.",
    );
    await expect(runBench({ ...options, methods: [] }, env)).rejects.toThrow('--methods: the list must hold at least one method; received an empty list.');
    await expect(runBench({ ...options, ldamScale: 0 }, env)).rejects.toThrow("--ldam-scale: LDAM's scale must be a finite number > 0; received 0.");
    const file = path.join(root, 'not-a-folder');
    await fs.writeFile(file, '');
    await expect(runBench({ ...options, out: file }, env)).rejects.toThrow(`--out: the folder must be writable; received ${file} (it is a file).`);
  });
});
