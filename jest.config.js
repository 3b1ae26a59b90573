/** One jest run for the whole monorepo: unit tests beside code, integration tests in test/ folders. */
const os = require('node:os');

module.exports = {
  testEnvironment: 'node',
  roots: [
    '<rootDir>/packages',
    '<rootDir>/services',
    '<rootDir>/jobs',
    '<rootDir>/scripts',
    '<rootDir>/charts',
    '<rootDir>/operator',
    '<rootDir>/bench',
  ],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  // Type checking is `npm run typecheck`; tests only transpile, which keeps them fast.
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json', diagnostics: true }] },
  // Workspace packages resolve to their sources, so tests never run stale builds.
  moduleNameMapper: {
    '^@webrana/jobs$': '<rootDir>/jobs/src',
    '^@webrana/operator$': '<rootDir>/operator/src',
    '^@webrana/([a-z0-9-]+)$': '<rootDir>/packages/$1/src',
  },
  globalSetup: '<rootDir>/packages/testing/src/global-setup.ts',
  globalTeardown: '<rootDir>/packages/testing/src/global-teardown.ts',
  testTimeout: 60_000,
  // One and a half per core: most slow files wait on Kubernetes or PostgreSQL (pods starting, CronJob
  // minutes) rather than compute, so a third file on 2 cores overlaps its waits with theirs. A number:
  // jest reads a percentage above 100 as a worker count ('150%' is 150 workers).
  maxWorkers: Math.ceil(os.availableParallelism() * 1.5),
  testSequencer: '<rootDir>/scripts/jest-sequencer.js',
  reporters: ['default', '<rootDir>/scripts/jest-summary-reporter.js'],
};
