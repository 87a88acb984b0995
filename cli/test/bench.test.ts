import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as tf from '@tensorflow/tfjs';

import * as plots from '../../src/callbacks/plots';
import { runBench } from '../src/bench';
import { BENCH_DEFAULTS, type BenchOptions } from '../src/bench_plan';
import type { CliEnvironment } from '../src/environment';
import { writeFakeFashionMnist } from './data/fake_fashion_mnist';

// A tiny dataset: 20 training and 5 test images per class. At nMax 20 and IF 10 the training
// split has 20 15 11 9 7 5 4 3 2 2 images: medium [0], few [1..9], many empty.
const perClass = (n: number) => Array.from({ length: 10 * n }, (_, i) => i % 10);

function capture(dataDir: string): { env: CliEnvironment; output: () => string } {
  let text = '';
  return {
    env: { committedSubsetDir: dataDir, stdout: { write: (t: string) => (text += t) }, stderr: process.stderr },
    output: () => text,
  };
}

describe('runBench', () => {
  let root: string;
  let data: string;
  let options: BenchOptions;
  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'tfjs-gala-bench-'));
    data = path.join(root, 'data');
    await writeFakeFashionMnist(data, { trainLabels: perClass(20), testLabels: perClass(5) });
  });
  beforeEach(async () => {
    options = {
      ...BENCH_DEFAULTS,
      data,
      imbalance: [10],
      seeds: [0],
      methods: ['ce', 'gala'],
      nMax: 20,
      epochs: 1,
      batchSize: 32,
      backend: 'wasm',
      out: await fs.mkdtemp(path.join(root, 'out-')),
      progress: false,
    };
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
    expect(text).toContain('Benchmark (custom mode): Fashion-MNIST-LT, IF 10 x seeds 0 x 2 methods = 2 training runs');
    expect(text).toContain('runs.jsonl: 0 of 2 runs already done, 2 to run');
    expect(text).toMatch(/Estimated time: .* for 2 runs \(6 training steps at/); // 78 images, batch 32: 3 steps per run
    expect(text).toContain('Backend: wasm');
    expect(text).toMatch(/│ 10 │ gala \+PR │ +[\d.]+ │ +empty │/);
    expect(text).toContain(
      "Note: this protocol differs from the anchors' in 1 epochs (anchors: 30); n_max 20 (anchors: 500); batch 32 (anchors: 128); seeds 0 (anchors: 0,1,2); " +
        '50 test images from the committed subset (anchors: the full 10,000)',
    );
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
    const spy = jest.spyOn(plots, 'renderSvg').mockRejectedValue(new Error('rendering SVG needs the optional packages vega and vega-lite'));
    try {
      const { env, output } = capture(data);
      const report = await runBench(options, env);
      expect(report.files.svg).toBeNull();
      expect((await fs.readdir(options.out)).sort()).toEqual(['results.json', 'results.md', 'runs.jsonl']);
      expect(await fs.readFile(report.files.markdown, 'utf8')).toContain('No chart: rendering SVG needs the optional packages vega and vega-lite');
      expect(output()).toContain('No chart: rendering SVG needs the optional packages vega and vega-lite');
    } finally {
      spy.mockRestore();
    }
  });

  it('names the options that do not fit together', async () => {
    const { env } = capture(data);
    await expect(runBench({ ...options, imbalance: [10, 100] }, env)).rejects.toThrow(
      '--n-max (20) must be at least the largest --imbalance (100): the rarest class would get no training image.',
    );
    await expect(runBench({ ...options, methods: [] }, env)).rejects.toThrow('--methods must list at least one method.');
    await expect(runBench({ ...options, ldamScale: 0 }, env)).rejects.toThrow('--ldam-scale must be a finite number > 0; received 0.');
  });
});
