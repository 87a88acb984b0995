import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

import { encodeIdx } from '../../src/data/idx';

/** Writes a small folder in the Fashion-MNIST layout. Pixel value of image i: (i * 7 + k) % 256. */
export async function writeFakeFashionMnist(
  dir: string,
  { trainLabels, testLabels, gzip = true, imageShape = [28, 28] }: { trainLabels: number[]; testLabels: number[]; gzip?: boolean; imageShape?: number[] },
): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  const write = async (name: string, data: Uint8Array, shape: number[]) => {
    const raw = encodeIdx({ data, shape });
    await fs.writeFile(path.join(dir, gzip ? `${name}.gz` : name), gzip ? zlib.gzipSync(raw) : raw);
  };
  const images = (count: number) => {
    const pixels = imageShape[0] * imageShape[1];
    return Uint8Array.from({ length: count * pixels }, (_, j) => (Math.floor(j / pixels) * 7 + (j % pixels)) % 256);
  };
  await write('train-images-idx3-ubyte', images(trainLabels.length), [trainLabels.length, ...imageShape]);
  await write('train-labels-idx1-ubyte', Uint8Array.from(trainLabels), [trainLabels.length]);
  await write('t10k-images-idx3-ubyte', images(testLabels.length), [testLabels.length, ...imageShape]);
  await write('t10k-labels-idx1-ubyte', Uint8Array.from(testLabels), [testLabels.length]);
}

/** Labels 0..9 repeated: `n` images of each of the 10 classes. */
export function labelsPerClass(n: number): number[] {
  return Array.from({ length: 10 * n }, (_, i) => i % 10);
}
