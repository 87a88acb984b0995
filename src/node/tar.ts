/** A minimal reader of tar archives, for the SwiftShader archive of `@sparticuz/chromium`. */

export interface TarEntry {
  name: string;
  type: 'file' | 'directory' | 'other';
  mode: number;
  data: Buffer;
}

/**
 * Reads a POSIX (ustar) tar archive held in memory, with GNU long names ('L') and pax
 * extended headers ('x', their `path`). Enough for Chromium's flat SwiftShader archive.
 */
export function readTar(archive: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  const field = (header: Buffer, start: number, length: number) => {
    const raw = header.subarray(start, start + length);
    const end = raw.indexOf(0);
    return raw.subarray(0, end < 0 ? length : end).toString('utf8');
  };
  const octal = (header: Buffer, start: number, length: number) => {
    const text = field(header, start, length).trim();
    return text === '' ? 0 : parseInt(text, 8);
  };
  let offset = 0;
  let longName: string | null = null;
  while (offset + 512 <= archive.length) {
    const header = archive.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break; // end-of-archive block
    const size = octal(header, 124, 12);
    if (!Number.isFinite(size) || size < 0) throw new Error(`tar: bad size field at byte ${offset}`);
    const typeflag = String.fromCharCode(header[156] || 0x30);
    const dataStart = offset + 512;
    if (dataStart + size > archive.length) throw new Error('tar: archive is truncated');
    const data = archive.subarray(dataStart, dataStart + size);
    offset = dataStart + Math.ceil(size / 512) * 512;
    if (typeflag === 'L') {
      longName = field(data, 0, data.length);
      continue;
    }
    if (typeflag === 'x') {
      const match = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString('utf8'));
      if (match) longName = match[1];
      continue;
    }
    if (typeflag === 'g') continue;
    const prefix = header.subarray(257, 262).toString('latin1') === 'ustar' ? field(header, 345, 155) : '';
    const name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    longName = null;
    const type = typeflag === '0' || typeflag === '7' ? 'file' : typeflag === '5' ? 'directory' : 'other';
    entries.push({ name, type, mode: octal(header, 100, 8), data });
  }
  return entries;
}
