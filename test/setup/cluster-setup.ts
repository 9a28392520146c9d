// Jest globalSetup of the `cluster` project: the cache and subscription suites again,
// against a local three-master Redis Cluster. PostgreSQL (and the standalone Redis the other
// project uses) come from the ordinary globalSetup, run here too when this project runs alone
// (`jest --selectProjects cluster`). The cluster's node list reaches the workers as
// TEST_REDIS_CLUSTER_URL; test/setup/cluster-env.ts makes it the file's TEST_REDIS_URL.
// Extensionless import: jest loads this file without moduleNameMapper (see global-teardown.ts).
import globalSetup, { startRedisCluster, stopServers } from './global-setup';

export default async function clusterSetup(): Promise<void> {
  if (!process.env.TEST_PG_ADMIN_URL) await globalSetup();
  if (process.env.TEST_REDIS_CLUSTER_URL) return;
  try {
    const cluster = await startRedisCluster(3);
    process.env.TEST_REDIS_CLUSTER_URL = cluster.url;
  } catch (err) {
    // Jest skips globalTeardown when a setup throws.
    await stopServers();
    throw err;
  }
}
