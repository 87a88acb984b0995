import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { CommanderError } from 'commander';

import { COMMITTED_SUBSET, runCli as run } from './helpers';

describe('tfjs-gala demo: argument errors', () => {
  it.each([
    [['--epochs', '0'], "option '--epochs <n>' argument '0' is invalid. Expected an integer >= 1."],
    [['--epochs', 'abc'], "option '--epochs <n>' argument 'abc' is invalid. Expected an integer >= 1."],
    [['--epochs', '2.5'], "option '--epochs <n>' argument '2.5' is invalid. Expected an integer >= 1."],
    [['--batch-size', ''], "option '--batch-size <n>' argument '' is invalid. Expected an integer >= 1."],
    [['--n-max', '-3'], "option '--n-max <n>' argument '-3' is invalid. Expected an integer >= 1."],
    [['--seed', '-1'], "option '--seed <n>' argument '-1' is invalid. Expected an integer in [0, 4294967295]."],
    [['--imbalance', '0.5'], "option '--imbalance, --imbalance-factor <factor>' argument '0.5' is invalid. Expected a finite number >= 1."],
    [['--imbalance', 'Infinity'], "option '--imbalance, --imbalance-factor <factor>' argument 'Infinity' is invalid. Expected a finite number >= 1."],
    [['--lr', '0'], "option '--lr, --learning-rate <rate>' argument '0' is invalid. Expected a finite number > 0."],
    [['--learning-rate', '1e-3x'], "option '--lr, --learning-rate <rate>' argument '1e-3x' is invalid. Expected a finite number > 0."],
    [['--backend', 'gpu'], "option '--backend <name>' argument 'gpu' is invalid. Allowed choices are auto, tensorflow, webgpu, wasm, cpu."],
    [['--init', 'he'], "option '--init, --initialization <scheme>' argument 'he' is invalid. Allowed choices are glorot, pytorch."],
    [['--model', 'vit'], "option '--model <name>' argument 'vit' is invalid. Allowed choices are mlp, cnn."],
  ])('rejects %p', async (args, message) => {
    const error = await run(['demo', ...args]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommanderError);
    expect((error as CommanderError).message).toBe(`error: ${message}`);
  });

  it('accepts numbers in exponent notation', async () => {
    // Fails later, on the data folder: the options themselves parsed.
    await expect(run(['demo', '--lr', '1e-3', '--imbalance', '1e2', '--data', '/nonexistent/fmnist'])).rejects.toThrow(
      'Fashion-MNIST folder /nonexistent/fmnist does not exist.',
    );
  });

  it('rejects an n-max below the imbalance factor, naming both options', async () => {
    await expect(run(['demo', '--n-max', '50', '--imbalance', '100'])).rejects.toThrow(
      "--n-max: the head class's training images must be at least the imbalance factor (100), or the rarest class gets floor(n-max / imbalance) = 0 images; received 50.",
    );
  });

  it('fails on an unwritable --json before choosing a backend or reading data', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tfjs-gala-program-'));
    try {
      await fs.writeFile(path.join(dir, 'file'), '');
      const target = path.join(dir, 'file', 'x.json');
      await expect(run(['demo', '--json', target, '--data', '/nonexistent/fmnist'])).rejects.toThrow(`--json: the file must be writable; received ${target}`);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('names a data folder with too few images for the profile', async () => {
    await expect(run(['demo', '--data', COMMITTED_SUBSET, '--imbalance', '5'])).rejects.toThrow(
      /Cannot build the long-tailed training split \(imbalance factor 5, nMax 500, .*\): Class 1 has 387 examples but 418 are needed\./,
    );
  });

  it('rejects an unknown subcommand', async () => {
    await expect(run(['bench-typo'])).rejects.toThrow(/unknown command 'bench-typo'/);
  });
});

describe('tfjs-gala --version', () => {
  it("prints the version it is given (main.ts reads tfjs-gala-cli's package.json)", async () => {
    const error = (await run(['--version'], { version: '9.8.7' }).catch((e: unknown) => e)) as CommanderError & { printed: string };
    expect(error.code).toBe('commander.version');
    expect(error.printed).toBe('9.8.7\n');
    const short = (await run(['-V'], { version: '9.8.7' }).catch((e: unknown) => e)) as CommanderError & { printed: string };
    expect(short.printed).toBe('9.8.7\n');
  });

  // The built command: `npm test` builds both packages first (pretest); a bare `jest` run may
  // find no build, or a stale one.
  const bin = path.join(__dirname, '..', 'bin', 'tfjs-gala.js');
  const built = process.env.npm_lifecycle_event === 'test' && existsSync(path.join(__dirname, '..', 'dist', 'main.js'));
  (built ? it : it.skip)("the built command prints cli/package.json's version and exits", () => {
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { name: string; version: string };
    const result = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8', timeout: 60000 });
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`${pkg.version}\n`);
  });
});

describe('tfjs-gala make-subset', () => {
  it('requires --out', async () => {
    await expect(run(['make-subset'])).rejects.toThrow("error: required option '--out <dir>' not specified");
  });

  it('rebuilds the committed subset byte for byte from itself at the same profile', async () => {
    // The committed training split is exactly the IF 10 / nMax 500 profile, so subsampling it
    // again takes every image; the test split has 200 per class, all kept.
    const out = await fs.mkdtemp(path.join(os.tmpdir(), 'tfjs-gala-subset-'));
    try {
      const printed = await run(['make-subset', '--from', COMMITTED_SUBSET, '--out', out]);
      expect(printed).toContain('2040 training images (per class 500 387 299 232 179 139 107 83 64 50), 2000 test images (200 per class)');
      for (const name of ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']) {
        const [rebuilt, committed] = await Promise.all([fs.readFile(path.join(out, name)), fs.readFile(path.join(COMMITTED_SUBSET, name))]);
        expect(rebuilt.equals(committed)).toBe(true); // (toEqual is slow on megabyte buffers)
      }
    } finally {
      await fs.rm(out, { recursive: true, force: true });
    }
  });
});
