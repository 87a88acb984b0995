/**
 * Entry point of the `tfjs-gala` command (built to `dist/main.js`, ESM).
 * The only module that uses `import.meta`: everything it resolves is passed on explicitly,
 * so the other CLI modules also load under Jest (CommonJS).
 */

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { releaseBackends } from './backend';
import { createProgram } from './program';

// dist/main.js -> <tfjs-gala-cli package root>/data/fashion-mnist-lt and package.json
const committedSubsetDir = fileURLToPath(new URL('../data/fashion-mnist-lt', import.meta.url));
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

createProgram({ committedSubsetDir, version, stdout: process.stdout, stderr: process.stderr })
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    process.stderr.write(`tfjs-gala: error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  })
  // A WebGPU device keeps Node running (Dawn): free it so that the process exits.
  .finally(() => releaseBackends());
