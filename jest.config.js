// Jest 30 in native ESM mode (aedes 1.x is ESM-only), TypeScript compiled by SWC.
// `npm test` sets NODE_OPTIONS=--experimental-vm-modules, which ESM mode needs.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    // Sources import './x.js' (NodeNext); under Jest the file is './x.ts'.
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  // @fastify/static (CommonJS, under @fastify/swagger-ui) requires content-disposition 3, which is
  // ESM only. Node 20.19 loads that with require(esm); Jest's module runtime cannot, so that one
  // package is compiled to CommonJS for the tests.
  transformIgnorePatterns: ['/node_modules/(?!content-disposition/)'],
  transform: {
    '/node_modules/content-disposition/.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'es6' },
        sourceMaps: 'inline',
      },
    ],
  },
  // Integration suites start real servers; give them room, and never run two suites that
  // bind the same server at once on this 2-core machine.
  reporters: ['default', '<rootDir>/test/support/summary-reporter.cjs'],
  testTimeout: 30000,
  maxWorkers: 2,
};
