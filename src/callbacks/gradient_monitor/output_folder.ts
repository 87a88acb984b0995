import { MONITOR } from './errors';

/**
 * Writing the monitor's files in Node. `fs` and `path` are imported on first write, so browser
 * bundles never load them. A failure never throws: training must not be lost because a file
 * could not be written.
 */

/** Receives warnings (default `console.warn`). */
export type Warn = (message: string) => void;

type FsPromises = typeof import('node:fs/promises');
type NodePath = typeof import('node:path');

/** Whether this runtime is Node.js (where files can be written). */
export function isNode(): boolean {
  return typeof process !== 'undefined' && process.versions?.node != null;
}

/** A folder the monitor writes into; created (with its parents) on first write. */
export class OutputFolder {
  private modules: Promise<{ fs: FsPromises; path: NodePath }> | null = null;
  private warned = false;

  constructor(
    readonly dir: string,
    private readonly warn: Warn,
  ) {}

  /**
   * Writes `text` to `<dir>/<name>`, replacing the file.
   * @returns true when written; false after a failure, which is reported once through `warn`
   *   (later failures are silent so a full disk does not flood the console).
   */
  async write(name: string, text: string): Promise<boolean> {
    let target = `${this.dir}/${name}`;
    try {
      this.modules ??= this.load();
      const { fs, path } = await this.modules;
      target = path.join(this.dir, name);
      await fs.writeFile(target, text, 'utf8');
      return true;
    } catch (error) {
      this.modules = null; // retry mkdir next time: the folder may become writable
      if (!this.warned) {
        this.warned = true;
        this.warn(
          `${MONITOR}: could not write '${target}' (${(error as Error).message}); training goes on without ` +
            'these files, and further write errors are not reported.',
        );
      }
      return false;
    }
  }

  private async load(): Promise<{ fs: FsPromises; path: NodePath }> {
    const [fs, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
    await fs.mkdir(this.dir, { recursive: true });
    return { fs, path };
  }
}
