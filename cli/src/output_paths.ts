/**
 * Checks, before any training, that the files and folders a command will write can be written,
 * so that a typo in `--json` or `--save` fails at once instead of after minutes of training.
 * Nothing is created: the nearest existing ancestor must be a writable folder.
 */

import { constants, promises as fs } from 'node:fs';
import * as path from 'node:path';

/** What an option names: a file the command writes, or a folder it writes into. */
export type OutputKind = 'file' | 'folder';

/**
 * Checks that `target` can be written as a `kind`: when it exists, it is of that kind and
 * writable; otherwise its nearest existing ancestor is a folder the process may write into
 * (the missing folders are created later, when the command writes).
 *
 * @param option the option that named the path, for the message (`--json`).
 * @throws Error in the form `--json: the file must be writable; received /x/y.json (<why>).`
 */
export async function checkWritable(option: string, kind: OutputKind, target: string): Promise<void> {
  const fail = (why: string) => new Error(`${option}: the ${kind} must be writable; received ${target} (${why}).`);
  if (target.trim() === '') throw new Error(`${option}: the ${kind} must be a path; received an empty string.`);
  const resolved = path.resolve(target);
  const existing = await statOrNull(resolved);
  if (existing !== null) {
    if (kind === 'file' && existing.isDirectory()) throw fail('it is a folder');
    if (kind === 'folder' && !existing.isDirectory()) throw fail('it is a file');
    if (!(await canWrite(resolved))) throw fail(`no write permission on ${resolved}`);
    return;
  }
  let ancestor = path.dirname(resolved);
  for (;;) {
    const stat = await statOrNull(ancestor);
    if (stat !== null) {
      if (!stat.isDirectory()) throw fail(`${ancestor} is a file, not a folder`);
      if (!(await canWrite(ancestor))) throw fail(`no write permission on ${ancestor}`);
      return;
    }
    const parent = path.dirname(ancestor);
    if (parent === ancestor) throw fail('no part of the path exists');
    ancestor = parent;
  }
}

async function statOrNull(file: string) {
  try {
    return await fs.stat(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // ENOTDIR: a parent is a file; the walk up reports it.
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw error;
  }
}

async function canWrite(file: string): Promise<boolean> {
  try {
    await fs.access(file, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
