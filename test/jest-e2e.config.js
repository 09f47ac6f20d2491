/** e2e tests: the HTTP API against a real, freshly migrated database (TEST_DB=sqlite|postgres). */
module.exports = {
  rootDir: '.',
  testRegex: '.*\\.e2e-spec\\.ts$',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/../tsconfig.json' }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testEnvironment: 'node',
  setupFiles: ['<rootDir>/support/setup-env.ts'],
  testTimeout: 60_000,
};
