// setupFiles of the `cluster` project: every file of it sees the Redis Cluster as "the" test
// Redis. Jest gives each test file its own copy of process.env, so this never leaks into files
// of the default project that run in the same worker.
const url = process.env.TEST_REDIS_CLUSTER_URL;
if (!url) throw new Error('TEST_REDIS_CLUSTER_URL is unset: the cluster project needs test/setup/cluster-setup.ts');
process.env.TEST_REDIS_URL = url;
process.env.TEST_REDIS_CLUSTER = '1';
