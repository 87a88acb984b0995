/**
 * The IDX binary format of MNIST and Fashion-MNIST
 * (http://yann.lecun.com/exdb/mnist/, "FILE FORMATS FOR THE MNIST DATABASE"):
 *
 *     bytes 0-1   0x00 0x00
 *     byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
 *     byte  3     number of dimensions r
 *     4 * r bytes the size of each dimension, uint32 big-endian
 *     the elements, row-major, big-endian
 *
 * Pure functions on bytes (no Node APIs): reading files and gzip live in `idx_file.ts`.
 */

/** Element types of the IDX format, named as the typed array that holds them (type codes 0x08..0x0E). */
export type IdxDataType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

/** The typed array of each {@link IdxDataType}: `Uint8Array` for `'uint8'`, and so on. */
export type IdxTypedArray = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/** A decoded IDX array: `data.length` equals the product of `shape`. */
export interface IdxArray {
  /** Element type from the header; `data` is the matching typed array. */
  readonly dtype: IdxDataType;
  /** Size of each dimension, outermost first (e.g. `[60000, 28, 28]` for Fashion-MNIST images). */
  readonly shape: readonly number[];
  /** The elements, row-major, in host byte order (decoded from big-endian). */
  readonly data: IdxTypedArray;
}

interface IdxTypeInfo {
  readonly code: number;
  readonly dtype: IdxDataType;
  readonly bytes: number;
}

const IDX_TYPES: readonly IdxTypeInfo[] = [
  { code: 0x08, dtype: 'uint8', bytes: 1 },
  { code: 0x09, dtype: 'int8', bytes: 1 },
  { code: 0x0b, dtype: 'int16', bytes: 2 },
  { code: 0x0c, dtype: 'int32', bytes: 4 },
  { code: 0x0d, dtype: 'float32', bytes: 4 },
  { code: 0x0e, dtype: 'float64', bytes: 8 },
];

/**
 * Decodes IDX bytes (not gzipped).
 *
 * @param bytes the whole file.
 * @param source what to call the bytes in error messages (usually the file path).
 * @throws Error naming `source` when the magic number, element type, header or length is wrong:
 *   the data must hold exactly the number of elements the header announces.
 */
export function decodeIdx(bytes: Uint8Array, source = 'IDX data'): IdxArray {
  const invalid = (why: string): Error => new Error(`${source} is not a valid IDX file: ${why}.`);
  if (bytes.length < 4) throw invalid(`it has ${bytes.length} bytes, fewer than the 4-byte magic number`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const gzipHint = bytes[0] === 0x1f && bytes[1] === 0x8b ? ' (the data is gzip-compressed: decompress it first)' : '';
    throw invalid(`the magic number must start with two zero bytes, found 0x${hex(bytes[0])} 0x${hex(bytes[1])}${gzipHint}`);
  }
  const type = IDX_TYPES.find((t) => t.code === bytes[2]);
  if (type === undefined) {
    throw invalid(`unknown element type 0x${hex(bytes[2])} (allowed: ${IDX_TYPES.map((t) => `0x${hex(t.code)} ${t.dtype}`).join(', ')})`);
  }
  const { dtype, bytes: elementBytes } = type;
  const rank = bytes[3];
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) throw invalid(`the header announces ${rank} dimensions but the file ends after ${bytes.length} bytes`);

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  let size = 1;
  for (let d = 0; d < rank; d++) {
    const dim = view.getUint32(4 + 4 * d, false);
    shape.push(dim);
    size *= dim;
  }
  const expectedBytes = headerBytes + size * elementBytes;
  if (bytes.length !== expectedBytes) {
    throw invalid(
      `shape [${shape.join(', ')}] of ${dtype} needs ${expectedBytes} bytes with the header, ` +
        `the file has ${bytes.length} (${bytes.length < expectedBytes ? 'truncated' : 'trailing data'})`,
    );
  }

  const data = allocate(dtype, size);
  if (dtype === 'uint8') {
    (data as Uint8Array).set(bytes.subarray(headerBytes, expectedBytes));
  } else if (dtype === 'int8') {
    (data as Int8Array).set(new Int8Array(bytes.buffer, bytes.byteOffset + headerBytes, size));
  } else {
    // Multi-byte elements are big-endian: read through the DataView, never by reinterpreting bytes.
    for (let i = 0, offset = headerBytes; i < size; i++, offset += elementBytes) {
      data[i] = readElement(view, dtype, offset);
    }
  }
  return { dtype, shape, data };
}

/**
 * Encodes an array as IDX bytes (not gzipped). The element type follows the typed array:
 * Uint8Array -> uint8, Int8Array -> int8, and so on.
 *
 * @throws Error when `data.length` is not the product of `shape` or a dimension is not a
 *   non-negative 32-bit integer.
 */
export function encodeIdx(array: { readonly data: IdxTypedArray; readonly shape: readonly number[] }): Uint8Array {
  const { data, shape } = array;
  const dtype = dtypeOf(data);
  const type = IDX_TYPES.find((t) => t.dtype === dtype) as IdxTypeInfo;
  if (shape.length > 255) throw new Error(`IDX supports at most 255 dimensions; received ${shape.length}.`);
  let size = 1;
  for (const dim of shape) {
    if (!Number.isInteger(dim) || dim < 0 || dim > 0xffffffff) {
      throw new Error(`IDX dimensions must be integers in [0, 4294967295]; received shape [${shape.join(', ')}].`);
    }
    size *= dim;
  }
  if (size !== data.length) {
    throw new Error(`shape [${shape.join(', ')}] holds ${size} elements but data has ${data.length}.`);
  }
  const headerBytes = 4 + 4 * shape.length;
  const bytes = new Uint8Array(headerBytes + size * type.bytes);
  const view = new DataView(bytes.buffer);
  bytes[2] = type.code;
  bytes[3] = shape.length;
  shape.forEach((dim, d) => view.setUint32(4 + 4 * d, dim, false));
  if (type.bytes === 1) {
    bytes.set(new Uint8Array(data.buffer, data.byteOffset, size), headerBytes); // no byte order to mind
  } else {
    for (let i = 0, offset = headerBytes; i < size; i++, offset += type.bytes) {
      writeElement(view, dtype, offset, data[i]);
    }
  }
  return bytes;
}

function allocate(dtype: IdxDataType, size: number): IdxTypedArray {
  switch (dtype) {
    case 'uint8': return new Uint8Array(size);
    case 'int8': return new Int8Array(size);
    case 'int16': return new Int16Array(size);
    case 'int32': return new Int32Array(size);
    case 'float32': return new Float32Array(size);
    case 'float64': return new Float64Array(size);
  }
}

function dtypeOf(data: IdxTypedArray): IdxDataType {
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Float32Array) return 'float32';
  return 'float64';
}

function readElement(view: DataView, dtype: IdxDataType, offset: number): number {
  switch (dtype) {
    case 'uint8': return view.getUint8(offset);
    case 'int8': return view.getInt8(offset);
    case 'int16': return view.getInt16(offset, false);
    case 'int32': return view.getInt32(offset, false);
    case 'float32': return view.getFloat32(offset, false);
    case 'float64': return view.getFloat64(offset, false);
  }
}

function writeElement(view: DataView, dtype: IdxDataType, offset: number, value: number): void {
  switch (dtype) {
    case 'uint8': return view.setUint8(offset, value);
    case 'int8': return view.setInt8(offset, value);
    case 'int16': return view.setInt16(offset, value, false);
    case 'int32': return view.setInt32(offset, value, false);
    case 'float32': return view.setFloat32(offset, value, false);
    case 'float64': return view.setFloat64(offset, value, false);
  }
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}
