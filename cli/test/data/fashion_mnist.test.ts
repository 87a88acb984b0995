import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { loadFashionMnist, loadFashionMnistLT } from '../../src/data/fashion_mnist';
import { encodeIdx } from '../../src/data/idx';
import { makeLongTailed } from '../../src/data/splits';
import { writeFakeFashionMnist } from './fake_fashion_mnist';

const COMMITTED_SUBSET = path.join(__dirname, '..', '..', 'data', 'fashion-mnist-lt');

describe('loadFashionMnist', () => {
  let root: string;
  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'tfjs-gala-fmnist-'));
  });
  afterAll(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it('reads the four files, gzipped or not', async () => {
    for (const gzip of [true, false]) {
      const dir = path.join(root, gzip ? 'gz' : 'raw');
      await writeFakeFashionMnist(dir, { trainLabels: [3, 1, 4, 1, 5], testLabels: [9, 2], gzip });
      const data = await loadFashionMnist(dir);
      expect(data.train.count).toBe(5);
      expect(Array.from(data.train.labels)).toEqual([3, 1, 4, 1, 5]);
      expect(data.train.images.length).toBe(5 * 784);
      expect(data.train.images[784 + 2]).toBe(9); // image 1, pixel 2: 1 * 7 + 2
      expect(Array.from(data.test.labels)).toEqual([9, 2]);
      expect([data.test.height, data.test.width]).toEqual([28, 28]);
    }
  });

  it('names a missing folder', async () => {
    const missing = path.join(root, 'does-not-exist');
    await expect(loadFashionMnist(missing)).rejects.toThrow(`Fashion-MNIST folder ${missing} does not exist.`);
  });

  it('names a missing file and the names it looked for', async () => {
    const dir = path.join(root, 'missing-file');
    await writeFakeFashionMnist(dir, { trainLabels: [0], testLabels: [0] });
    await fs.rm(path.join(dir, 't10k-labels-idx1-ubyte.gz'));
    await expect(loadFashionMnist(dir)).rejects.toThrow(`Missing file in ${dir}: expected t10k-labels-idx1-ubyte or t10k-labels-idx1-ubyte.gz.`);
  });

  it('rejects images that are not [N, 28, 28]', async () => {
    const dir = path.join(root, 'wrong-shape');
    await writeFakeFashionMnist(dir, { trainLabels: [0, 1], testLabels: [0], imageShape: [28, 27] });
    await expect(loadFashionMnist(dir)).rejects.toThrow(
      `${path.join(dir, 'train-images-idx3-ubyte.gz')} must hold uint8 [N, 28, 28]; found uint8 [2, 28, 27].`,
    );
  });

  it('rejects a label count that differs from the image count', async () => {
    const dir = path.join(root, 'count-mismatch');
    await writeFakeFashionMnist(dir, { trainLabels: [0, 1], testLabels: [0] });
    await fs.writeFile(path.join(dir, 'train-labels-idx1-ubyte.gz'), encodeIdx({ data: Uint8Array.from([0, 1, 2]), shape: [3] }));
    await expect(loadFashionMnist(dir)).rejects.toThrow('train-labels-idx1-ubyte.gz has 3 labels but');
  });

  it('rejects a label outside 0..9', async () => {
    const dir = path.join(root, 'bad-label');
    await writeFakeFashionMnist(dir, { trainLabels: [0, 10], testLabels: [0] });
    await expect(loadFashionMnist(dir)).rejects.toThrow('train-labels-idx1-ubyte.gz: label 1 is 10; Fashion-MNIST labels are 0..9.');
  });

  it('rejects a malformed file, naming it', async () => {
    const dir = path.join(root, 'malformed');
    await writeFakeFashionMnist(dir, { trainLabels: [0], testLabels: [0] });
    const file = path.join(dir, 't10k-images-idx3-ubyte.gz');
    await fs.writeFile(file, Uint8Array.from([0, 0, 8, 3, 0, 0]));
    await expect(loadFashionMnist(dir)).rejects.toThrow(`${file} is not a valid IDX file`);
  });
});

describe('makeLongTailed', () => {
  it('subsamples the training split to the profile, keeps the test split, scales pixels to [0, 1]', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'tfjs-gala-lt-'));
    try {
      const trainLabels = Array.from({ length: 200 }, (_, i) => i % 10); // 20 per class
      await writeFakeFashionMnist(root, { trainLabels, testLabels: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
      const full = await loadFashionMnist(root);
      const data = makeLongTailed(full, { imbalanceFactor: 10, nMax: 20, seed: 1 });
      expect(data.classCounts).toEqual([20, 15, 11, 9, 7, 5, 4, 3, 2, 2]);
      const perClass = new Array(10).fill(0);
      for (const label of data.train.labels) perClass[label]++;
      expect(perClass).toEqual(data.classCounts);
      expect(data.train.numExamples).toBe(78);
      expect(data.train.features.length).toBe(78 * 784);
      expect(data.test.numExamples).toBe(10);
      expect(Array.from(data.test.labels)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(data.test.features[784 + 2]).toBeCloseTo(9 / 255, 7); // test image 1, pixel 2
      expect(data.train.features.every((x) => x >= 0 && x <= 1)).toBe(true);
      expect(data.train.features.some((x) => x === 1)).toBe(true); // grey level 255
      expect(() => makeLongTailed(full, { imbalanceFactor: 10, nMax: 21 })).toThrow(
        /Cannot build the long-tailed training split \(imbalance factor 10, nMax 21, counts \[21, .*\]\): Class 0 has 20 examples but 21 are needed\./,
      );
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});

describe('the committed subset data/fashion-mnist-lt', () => {
  it('holds the IF 10 profile at nMax 500 and 200 test images per class', async () => {
    const data = await loadFashionMnist(COMMITTED_SUBSET);
    const count = (labels: Uint8Array) => labels.reduce((acc, l) => (acc[l]++, acc), new Array(10).fill(0));
    expect(count(data.train.labels)).toEqual([500, 387, 299, 232, 179, 139, 107, 83, 64, 50]);
    expect(count(data.test.labels)).toEqual(new Array(10).fill(200));
  });

  it('gives Fashion-MNIST-LT at the default IF 100, deterministically', async () => {
    const a = await loadFashionMnistLT({ dir: COMMITTED_SUBSET });
    expect(a.classCounts).toEqual([500, 299, 179, 107, 64, 38, 23, 13, 8, 5]);
    expect(a.train.numExamples).toBe(1236);
    expect(a.train.numFeatures).toBe(784);
    // Byte comparison: toEqual is slow on arrays of a million floats.
    const bytes = (x: Float32Array | Int32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
    const b = await loadFashionMnistLT({ dir: COMMITTED_SUBSET, seed: 0 });
    expect(bytes(b.train.labels).equals(bytes(a.train.labels))).toBe(true);
    expect(bytes(b.train.features).equals(bytes(a.train.features))).toBe(true);
    const c = await loadFashionMnistLT({ dir: COMMITTED_SUBSET, seed: 1 });
    expect(c.classCounts).toEqual(a.classCounts);
    expect(bytes(c.train.features).equals(bytes(a.train.features))).toBe(false);
  });
});
