/** e2e tests: the HTTP API against a real, freshly migrated database (TEST_DB=sqlite|postgres). */
module.exports = {
  rootDir: '.',
  testRegex: '.*\\.e2e-spec\\.ts$',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/../tsconfig.json' }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  // Node's environment, keeping the application's log lines out of the output unless a test fails.
  testEnvironment: '<rootDir>/support/log-environment.ts',
  setupFiles: ['<rootDir>/support/setup-env.ts'],
  testTimeout: 60_000,
};
