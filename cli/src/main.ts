/**
 * Entry point of the `tfjs-gala` command (built to `dist/cli/main.js`, ESM).
 * The only module that uses `import.meta`: everything it resolves is passed on explicitly,
 * so the other CLI modules also load under Jest (CommonJS).
 */

import { fileURLToPath } from 'node:url';

import { createProgram } from './program';

// dist/main.js -> <tfjs-gala-cli package root>/data/fashion-mnist-lt
const committedSubsetDir = fileURLToPath(new URL('../data/fashion-mnist-lt', import.meta.url));

createProgram({ committedSubsetDir, stdout: process.stdout, stderr: process.stderr })
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    process.stderr.write(`tfjs-gala: error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
