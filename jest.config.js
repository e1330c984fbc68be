// jest, the runner `cdk init` sets up. TypeScript is transpiled by @swc/jest
// (no type-checking here: `npm test` runs `tsc --noEmit` once before jest).
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: '<rootDir>/test/jest/single-realm-environment.js',
  testEnvironmentOptions: { globalsCleanup: 'off' },
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.(t|j)sx?$|^.+\\.mjs$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
  },
  // ESM-only packages are transpiled to CommonJS like our own code.
  transformIgnorePatterns: ['/node_modules/(?!(jose|openid-client|oauth4webapi|oauth2-mock-server|basic-auth)/)'],
  // One WebAssembly validation engine per worker, not per test file (see the shim).
  moduleNameMapper: { '^@aws/cloudformation-validate$': '<rootDir>/test/jest/shared-cfn-validate.js' },
  snapshotSerializers: ['<rootDir>/test/jest/asset-hash-serializer.js'],
  reporters: ['default', '<rootDir>/test/jest/slowest-files-reporter.js'],
  // Synthesizing a config with every rulebook, LibreOffice and Chromium take seconds, not milliseconds.
  testTimeout: 180_000,
  maxWorkers: 2,
};
