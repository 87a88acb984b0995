/**
 * IDX files on disk, gzipped or not. Node only; `node:fs` and `node:zlib` are imported lazily,
 * so browser bundles that include this module load without them (calling it there fails).
 */

import { decodeIdx, encodeIdx, type IdxArray, type IdxTypedArray } from './idx';

/** Whether `bytes` start with the gzip magic number 1f 8b (RFC 1952). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Reads an IDX file, gzipped or not (detected from the content, not the file name).
 *
 * @throws Error naming `path` when the file cannot be read, the gzip stream is corrupt,
 *   or the content is not valid IDX (see {@link decodeIdx}).
 */
export async function readIdxFile(path: string): Promise<IdxArray> {
  const fs = await import('node:fs/promises');
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message;
    throw new Error(`Cannot read IDX file ${path}: ${why}.`);
  }
  if (isGzip(bytes)) {
    const zlib = await import('node:zlib');
    const compressed = bytes;
    try {
      bytes = await new Promise<Uint8Array>((resolve, reject) =>
        zlib.gunzip(compressed, (error, result) => (error ? reject(error) : resolve(result))),
      );
    } catch (error) {
      throw new Error(`Cannot decompress ${path}: corrupt gzip data (${(error as Error).message}).`);
    }
  }
  return decodeIdx(bytes, path);
}

/** Writes `array` as an IDX file, gzip-compressed (level 9) when `options.gzip` is true. */
export async function writeIdxFile(
  path: string,
  array: { readonly data: IdxTypedArray; readonly shape: readonly number[] },
  options: { readonly gzip?: boolean } = {},
): Promise<void> {
  const [fs, zlib] = await Promise.all([import('node:fs/promises'), import('node:zlib')]);
  const raw = encodeIdx(array);
  await fs.writeFile(path, options.gzip ? zlib.gzipSync(raw, { level: 9 }) : raw);
}
