// Redis for tests: the run-wide server (shared by all files; isolate with uniqueCachePrefix) and
// private servers for fault tests that must pause, kill or restart "Redis" without hurting others.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Cluster, Redis } from 'ioredis';
import {
  exited,
  findOnPath,
  freePort,
  redisArgs,
  redisPing,
  spawnLogged,
  stopChild,
  waitUntil,
} from '../setup/global-setup.js';

export function testRedisUrl(): string {
  const url = process.env.TEST_REDIS_URL;
  if (!url) throw new Error('TEST_REDIS_URL is unset: run tests through jest (globalSetup sets it)');
  return url;
}

/** True in the `cluster` project (test/setup/cluster-env.ts): testRedisUrl() is a node list. */
export function isClusterRun(): boolean {
  return process.env.TEST_REDIS_CLUSTER === '1';
}

/** A client for the run-wide Redis: an ioredis Cluster on a cluster run, else a plain Redis. */
export function testRedisClient(): Redis | Cluster {
  const url = testRedisUrl();
  const nodes = url.split(',');
  if (nodes.length === 1 && !isClusterRun()) return new Redis(url);
  return new Cluster(nodes.map((n) => ({ host: new URL(n).hostname, port: Number(new URL(n).port) })));
}

/** Every key matching `pattern`: SCAN on each master of a cluster (one node's SCAN sees only its slots). */
export async function scanKeys(client: Redis | Cluster, pattern: string): Promise<string[]> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  const keys: string[] = [];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
  }
  return keys;
}

/** A key prefix no other test file uses, e.g. `t3f9a0c1d:` (valid as CACHE_PREFIX). */
export function uniqueCachePrefix(): string {
  return `t${randomBytes(4).toString('hex')}:`;
}

export interface PrivateRedis {
  url: string;
  port: number;
  /** SIGSTOP: the socket stays open but nothing is answered (a hung server). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** SIGKILL, awaiting exit (a crashed server: connections reset). */
  kill(): Promise<void>;
  /**
   * Starts the server again on the same port, killing the old one first if needed (SIGKILL: a
   * crash). Empty afterwards, unless started with `appendonly`: then it reloads its AOF.
   */
  restart(): Promise<void>;
  /** Shuts it down for good and removes its files. Idempotent. */
  stop(): Promise<void>;
}

const privateServers = new Set<PrivateRedis>();
const liveChildren = new Set<ChildProcess>();

// Best effort for a worker that exits without afterAll; the death signal covers a killed worker.
const killOnExit = () => {
  for (const child of liveChildren) child.kill('SIGKILL');
};
// Tear down whatever a test file forgot. Jest evaluates helpers once per test file, so this
// registers one afterAll per file that imports us.
if (typeof afterAll === 'function') afterAll(() => stopAllPrivateRedis());

export async function stopAllPrivateRedis(): Promise<void> {
  await Promise.all([...privateServers].map((r) => r.stop()));
  process.off('exit', killOnExit);
}

export interface PrivateRedisOptions {
  /**
   * Persist every write to an append-only file in the server's own directory (fsync always, so
   * an acknowledged write survives SIGKILL), as the state Redis runs in production.
   */
  appendonly?: boolean;
  /** Further redis-server arguments, e.g. ['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru']. */
  args?: string[];
}

export async function startPrivateRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const binary = findOnPath('redis-server');
  if (!binary) throw new Error('startPrivateRedis needs redis-server on PATH (apt-get install -y redis-server)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-redis-private-'));
  const logFile = path.join(dir, 'redis.log');
  let port = 0;
  let child: ChildProcess | undefined;

  // Same process object for every test file of a worker: add once, remove in stopAllPrivateRedis.
  if (!process.listeners('exit').includes(killOnExit)) process.on('exit', killOnExit);

  const launch = async (fixedPort?: number) => {
    port = fixedPort ?? (await freePort());
    // Later arguments win: these override redisArgs' `--appendonly no`.
    const extra = [...(options.appendonly ? ['--appendonly', 'yes', '--appendfsync', 'always'] : []), ...(options.args ?? [])];
    const c = spawnLogged(binary, [...redisArgs(port, dir), ...extra], { logFile, cwd: dir, deathSignal: 'KILL' });
    child = c;
    liveChildren.add(c);
    void exited(c).then(() => liveChildren.delete(c));
    await waitUntil(`private redis-server on port ${port}`, () => redisPing(port), {
      timeoutMs: 15_000,
      child: c,
      logFile,
    });
  };

  // A freshly probed port may be taken before redis binds it; try a few.
  for (let attempt = 1; ; attempt++) {
    try {
      await launch();
      break;
    } catch (err) {
      if (child) await stopChild(child, 'SIGKILL', 1_000);
      if (attempt >= 3) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }

  let stopped: Promise<void> | undefined;
  const redis: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    kill: async () => {
      if (child) await stopChild(child, 'SIGKILL', 5_000);
    },
    restart: async () => {
      if (child) await stopChild(child, 'SIGKILL', 5_000);
      await launch(port);
    },
    stop: () =>
      (stopped ??= (async () => {
        privateServers.delete(redis);
        if (child) await stopChild(child, 'SIGTERM', 5_000);
        fs.rmSync(dir, { recursive: true, force: true });
      })()),
  };
  privateServers.add(redis);
  return redis;
}
