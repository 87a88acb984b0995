/**
 * Fashion-MNIST (Xiao, Rasul and Vollgraf, "Fashion-MNIST: a Novel Image Dataset for
 * Benchmarking Machine Learning Algorithms", 2017; MIT licence, Copyright 2017 Zalando SE):
 * 70 000 grey 28 x 28 images of 10 clothing classes, 60 000 for training and a balanced
 * 10 000 for test, distributed as four IDX files. Node only (reads files); `node:fs` is
 * imported lazily, so browser bundles that include this module load without it.
 */

import type { IdxArray } from './idx';
import { readIdxFile } from './idx_file';
import { makeLongTailed, type ImageSplit, type LongTailedDataset, type MakeLongTailedOptions } from './splits';

/** Where Debian's `dataset-fashion-mnist` package installs the full dataset. */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** The standard file names; each may also be stored gzipped with a `.gz` suffix. */
export const FASHION_MNIST_FILES = {
  /** Training images, uint8 `[60000, 28, 28]`. */
  trainImages: 'train-images-idx3-ubyte',
  /** Training labels, uint8 `[60000]`, values 0..9. */
  trainLabels: 'train-labels-idx1-ubyte',
  /** Test images, uint8 `[10000, 28, 28]`. */
  testImages: 't10k-images-idx3-ubyte',
  /** Test labels, uint8 `[10000]`, values 0..9 (1000 per class). */
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** Class names by label (from the dataset's README). */
export const FASHION_MNIST_CLASS_NAMES: readonly string[] = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];

/** Number of Fashion-MNIST classes: labels are 0..9, named by {@link FASHION_MNIST_CLASS_NAMES}. */
export const FASHION_MNIST_NUM_CLASSES = 10;
const IMAGE_SIZE = 28;

/** Both splits of Fashion-MNIST (or of any folder holding the four files). */
export interface FashionMnist {
  /** The training split as stored: uint8 images `[count, 28, 28]` (60 000 in the full dataset). */
  readonly train: ImageSplit;
  /** The test split as stored: uint8 images `[count, 28, 28]` (10 000, balanced, in the full dataset). */
  readonly test: ImageSplit;
  /** The folder the files were read from. */
  readonly dir: string;
}

/**
 * Reads the four Fashion-MNIST IDX files from `dir`, each gzipped or not.
 *
 * @throws Error naming the path when the folder or a file is missing, a file is not IDX,
 *   images are not uint8 `[N, 28, 28]`, labels not uint8 `[N]` with values 0..9, or the
 *   numbers of images and labels differ.
 */
export async function loadFashionMnist(dir: string): Promise<FashionMnist> {
  const fs = await import('node:fs/promises');
  let stat;
  try {
    stat = await fs.stat(dir);
  } catch {
    throw new Error(`Fashion-MNIST folder ${dir} does not exist.`);
  }
  if (!stat.isDirectory()) throw new Error(`Fashion-MNIST folder ${dir} is not a directory.`);
  const [train, test] = await Promise.all([
    loadSplit(dir, FASHION_MNIST_FILES.trainImages, FASHION_MNIST_FILES.trainLabels),
    loadSplit(dir, FASHION_MNIST_FILES.testImages, FASHION_MNIST_FILES.testLabels),
  ]);
  return { train, test, dir };
}

/** Options of {@link loadFashionMnistLT}. */
export interface LoadFashionMnistLTOptions extends Omit<MakeLongTailedOptions, 'numClasses'> {
  /** Folder with the four IDX files. */
  readonly dir: string;
}

/**
 * Fashion-MNIST-LT: the training split subsampled per class to
 * n_c = floor(nMax * IF^(-c/9)) for class c = label c (defaults IF 100, nMax 500, seed 0),
 * the test split kept whole and balanced. Features are float32 pixels in [0, 1], `[N, 784]`.
 *
 * @returns the {@link LongTailedDataset} and `dir`, the folder the files were read from.
 * @throws Error as {@link loadFashionMnist}, or when the folder has too few training
 *   examples of a class for the requested profile.
 */
export async function loadFashionMnistLT(options: LoadFashionMnistLTOptions): Promise<LongTailedDataset & Pick<FashionMnist, 'dir'>> {
  const { dir, ...profile } = options;
  const data = await loadFashionMnist(dir);
  return { ...makeLongTailed(data, { ...profile, numClasses: FASHION_MNIST_NUM_CLASSES }), dir };
}

/** Path of `name` or `name.gz` in `dir` (the uncompressed file first). */
export async function findIdxFile(dir: string, name: string): Promise<string> {
  const [fs, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
  for (const candidate of [name, `${name}.gz`]) {
    const file = path.join(dir, candidate);
    try {
      if ((await fs.stat(file)).isFile()) return file;
    } catch {
      // not there: try the next name
    }
  }
  throw new Error(`Missing file in ${dir}: expected ${name} or ${name}.gz.`);
}

async function loadSplit(dir: string, imagesName: string, labelsName: string): Promise<ImageSplit> {
  const imagesPath = await findIdxFile(dir, imagesName);
  const labelsPath = await findIdxFile(dir, labelsName);
  const [images, labels] = await Promise.all([readIdxFile(imagesPath), readIdxFile(labelsPath)]);
  expectLayout(images, imagesPath, 'uint8', `[N, ${IMAGE_SIZE}, ${IMAGE_SIZE}]`, (s) => s.length === 3 && s[1] === IMAGE_SIZE && s[2] === IMAGE_SIZE);
  expectLayout(labels, labelsPath, 'uint8', '[N]', (s) => s.length === 1);
  const count = images.shape[0];
  if (labels.shape[0] !== count) {
    throw new Error(`${labelsPath} has ${labels.shape[0]} labels but ${imagesPath} has ${count} images.`);
  }
  const labelData = labels.data as Uint8Array;
  const bad = labelData.findIndex((label) => label >= FASHION_MNIST_NUM_CLASSES);
  if (bad >= 0) {
    throw new Error(`${labelsPath}: label ${bad} is ${labelData[bad]}; Fashion-MNIST labels are 0..${FASHION_MNIST_NUM_CLASSES - 1}.`);
  }
  return { images: images.data as Uint8Array, labels: labelData, count, height: IMAGE_SIZE, width: IMAGE_SIZE };
}

function expectLayout(array: IdxArray, file: string, dtype: string, layout: string, shapeOk: (shape: readonly number[]) => boolean): void {
  if (array.dtype !== dtype || !shapeOk(array.shape)) {
    throw new Error(`${file} must hold ${dtype} ${layout}; found ${array.dtype} [${array.shape.join(', ')}].`);
  }
}
