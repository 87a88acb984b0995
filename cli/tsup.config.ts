import { defineConfig } from 'tsup';

// The command is an application: its dependencies and the library (`tfjs-gala`, a peer) stay
// external, so the one tfjs instance and the one copy of the library's class registry are shared.
export default defineConfig({
  entry: { main: 'src/main.ts' },
  format: ['esm'],
  target: 'es2020',
  sourcemap: true,
  clean: true,
  banner: { js: '#!/usr/bin/env node' },
  external: [/^tfjs-gala(\/|$)/, /^@tensorflow\//, 'webgpu'],
});
