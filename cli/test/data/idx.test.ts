import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

import { decodeIdx, encodeIdx } from '../../src/data/idx';
import { readIdxFile, writeIdxFile } from '../../src/data/idx_file';

// A uint8 array of shape [2, 1, 3], written byte by byte from the format description.
const UINT8_FILE = Uint8Array.from([
  0x00, 0x00, 0x08, 0x03, // magic: uint8, 3 dimensions
  0x00, 0x00, 0x00, 0x02, // dimension 0 = 2
  0x00, 0x00, 0x00, 0x01, // dimension 1 = 1
  0x00, 0x00, 0x00, 0x03, // dimension 2 = 3
  0, 7, 255, 1, 2, 128,
]);

describe('decodeIdx', () => {
  it('reads a hand-written uint8 file', () => {
    const array = decodeIdx(UINT8_FILE);
    expect(array.dtype).toBe('uint8');
    expect(array.shape).toEqual([2, 1, 3]);
    expect(array.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(array.data)).toEqual([0, 7, 255, 1, 2, 128]);
  });

  it('reads multi-byte elements as big-endian', () => {
    const int32 = Uint8Array.from([0, 0, 0x0c, 1, 0, 0, 0, 2, 0x00, 0x00, 0x01, 0x02, 0xff, 0xff, 0xff, 0xfe]);
    expect(Array.from(decodeIdx(int32).data)).toEqual([258, -2]);
    const int16 = Uint8Array.from([0, 0, 0x0b, 1, 0, 0, 0, 1, 0x80, 0x00]);
    expect(Array.from(decodeIdx(int16).data)).toEqual([-32768]);
    const float32 = Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 0x3f, 0xc0, 0x00, 0x00]); // 1.5
    expect(Array.from(decodeIdx(float32).data)).toEqual([1.5]);
  });

  it('round-trips every element type through encodeIdx', () => {
    const arrays = [
      new Uint8Array([0, 1, 255, 3, 4, 5]),
      new Int8Array([-128, -1, 0, 1, 2, 127]),
      new Int16Array([-32768, -2, 0, 3, 300, 32767]),
      new Int32Array([-(2 ** 31), -5, 0, 7, 70000, 2 ** 31 - 1]),
      new Float32Array([-1.5, 0, 0.25, 3.5, 1e-3, 1e30]),
      new Float64Array([-1.5, 0, Math.PI, 3.5, 1e-300, 1e300]),
    ];
    for (const data of arrays) {
      const decoded = decodeIdx(encodeIdx({ data, shape: [3, 2] }));
      expect(decoded.shape).toEqual([3, 2]);
      expect(decoded.data.constructor).toBe(data.constructor);
      expect(Array.from(decoded.data)).toEqual(Array.from(data));
    }
    expect(Array.from(encodeIdx({ data: decodeIdx(UINT8_FILE).data, shape: [2, 1, 3] }))).toEqual(Array.from(UINT8_FILE));
  });

  it.each([
    ['a non-zero magic number', Uint8Array.from([1, 0, 8, 1, 0, 0, 0, 0]), /must start with two zero bytes, found 0x01 0x00/],
    ['gzip data', Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0]), /gzip-compressed/],
    ['an unknown element type', Uint8Array.from([0, 0, 0x07, 1, 0, 0, 0, 0]), /unknown element type 0x07/],
    ['fewer bytes than the magic number', Uint8Array.from([0, 0]), /fewer than the 4-byte magic number/],
    ['a truncated header', Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 2]), /announces 3 dimensions but the file ends after 8 bytes/],
    ['truncated data', UINT8_FILE.subarray(0, UINT8_FILE.length - 1), /needs 22 bytes with the header, the file has 21 \(truncated\)/],
    ['trailing data', Uint8Array.from([...UINT8_FILE, 9]), /the file has 23 \(trailing data\)/],
  ])('rejects %s, naming the source', (_, bytes, why) => {
    expect(() => decodeIdx(bytes, 'some/file')).toThrow(/^some\/file is not a valid IDX file: /);
    expect(() => decodeIdx(bytes, 'some/file')).toThrow(why);
  });
});

describe('encodeIdx', () => {
  it('rejects a shape that does not match the data', () => {
    expect(() => encodeIdx({ data: new Uint8Array(5), shape: [2, 3] })).toThrow('shape [2, 3] holds 6 elements but data has 5.');
    expect(() => encodeIdx({ data: new Uint8Array(0), shape: [-1] })).toThrow(/dimensions must be integers/);
  });
});

describe('readIdxFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tfjs-gala-idx-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('reads raw and gzipped files alike, detecting gzip from the content', async () => {
    await fs.writeFile(path.join(dir, 'raw'), UINT8_FILE);
    await fs.writeFile(path.join(dir, 'packed.gz'), zlib.gzipSync(UINT8_FILE));
    await fs.writeFile(path.join(dir, 'packed-without-suffix'), zlib.gzipSync(UINT8_FILE));
    for (const name of ['raw', 'packed.gz', 'packed-without-suffix']) {
      const array = await readIdxFile(path.join(dir, name));
      expect(array.shape).toEqual([2, 1, 3]);
      expect(Array.from(array.data)).toEqual([0, 7, 255, 1, 2, 128]);
    }
  });

  it('writes what it reads, gzipped or not', async () => {
    const data = new Uint8Array([5, 6, 7, 8]);
    await writeIdxFile(path.join(dir, 'out.gz'), { data, shape: [4] }, { gzip: true });
    await writeIdxFile(path.join(dir, 'out'), { data, shape: [2, 2] });
    expect((await fs.readFile(path.join(dir, 'out.gz')))[0]).toBe(0x1f);
    expect(Array.from((await readIdxFile(path.join(dir, 'out.gz'))).data)).toEqual([5, 6, 7, 8]);
    expect((await readIdxFile(path.join(dir, 'out'))).shape).toEqual([2, 2]);
  });

  it('names the path of a missing file', async () => {
    const missing = path.join(dir, 'nope');
    await expect(readIdxFile(missing)).rejects.toThrow(`Cannot read IDX file ${missing}: no such file.`);
  });

  it('names the path of a corrupt gzip file', async () => {
    const corrupt = path.join(dir, 'corrupt.gz');
    await fs.writeFile(corrupt, zlib.gzipSync(UINT8_FILE).subarray(0, 12));
    await expect(readIdxFile(corrupt)).rejects.toThrow(`Cannot decompress ${corrupt}: corrupt gzip data`);
  });

  it('names the path of a malformed file', async () => {
    const bad = path.join(dir, 'bad');
    await fs.writeFile(bad, Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 9, 1, 2]));
    await expect(readIdxFile(bad)).rejects.toThrow(`${bad} is not a valid IDX file: shape [9] of uint8 needs 17 bytes`);
  });
});
