// Redis for tests: the run-wide server (shared by all files; isolate with uniqueCachePrefix) and
// private servers for fault tests that must pause, kill or restart "Redis" without hurting others.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import {
  exited,
  findOnPath,
  freePort,
  redisArgs,
  redisPing,
  spawnService,
  stopChild,
  waitUntil,
} from '../setup/global-setup.js';

export function testRedisUrl(): string {
  const url = process.env.TEST_REDIS_URL;
  if (!url) throw new Error('TEST_REDIS_URL is unset: run tests through jest (globalSetup sets it)');
  return url;
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
  /** Starts a fresh (empty) server on the same port; kills the old one first if needed. */
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

export async function startPrivateRedis(): Promise<PrivateRedis> {
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
    const c = spawnService(binary, redisArgs(port, dir), { logFile, cwd: dir, deathSignal: 'KILL' });
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
