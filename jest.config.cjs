/** Jest runs the TypeScript sources directly (transpile only; `npm run typecheck` type-checks). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test', '<rootDir>/cli/test'],
  // The CLI imports the library by its package name; tests run it from the sources.
  moduleNameMapper: { '^tfjs-gala$': '<rootDir>/src/index.ts', '^tfjs-gala/node$': '<rootDir>/src/node/webgpu.ts' },
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: { module: 'commonjs', target: 'ES2020', esModuleInterop: true, isolatedModules: true } }],
  },
  testTimeout: 120000,
};
