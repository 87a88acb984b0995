/** Which Fashion-MNIST folder the command line reads, and how to name it in the output. */

import { existsSync } from 'node:fs';
import * as path from 'node:path';

import { DEBIAN_FASHION_MNIST_DIR } from './data/fashion_mnist';

/** A resolved data folder. */
export interface DataSource {
  readonly dir: string;
  /** How the output names it, e.g. "committed subset (data/fashion-mnist-lt)". */
  readonly description: string;
  readonly kind: 'option' | 'debian' | 'committed-subset';
}

/** Folders the command line knows without being told. */
export interface DataLocations {
  /** The long-tailed subset shipped with the package (`data/fashion-mnist-lt`). */
  readonly committedSubsetDir: string;
  /** The full dataset when installed; default {@link DEBIAN_FASHION_MNIST_DIR}. */
  readonly fullDatasetDir?: string;
}

/**
 * `--data DIR` when given; else the full Fashion-MNIST of Debian's `dataset-fashion-mnist`
 * package when it is installed; else the committed subset, so a fresh clone runs offline.
 * Existence of an explicit `--data` folder is checked when it is read (with its path in the error).
 */
export function resolveDataSource(dataOption: string | undefined, locations: DataLocations): DataSource {
  const committed = path.resolve(locations.committedSubsetDir);
  if (dataOption !== undefined) {
    const dir = path.resolve(dataOption);
    return dir === committed ? committedSubset(dir) : { dir, description: dir, kind: 'option' };
  }
  const full = locations.fullDatasetDir ?? DEBIAN_FASHION_MNIST_DIR;
  if (existsSync(full)) {
    return { dir: full, description: `${full} (full Fashion-MNIST)`, kind: 'debian' };
  }
  return committedSubset(committed);
}

/**
 * The source's description, followed for a `--data` folder (described by its bare path) by the
 * reference data set its content was identified as; the other kinds already name their data.
 */
export function describeDataSource(source: DataSource, referenceData: string | null): string {
  return referenceData !== null && source.kind === 'option' ? `${source.description} (${referenceData})` : source.description;
}

function committedSubset(dir: string): DataSource {
  return {
    dir,
    description: `committed subset ${dir} (stored at imbalance factor 10, nMax 500, so that any factor >= 10 can be drawn from it; 200 test images per class)`,
    kind: 'committed-subset',
  };
}
