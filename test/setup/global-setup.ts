// Jest globalSetup: use DATABASE_URL / REDIS_URL when set, otherwise start throwaway
// `postgres` and `redis-server` processes on free ports; then build a migrated template database
// that every test file clones. Workers learn the URLs from TEST_PG_ADMIN_URL / TEST_REDIS_URL.
//
// The process utilities below are exported for test/helpers/redis.ts (private Redis servers).
import { spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import Module from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
// No `.js` here: jest loads globalSetup without the moduleNameMapper that maps `./x.js` to `./x.ts`.
import { canConnect, databaseUrl, delay, exited, findOnPath, findPostgresBinDir, freePort, initPostgresDir, isExecutable, logTail, redisPing, spawnLogged, waitUntil } from '../../tools/local-servers';

// test/helpers and the fault tests import these from here.
export { databaseUrl, delay, exited, findOnPath, findPostgresBinDir, freePort, isExecutable, logTail, redisPing, spawnLogged, waitUntil };

export const TEMPLATE_DATABASE = 'lifeline_template';
const STATE_DIR = path.join(os.tmpdir(), 'lifeline-test-state');

// ---------------------------------------------------------------- process utilities

/** True when `promise` settles within `ms`; the timer is cleared so it never holds the process open. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sends `signal`, then SIGKILL if the process is still there after `graceMs`. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGCONT'); // a SIGSTOPped process would hold a pending SIGTERM forever
  child.kill(signal);
  if (!(await settlesWithin(exited(child), graceMs))) {
    child.kill('SIGKILL');
    await settlesWithin(exited(child), 5_000);
  }
}

export function redisArgs(port: number, dir: string): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
}

// ---------------------------------------------------------------- stale servers of killed runs

interface RunState {
  owner: number;
  processes: { pid: number; kind: 'postgres' | 'redis' }[];
  dirs: string[];
}

const stateFile = (owner: number) => path.join(STATE_DIR, `${owner}.json`);

export function readState(owner = process.pid): RunState | undefined {
  try {
    return JSON.parse(fs.readFileSync(stateFile(owner), 'utf8')) as RunState;
  } catch {
    return undefined;
  }
}

function writeState(state: RunState): void {
  fs.mkdirSync(STATE_DIR, { recursive: true });
  fs.writeFileSync(stateFile(state.owner), JSON.stringify(state));
}

export function removeState(owner = process.pid): void {
  fs.rmSync(stateFile(owner), { force: true });
}

/** Alive and not a zombie (containers without an init leave zombies that kill(pid, 0) still finds). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}

/** The pid still belongs to the server we started (not reused by something else). */
function isOurServer(pid: number, kind: 'postgres' | 'redis'): boolean {
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes(kind === 'postgres' ? 'postgres' : 'redis-server');
  } catch {
    return false;
  }
}

/** Servers of runs whose jest process died without teardown: kill them and delete their files. */
function reapStaleRuns(): void {
  let files: string[] = [];
  try {
    files = fs.readdirSync(STATE_DIR).filter((f) => f.endsWith('.json'));
  } catch {
    return;
  }
  for (const f of files) {
    const owner = Number(path.basename(f, '.json'));
    if (owner === process.pid || isRunning(owner)) continue; // another live run: not ours to touch
    const state = readState(owner);
    for (const p of state?.processes ?? []) {
      if (isRunning(p.pid) && isOurServer(p.pid, p.kind)) process.kill(p.pid, 'SIGKILL');
    }
    for (const dir of state?.dirs ?? []) fs.rmSync(dir, { recursive: true, force: true });
    removeState(owner);
  }
}

// ---------------------------------------------------------------- servers

/** Children live on globalThis so teardown (same process, possibly another module instance) can await their exit. */
const registry = globalThis as { __lifelineServers?: { child: ChildProcess; kind: 'postgres' | 'redis' }[] };

function track(state: RunState, child: ChildProcess, kind: 'postgres' | 'redis'): void {
  state.processes.push({ pid: child.pid!, kind });
  writeState(state);
  (registry.__lifelineServers ??= []).push({ child, kind });
  // Let jest exit even if teardown never runs; the death signal then stops the server.
  child.unref();
}

async function startPostgres(binDir: string, state: RunState): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-pg-'));
  state.dirs.push(dir);
  writeState(state);
  const logFile = initPostgresDir(binDir, dir);

  // A free port can be taken between probe and bind; try a few.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawnLogged(
      path.join(binDir, 'postgres'),
      [
        ...['-D', path.join(dir, 'data'), '-p', String(port), '-h', '127.0.0.1', '-k', dir],
        // Durability is worthless for a throwaway cluster; these make DDL and commits cheap.
        ...['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
        ...['-c', 'max_connections=300'],
      ],
      // SIGINT = "fast shutdown": does not wait for clients a killed jest may have left behind.
      { logFile, cwd: dir, asNobody: true, deathSignal: 'INT' },
    );
    track(state, child, 'postgres');
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    try {
      await waitUntil('postgres', () => canConnect(url), { timeoutMs: 30_000, child, logFile });
      return url;
    } catch (err) {
      await stopChild(child, 'SIGINT', 5_000);
      if (attempt >= 3 || !/already in use/.test(logTail(logFile))) throw err;
    }
  }
}

async function startRedis(state: RunState): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-redis-'));
  state.dirs.push(dir);
  writeState(state);
  const logFile = path.join(dir, 'redis.log');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawnLogged(findOnPath('redis-server')!, redisArgs(port, dir), {
      logFile,
      cwd: dir,
      deathSignal: 'TERM',
    });
    track(state, child, 'redis');
    try {
      await waitUntil('redis-server', () => redisPing(port), { timeoutMs: 15_000, child, logFile });
      return `redis://127.0.0.1:${port}`;
    } catch (err) {
      await stopChild(child, 'SIGTERM', 5_000);
      if (attempt >= 3 || !/in use/i.test(logTail(logFile))) throw err;
    }
  }
}

// ---------------------------------------------------------------- Redis Cluster

/**
 * A port whose cluster bus port (port + 10000) is free too. The kernel's ephemeral ports are
 * mostly above 55535, so instead of freePort() this probes random ports in 20000-40000.
 */
export async function freeClusterPort(taken: Set<number>): Promise<number> {
  const canBind = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.unref();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    if (taken.has(port) || taken.has(port + 10_000)) continue;
    if ((await canBind(port)) && (await canBind(port + 10_000))) return port;
  }
  throw new Error('no free port pair (port, port + 10000) for a Redis Cluster node');
}

/** One RESP command over a raw socket; the reply as text (enough for INFO-like bulk replies). */
function redisCommand(port: number, args: string[], timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let data = '';
    const timer = setTimeout(() => done(new Error('timeout')), timeoutMs);
    const done = (err?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(data);
    };
    socket.on('error', done);
    socket.on('connect', () => socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
    socket.on('data', (d) => {
      data += d.toString();
      const bulk = /^\$(\d+)\r\n/.exec(data);
      if (!bulk || Buffer.byteLength(data) >= bulk[0].length + Number(bulk[1]) + 2) done();
    });
  });
}

export interface TestCluster {
  /** Comma-separated node URLs, as REDIS_URL takes them. */
  url: string;
  ports: number[];
  /** SIGKILLs the node on `port` and starts it again: same slots (its nodes.conf), empty dataset, new run_id. */
  restart(port: number): Promise<void>;
  /** Stops every node and removes the files. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts `masters` `redis-server --cluster-enabled yes` processes, joins them with
 * `redis-cli --cluster create` (no replicas) and waits until every node reports cluster_state:ok.
 */
export async function startRedisCluster(masters = 3): Promise<TestCluster> {
  const redisCli = findOnPath('redis-cli');
  if (!redisCli) throw new Error('A Redis Cluster needs redis-cli on PATH (apt-get install -y redis-tools)');
  const state = readState() ?? { owner: process.pid, processes: [], dirs: [] };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-redis-cluster-'));
  state.dirs.push(dir);
  writeState(state);
  const ports: number[] = [];
  const children = new Map<number, ChildProcess>();
  const taken = new Set<number>();
  const launch = async (port: number) => {
    const logFile = path.join(dir, `node-${port}.log`);
    const child = spawnLogged(
      findOnPath('redis-server')!,
      [
        ...redisArgs(port, dir),
        ...['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`],
        // Failure detection in 2 s rather than 15: a test that stops a node is not kept waiting.
        ...['--cluster-node-timeout', '2000'],
      ],
      { logFile, cwd: dir, deathSignal: 'TERM' },
    );
    track(state, child, 'redis');
    children.set(port, child);
    await waitUntil(`cluster redis-server on port ${port}`, () => redisPing(port), { timeoutMs: 15_000, child, logFile });
  };
  for (let i = 0; i < masters; i++) {
    for (let attempt = 1; ; attempt++) {
      const port = await freeClusterPort(taken);
      try {
        await launch(port);
        ports.push(port);
        taken.add(port);
        taken.add(port + 10_000);
        break;
      } catch (err) {
        await stopChild(children.get(port)!, 'SIGTERM', 5_000);
        if (attempt >= 3 || !/in use/i.test(logTail(path.join(dir, `node-${port}.log`)))) throw err;
      }
    }
  }
  const create = spawnSync(
    redisCli,
    ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
    { encoding: 'utf8', timeout: 60_000 },
  );
  if (create.status !== 0) throw new Error(`redis-cli --cluster create failed (exit ${create.status}):\n${create.stdout}\n${create.stderr}`);
  const ok = async () => {
    for (const port of ports) {
      const info = await redisCommand(port, ['CLUSTER', 'INFO']).catch(() => '');
      if (!info.includes('cluster_state:ok')) return false;
    }
    return true;
  };
  await waitUntil('redis cluster (cluster_state:ok on every node)', ok, { timeoutMs: 30_000 });
  let stopped: Promise<void> | undefined;
  return {
    url: ports.map((p) => `redis://127.0.0.1:${p}`).join(','),
    ports,
    async restart(port) {
      await stopChild(children.get(port)!, 'SIGKILL', 5_000);
      await launch(port);
      await waitUntil('redis cluster after a node restart (cluster_state:ok on every node)', ok, { timeoutMs: 30_000 });
    },
    stop: () =>
      (stopped ??= (async () => {
        await Promise.all([...children.values()].map((c) => stopChild(c, 'SIGTERM', 5_000)));
        fs.rmSync(dir, { recursive: true, force: true });
      })()),
  };
}

/** Jest loads this file without moduleNameMapper, so `./x.js` imports inside src/ need mapping to `.ts`. */
async function withTsResolution<T>(fn: () => Promise<T>): Promise<T> {
  const M = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const original = M._resolveFilename;
  M._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]) {
    try {
      return original.call(this, request, ...rest);
    } catch (err) {
      if (!/^\.{1,2}\/.*\.js$/.test(request)) throw err;
      return original.call(this, `${request.slice(0, -3)}.ts`, ...rest);
    }
  };
  try {
    return await fn();
  } finally {
    M._resolveFilename = original;
  }
}

async function buildTemplate(adminUrl: string): Promise<void> {
  const admin = postgres(adminUrl, { max: 1, connect_timeout: 10, onnotice: () => {} });
  try {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`);
    await admin.unsafe(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  await withTsResolution(async () => {
    const { createDatabase } = await import('../../src/db/client.js');
    const { runMigrations } = await import('../../src/db/migrate.js');
    const database = await createDatabase({ url: databaseUrl(adminUrl, TEMPLATE_DATABASE), maxConnections: 1 });
    try {
      await runMigrations(database);
    } finally {
      // CREATE DATABASE ... TEMPLATE fails while anyone is connected to the template.
      await database.close();
    }
  });
}

export default async function globalSetup(): Promise<void> {
  reapStaleRuns();
  const pgBinDir = process.env.DATABASE_URL ? undefined : findPostgresBinDir();
  const redisBin = process.env.REDIS_URL ? undefined : findOnPath('redis-server');
  const missing: string[] = [];
  if (!process.env.DATABASE_URL && !pgBinDir) {
    missing.push('PostgreSQL server binaries (initdb, postgres on PATH or in /usr/lib/postgresql/*/bin) and DATABASE_URL is unset');
  }
  if (!process.env.REDIS_URL && !redisBin) missing.push('redis-server (on PATH) and REDIS_URL is unset');
  if (missing.length > 0) {
    throw new Error(
      `Cannot start the test servers: no ${missing.join('; no ')}. ` +
        'Install them (apt-get install -y postgresql redis-server) or set DATABASE_URL / REDIS_URL ' +
        'to servers the tests may create databases / keys on.',
    );
  }

  const state: RunState = { owner: process.pid, processes: [], dirs: [] };
  writeState(state);
  try {
    const [adminUrl, redisUrl] = await Promise.all([
      process.env.DATABASE_URL ?? startPostgres(pgBinDir!, state),
      process.env.REDIS_URL ?? startRedis(state),
    ]);
    await buildTemplate(adminUrl);
    // Workers are forked after globalSetup, so they inherit these.
    process.env.TEST_PG_ADMIN_URL = adminUrl;
    process.env.TEST_REDIS_URL = redisUrl;
  } catch (err) {
    // Jest skips globalTeardown when setup throws; clean up what we started here.
    await stopServers();
    throw err;
  }
}

/** globalTeardown: stops the servers this run started and removes their directories. */
export async function stopServers(): Promise<void> {
  const servers = registry.__lifelineServers ?? [];
  registry.__lifelineServers = [];
  // postgres gets SIGINT ("fast shutdown"): SIGTERM would wait for every client to disconnect.
  await Promise.all(servers.map((s) => stopChild(s.child, s.kind === 'postgres' ? 'SIGINT' : 'SIGTERM')));
  const state = readState();
  for (const p of state?.processes ?? []) {
    // Anything not awaited above (should not happen) still must not outlive the run.
    if (isRunning(p.pid) && isOurServer(p.pid, p.kind)) process.kill(p.pid, 'SIGKILL');
  }
  for (const dir of state?.dirs ?? []) fs.rmSync(dir, { recursive: true, force: true });
  removeState();
}
