// Jest runs the TypeScript sources directly through swc (no type checking here: `npm test`
// runs `tsc --noEmit` first). Sources import siblings as `./x.js` (Node16 rules), so the
// mapper points those specifiers back at the `.ts` files.
//
// Two projects in one run (one JSON result for .ci/run):
//   default  every test file, against a standalone redis-server;
//   cluster  the cache and subscription suites, the Redis session store and the rate limits
//            (plus test/cluster) again, against a local three-master Redis Cluster (issue 7).
//            `npx jest --selectProjects cluster` runs it alone.
const shared = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: {
          target: 'es2022',
          parser: { syntax: 'typescript', decorators: false },
        },
        module: { type: 'commonjs' },
        sourceMaps: 'inline',
      },
    ],
  },
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
};

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 30000,
  maxWorkers: 2,
  projects: [
    {
      ...shared,
      displayName: 'default',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      // Only meaningful on a cluster: test/cluster runs in the cluster project alone.
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/cluster/'],
      // Throwaway PostgreSQL + Redis for the whole run (SPEC §2); URLs reach workers via env.
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
    },
    {
      ...shared,
      displayName: 'cluster',
      testMatch: [
        '<rootDir>/test/cache/*.test.ts',
        '<rootDir>/test/subscriptions/*.test.ts',
        '<rootDir>/test/cluster/*.test.ts',
        // Sessions and rate limits share Redis between instances too: their keys must work on a cluster.
        '<rootDir>/test/auth/session-store.test.ts',
        '<rootDir>/test/hardening/rate-limit.test.ts',
      ],
      // These fault tests pause, kill or restart a private standalone redis-server of their own:
      // they would only repeat the default project's run (test/cluster covers the cluster's own).
      testPathIgnorePatterns: [
        '/node_modules/',
        '<rootDir>/test/cache/lost-invalidation.test.ts',
        '<rootDir>/test/subscriptions/degradation.test.ts',
      ],
      globalSetup: '<rootDir>/test/setup/cluster-setup.ts',
      setupFiles: ['<rootDir>/test/setup/cluster-env.ts'],
    },
  ],
};
