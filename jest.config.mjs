// One jest setup for every workspace: ESM TypeScript through @swc/jest.
// `npm test` starts jest with NODE_OPTIONS=--experimental-vm-modules, which ESM in jest requires.
export default {
  testEnvironment: 'node',
  // The real tools the tests run (xmllint, Prometheus...): one line on what is missing, before any test.
  globalSetup: '<rootDir>/scripts/require-test-tools.mjs',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { target: 'es2024', parser: { syntax: 'typescript' } },
        module: { type: 'es6' },
      },
    ],
  },
  // Sources import siblings as './x.js' (NodeNext); jest resolves them to the .ts files.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: [
    '<rootDir>/{apps,packages}/*/{src,test}/**/*.test.ts',
    '<rootDir>/cli/{src,test}/**/*.test.ts',
    '<rootDir>/{grafana,charts,ci,scripts}/*.test.ts',
  ],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  testTimeout: 30_000,
  // Integration tests start real processes; two cores are shared with them.
  maxWorkers: 2,
};
