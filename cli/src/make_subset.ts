/**
 * `tfjs-gala make-subset`: writes a compact Fashion-MNIST-LT folder (the four standard IDX
 * files, gzipped) from a full one. It built the committed `data/fashion-mnist-lt`:
 *
 *     tfjs-gala make-subset --from /usr/share/datasets/fashion-mnist --out data/fashion-mnist-lt
 *
 * The training split is long-tailed at IF 10 and n_max 500, so any IF >= 10 at n_max <= 500
 * can be subsampled again from it with the same profile; the test split keeps
 * `--test-per-class` images of every class (balanced).
 */

import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import { Command } from 'commander';

import { DEBIAN_FASHION_MNIST_DIR, FASHION_MNIST_FILES, FASHION_MNIST_NUM_CLASSES, loadFashionMnist } from './data/fashion_mnist';
import { writeIdxFile } from './data/idx_file';
import { longTailCounts, sampleClassIndices } from 'tfjs-gala';
import { subsetImages, type ImageSplit } from './data/splits';
import type { CliEnvironment } from './environment';
import { integerOption, numberOption } from './options';

/** Options of {@link makeSubset}. */
export interface MakeSubsetOptions {
  /** Folder with the full dataset. */
  readonly from: string;
  /** Folder to write (created if missing; the four files are overwritten). */
  readonly out: string;
  readonly imbalance: number;
  readonly nMax: number;
  readonly testPerClass: number;
  readonly seed: number;
}

/** Defaults that produced `data/fashion-mnist-lt`. */
export const SUBSET_DEFAULTS = { from: DEBIAN_FASHION_MNIST_DIR, imbalance: 10, nMax: 500, testPerClass: 200, seed: 0 } as const;

/** Adds the `make-subset` subcommand to `program`. */
export function registerMakeSubsetCommand(program: Command, env: CliEnvironment): Command {
  return program
    .command('make-subset')
    .description('Write a compact long-tailed Fashion-MNIST folder (4 gzipped IDX files) from a full one; it built data/fashion-mnist-lt.')
    .option('--from <dir>', 'folder with the full Fashion-MNIST IDX files', SUBSET_DEFAULTS.from)
    .requiredOption('--out <dir>', 'folder to write')
    .option('--imbalance <factor>', 'imbalance factor of the training split (>= 1)', numberOption(1), SUBSET_DEFAULTS.imbalance)
    .option('--n-max <n>', 'training images of the head class', integerOption(1), SUBSET_DEFAULTS.nMax)
    .option('--test-per-class <n>', 'test images kept per class', integerOption(1), SUBSET_DEFAULTS.testPerClass)
    .option('--seed <n>', 'seed of the subsample', integerOption(0, 0xffffffff), SUBSET_DEFAULTS.seed)
    .action(async (options: MakeSubsetOptions) => {
      await makeSubset(options, env);
    });
}

/**
 * Subsamples the folder `options.from` and writes the result to `options.out`.
 * @returns the training and test images per class that were written.
 * @throws Error as `loadFashionMnist`, or when a class has too few images.
 */
export async function makeSubset(options: MakeSubsetOptions, env: CliEnvironment): Promise<{ train: number[]; test: number[] }> {
  const full = await loadFashionMnist(options.from);
  const trainCounts = longTailCounts({ numClasses: FASHION_MNIST_NUM_CLASSES, imbalanceFactor: options.imbalance, nMax: options.nMax });
  const testCounts = new Array<number>(FASHION_MNIST_NUM_CLASSES).fill(options.testPerClass);
  const train = subsetImages(full.train, sampleClassIndices(full.train.labels, trainCounts, options.seed));
  const test = subsetImages(full.test, sampleClassIndices(full.test.labels, testCounts, options.seed));

  await fs.mkdir(options.out, { recursive: true });
  await writeSplit(options.out, train, FASHION_MNIST_FILES.trainImages, FASHION_MNIST_FILES.trainLabels);
  await writeSplit(options.out, test, FASHION_MNIST_FILES.testImages, FASHION_MNIST_FILES.testLabels);
  env.stdout.write(
    `Wrote ${options.out}: ${train.count} training images (per class ${trainCounts.join(' ')}), ` +
      `${test.count} test images (${options.testPerClass} per class), from ${options.from}.\n`,
  );
  return { train: trainCounts, test: testCounts };
}

async function writeSplit(dir: string, split: ImageSplit, imagesName: string, labelsName: string): Promise<void> {
  await writeIdxFile(path.join(dir, `${imagesName}.gz`), { data: split.images, shape: [split.count, split.height, split.width] }, { gzip: true });
  await writeIdxFile(path.join(dir, `${labelsName}.gz`), { data: split.labels, shape: [split.count] }, { gzip: true });
}
