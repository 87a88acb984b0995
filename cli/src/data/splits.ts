/**
 * In-memory image datasets and their long-tailed version. Pure functions: no Node APIs, no tfjs,
 * so the arrays can go to `tf.tensor2d` on any backend.
 */

import { deriveSeed, longTailCounts, mulberry32, sampleClassIndices, shuffleInPlace } from 'tfjs-gala';

/** Images as stored in IDX files: 8-bit grey levels. */
export interface ImageSplit {
  /** Pixels 0..255, row-major `[count, height, width]`. */
  readonly images: Uint8Array;
  /** Class index of each image, `[count]`. */
  readonly labels: Uint8Array;
  /** Number of images N. */
  readonly count: number;
  /** Image height in pixels (28 for Fashion-MNIST). */
  readonly height: number;
  /** Image width in pixels (28 for Fashion-MNIST). */
  readonly width: number;
}

/** Examples ready for a model: flattened float32 features and integer labels. */
export interface ClassificationSplit {
  /** Row-major `[numExamples, numFeatures]`; for images, pixels scaled to [0, 1]. */
  readonly features: Float32Array;
  /** Class indices `[numExamples]`. */
  readonly labels: Int32Array;
  /** Number of examples N (rows of `features`). */
  readonly numExamples: number;
  /** Features per example (columns of `features`; height * width for images, 784 for Fashion-MNIST). */
  readonly numFeatures: number;
  /** For images: `[height, width]`, the layout of each row of `features` (a CNN needs it). */
  readonly imageShape?: readonly [number, number];
}

/** A long-tailed training split with a balanced test split. */
export interface LongTailedDataset {
  /** The long-tailed training split, `classCounts[c]` examples of class c, in the source split's order (not shuffled). */
  readonly train: ClassificationSplit;
  /** The whole test split, unchanged (balanced for Fashion-MNIST). */
  readonly test: ClassificationSplit;
  /** Number of classes C; labels are 0 .. C-1. */
  readonly numClasses: number;
  /** Training examples per class, class 0 first (the head). */
  readonly classCounts: readonly number[];
}

/** Options of {@link makeLongTailed}. */
export interface MakeLongTailedOptions {
  /** Number of classes; labels are 0 .. numClasses-1. Default 10 (Fashion-MNIST). */
  readonly numClasses?: number;
  /** Imbalance factor IF = n_0 / n_{C-1}. Default 100. */
  readonly imbalanceFactor?: number;
  /** Training examples of the head class. Default 500 (the CIFAR-LT convention). */
  readonly nMax?: number;
  /** Seed of the subsample, integer in [0, 2^32). Default 0. */
  readonly seed?: number;
}

/** Defaults of the long-tailed Fashion-MNIST protocol of the demo and benchmark (counts 500 down to 5). */
export const LONG_TAIL_DEFAULTS = {
  /** 10 classes, as Fashion-MNIST. */
  numClasses: 10,
  /** Imbalance factor 100: the head class has 100 times the examples of the tail class. */
  imbalanceFactor: 100,
  /** 500 examples of the head class (the CIFAR-LT convention). */
  nMax: 500,
  /** Seed 0 of the subsample. */
  seed: 0,
} as const;

/**
 * Gathers the images at `indices` as float32 features in [0, 1] (grey level / 255),
 * flattened to `[indices.length, height * width]`.
 */
export function selectExamples(split: ImageSplit, indices: ArrayLike<number>): ClassificationSplit {
  const numFeatures = split.height * split.width;
  const features = new Float32Array(indices.length * numFeatures);
  const labels = new Int32Array(indices.length);
  for (let row = 0; row < indices.length; row++) {
    const source = indices[row];
    if (!Number.isInteger(source) || source < 0 || source >= split.count) {
      throw new Error(`Example index ${source} is out of range [0, ${split.count - 1}].`);
    }
    labels[row] = split.labels[source];
    const from = source * numFeatures;
    const to = row * numFeatures;
    for (let k = 0; k < numFeatures; k++) features[to + k] = split.images[from + k] / 255;
  }
  return { features, labels, numExamples: indices.length, numFeatures, imageShape: [split.height, split.width] };
}

/** The images at `indices`, still 8-bit (for writing subsets back to IDX files). */
export function subsetImages(split: ImageSplit, indices: ArrayLike<number>): ImageSplit {
  const pixels = split.height * split.width;
  const images = new Uint8Array(indices.length * pixels);
  const labels = new Uint8Array(indices.length);
  for (let row = 0; row < indices.length; row++) {
    const source = indices[row];
    if (!Number.isInteger(source) || source < 0 || source >= split.count) {
      throw new Error(`Example index ${source} is out of range [0, ${split.count - 1}].`);
    }
    labels[row] = split.labels[source];
    images.set(split.images.subarray(source * pixels, (source + 1) * pixels), row * pixels);
  }
  return { images, labels, count: indices.length, height: split.height, width: split.width };
}

/**
 * Subsamples the training split to the exponential long-tailed profile (see `longTailCounts`)
 * and keeps the whole test split, balanced. Deterministic in `seed`.
 *
 * @throws Error when the training split has too few examples of a class for the profile
 *   (for example nMax 500 at IF 5 from a subset built at IF 10), or an option is out of range.
 */
export function makeLongTailed(data: { readonly train: ImageSplit; readonly test: ImageSplit }, options: MakeLongTailedOptions = {}): LongTailedDataset {
  const { numClasses, classCounts, indices } = longTailedIndices(data.train, options);
  return {
    train: selectExamples(data.train, indices),
    test: selectExamples(data.test, Array.from({ length: data.test.count }, (_, i) => i)),
    numClasses,
    classCounts,
  };
}

/** The rows of the source training split that {@link makeLongTailed} keeps (sorted), and the counts. */
export function longTailedIndices(
  train: ImageSplit,
  options: MakeLongTailedOptions = {},
): { readonly numClasses: number; readonly classCounts: number[]; readonly indices: Int32Array } {
  const { numClasses, imbalanceFactor, nMax, seed } = { ...LONG_TAIL_DEFAULTS, ...options };
  const classCounts = longTailCounts({ numClasses, imbalanceFactor, nMax });
  try {
    return { numClasses, classCounts, indices: sampleClassIndices(train.labels, classCounts, seed) };
  } catch (error) {
    throw new Error(
      `Cannot build the long-tailed training split (imbalance factor ${imbalanceFactor}, nMax ${nMax}, ` +
        `counts [${classCounts.join(', ')}]): ${(error as Error).message}`,
    );
  }
}

// Sub-streams of the subsample seed for the validation draw, one per class (sampleClassIndices
// uses streams 0..C-1 for the training subsample).
const SEED_STREAM_VALIDATION = 1000;

/** A class-balanced validation split drawn from the training images a long-tailed subset left unused. */
export interface ValidationDraw {
  /** Rows of the source training split, sorted; disjoint from the long-tailed subset's. */
  readonly indices: Int32Array;
  /** Images per class actually drawn: min(requested, the smallest number of spare images of a class). */
  readonly perClass: number;
  /** Images per class asked for. */
  readonly requested: number;
  /** Spare images (not in the subset) of each class. */
  readonly spare: readonly number[];
}

/**
 * Draws a class-balanced validation split from the images of `train` that the long-tailed subset
 * `used` (rows of `train`) did not take: per class a seeded shuffle of its spare rows (stream
 * 1000 + c of `seed`, apart from the subsample's streams), of which the first `perClass` are kept.
 * The split is disjoint from the subset by construction and from the test split (another file).
 * When some class has fewer than `perClass` spare images, every class gets that smaller number
 * (the split stays balanced); {@link ValidationDraw.perClass} says how many.
 *
 * @throws Error when a class has no spare image at all (a folder that holds only the subset, such
 *   as the committed one at its own n_max), naming the class.
 */
export function drawValidation(train: ImageSplit, used: ArrayLike<number>, numClasses: number, perClass: number, seed: number): ValidationDraw {
  if (!Number.isInteger(perClass) || perClass < 1) throw new Error(`drawValidation: perClass must be an integer >= 1; received ${perClass}.`);
  const taken = new Uint8Array(train.count);
  for (let i = 0; i < used.length; i++) taken[used[i]] = 1;
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < train.count; i++) if (taken[i] === 0 && train.labels[i] < numClasses) byClass[train.labels[i]].push(i);
  const spare = byClass.map((rows) => rows.length);
  const empty = spare.findIndex((n) => n === 0);
  if (empty >= 0) {
    throw new Error(
      `No spare training image of class ${empty} for the validation split: the long-tailed subset uses every one of its images. ` +
        'The held-out split needs training images the subset does not use: the full Fashion-MNIST (Debian package dataset-fashion-mnist, ' +
        'or --data DIR), or a smaller --n-max.',
    );
  }
  const count = Math.min(perClass, ...spare);
  const chosen: number[] = [];
  byClass.forEach((rows, c) => {
    const order = shuffleInPlace(Int32Array.from(rows), mulberry32(deriveSeed(seed, SEED_STREAM_VALIDATION + c)));
    for (let i = 0; i < count; i++) chosen.push(order[i]);
  });
  return { indices: Int32Array.from(chosen).sort(), perClass: count, requested: perClass, spare };
}
