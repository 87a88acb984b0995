/**
 * Recognising the data of the reference protocol by content, not by path: the full
 * Fashion-MNIST (Debian's `dataset-fashion-mnist`, or the same files anywhere) and the subset
 * committed in `data/fashion-mnist-lt`. A benchmark on other IDX files (a user's own data in the
 * same layout) is not compared with the PyTorch reference numbers. Node only (hashing).
 */

import { createHash } from 'node:crypto';

import type { ImageSplit } from './splits';

/** The reference data sets, by fingerprint ({@link fingerprintImages}). */
export const REFERENCE_DATA_FINGERPRINTS = {
  /** The full Fashion-MNIST: 60 000 training and 10 000 test images. */
  'full Fashion-MNIST': '6e47dc5fdc979ed5',
  /** `data/fashion-mnist-lt`: the training split long-tailed at IF 10, n_max 500; 200 test images per class. */
  'committed Fashion-MNIST-LT subset': 'ebc89169596fc551',
} as const;

export type ReferenceDataName = keyof typeof REFERENCE_DATA_FINGERPRINTS;

/**
 * SHA-256 (hex, first 16 characters) of both splits' sizes, labels and pixels: equal for the
 * same images in the same order, whether the files were gzipped or not.
 */
export function fingerprintImages(data: { readonly train: ImageSplit; readonly test: ImageSplit }): string {
  const hash = createHash('sha256');
  for (const split of [data.train, data.test]) {
    hash.update(`${split.count}x${split.height}x${split.width};`);
    hash.update(split.labels);
    hash.update(split.images);
  }
  return hash.digest('hex').slice(0, 16);
}

/** Which reference data set has this fingerprint; null for any other data. */
export function identifyReferenceData(fingerprint: string): ReferenceDataName | null {
  const entry = Object.entries(REFERENCE_DATA_FINGERPRINTS).find(([, known]) => known === fingerprint);
  return entry === undefined ? null : (entry[0] as ReferenceDataName);
}
