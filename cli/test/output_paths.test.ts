import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { checkWritable } from '../src/output_paths';

describe('checkWritable', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tfjs-gala-paths-'));
    await fs.writeFile(path.join(dir, 'file.json'), '{}');
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('accepts an existing file or folder, and missing ones under a writable folder, creating nothing', async () => {
    await checkWritable('--json', 'file', path.join(dir, 'file.json'));
    await checkWritable('--out', 'folder', dir);
    await checkWritable('--save', 'folder', path.join(dir, 'a', 'b', 'c'));
    expect(await fs.readdir(dir)).toEqual(['file.json']);
  });

  it('rejects a path under a file, a file for a folder and a folder for a file', async () => {
    const file = path.join(dir, 'file.json');
    await expect(checkWritable('--json', 'file', path.join(file, 'x.json'))).rejects.toThrow(
      `--json: the file must be writable; received ${path.join(file, 'x.json')} (${file} is a file, not a folder).`,
    );
    await expect(checkWritable('--save', 'folder', file)).rejects.toThrow(`--save: the folder must be writable; received ${file} (it is a file).`);
    await expect(checkWritable('--json', 'file', dir)).rejects.toThrow(`--json: the file must be writable; received ${dir} (it is a folder).`);
    await expect(checkWritable('--json', 'file', ' ')).rejects.toThrow('--json: the file must be a path; received an empty string.');
  });

  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  (root ? it.skip : it)('rejects a folder without write permission (not as root, who may write anywhere)', async () => {
    const locked = path.join(dir, 'locked');
    await fs.mkdir(locked);
    await fs.chmod(locked, 0o500);
    try {
      await expect(checkWritable('--json', 'file', path.join(locked, 'x.json'))).rejects.toThrow(`(no write permission on ${locked})`);
    } finally {
      await fs.chmod(locked, 0o700);
    }
  });
});
