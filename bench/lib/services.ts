// Throwaway PostgreSQL and Redis for the benchmarks, started the way the test harness does
// (test/setup/global-setup.ts): initdb + postgres as `nobody` (via setpriv) in a temp dir on a
// free 127.0.0.1 port, redis-server without persistence on another; binaries, ports and probes
// come from tools/local-servers.ts, shared with the harness. PostgreSQL gets pg_stat_statements.
//
// Every process started here is registered: `stopAll()` stops them gracefully and removes
// their directories; `killAllNow()` is the synchronous last resort for process 'exit'. Each
// child also gets a parent-death signal (setpriv --pdeathsig), so a SIGKILLed benchmark does
// not leave servers behind; its directories (named after its pid) are removed by the next run.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { canConnect, databaseUrl, delay, exited, findOnPath, findPostgresBinDir, freePort, initPostgresDir, isAlive, logTail, redisPing, spawnLogged, waitUntil, wrapper } from '../../tools/local-servers.js';

export { databaseUrl, delay, exited, freePort, isAlive, logTail, spawnLogged, waitUntil, wrapper };

const DIR_PREFIX = 'lifeline-bench-';

export const HOST = '127.0.0.1';

// ---------------------------------------------------------------- registry and cleanup

interface Tracked {
  child: ChildProcess;
  name: string;
  /** The signal for a graceful stop (postgres: SIGINT = fast shutdown). */
  stopSignal: NodeJS.Signals;
}

const tracked = new Set<Tracked>();
const dirs = new Set<string>();

export function track(child: ChildProcess, name: string, stopSignal: NodeJS.Signals = 'SIGTERM'): void {
  const entry = { child, name, stopSignal };
  tracked.add(entry);
  child.once('exit', () => tracked.delete(entry));
}

/** Sends `signal`, then SIGKILL after `graceMs`. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 8_000): Promise<void> {
  if (!isAlive(child)) return;
  child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      if (isAlive(child)) child.kill('SIGKILL');
      resolve();
    }, graceMs);
  });
  await Promise.race([exited(child), killed]);
  clearTimeout(timer);
  await exited(child);
}

export function makeTempDir(kind: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${DIR_PREFIX}${process.pid}-${kind}-`));
  dirs.add(dir);
  return dir;
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

/** Graceful: every registered child gets its stop signal (SIGKILL after a grace period), then the dirs go. */
export async function stopAll(): Promise<void> {
  await Promise.all([...tracked].map((t) => stopChild(t.child, t.stopSignal)));
  for (const dir of [...dirs]) removeDir(dir);
}

/** Synchronous, for process 'exit': SIGKILL whatever is left and remove the directories. */
export function killAllNow(): void {
  for (const t of tracked) if (isAlive(t.child)) t.child.kill('SIGKILL');
  tracked.clear();
  for (const dir of [...dirs]) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort at exit
    }
  }
  dirs.clear();
}

/** Temp dirs of earlier benchmark runs that were SIGKILLed (their pid is gone). */
export function reapStaleDirs(): string[] {
  const removed: string[] = [];
  for (const name of fs.readdirSync(os.tmpdir())) {
    const m = new RegExp(`^${DIR_PREFIX}(\\d+)-`).exec(name);
    if (!m || Number(m[1]) === process.pid) continue;
    try {
      process.kill(Number(m[1]), 0);
      continue; // still running: not ours
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EPERM') continue;
    }
    fs.rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/**
 * Installs exit/signal handlers once: on SIGINT/SIGTERM every child is stopped and the
 * temp dirs removed; on any exit whatever remains is SIGKILLed.
 */
export function installCleanupHandlers(onSignal?: () => void): void {
  process.on('exit', killAllNow);
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`\nbench: ${signal}, stopping children and removing temp dirs\n`);
      onSignal?.();
      const force = setTimeout(() => process.exit(130), 10_000);
      force.unref();
      void stopAll().finally(() => process.exit(130));
    });
  }
}

// ---------------------------------------------------------------- PostgreSQL

export interface PostgresServer {
  child: ChildProcess;
  /** postgres:// URL of the `postgres` database (admin). */
  adminUrl: string;
  port: number;
  dir: string;
  logFile: string;
}

/** initdb + postgres on a free port, with pg_stat_statements preloaded. */
export async function startPostgres(extraSettings: string[] = []): Promise<PostgresServer> {
  const binDir = findPostgresBinDir();
  if (!binDir) {
    throw new Error('No PostgreSQL server binaries (initdb, postgres on PATH or in /usr/lib/postgresql/*/bin): apt-get install -y postgresql');
  }
  const dir = makeTempDir('pg');
  const logFile = initPostgresDir(binDir, dir);

  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const settings = [
      // Durability is worthless for a throwaway cluster.
      'fsync=off',
      'synchronous_commit=off',
      'full_page_writes=off',
      'max_connections=200',
      // SQL statements per request come from here.
      'shared_preload_libraries=pg_stat_statements',
      'pg_stat_statements.track=top',
      'pg_stat_statements.max=5000',
      ...extraSettings,
    ];
    const child = spawnLogged(
      path.join(binDir, 'postgres'),
      ['-D', path.join(dir, 'data'), '-p', String(port), '-h', HOST, '-k', dir, ...settings.flatMap((s) => ['-c', s])],
      { logFile, cwd: dir, asNobody: true, deathSignal: 'INT' },
    );
    track(child, 'postgres', 'SIGINT');
    const adminUrl = `postgres://postgres@${HOST}:${port}/postgres`;
    try {
      await waitUntil('postgres', () => canConnect(adminUrl), { timeoutMs: 30_000, child, logFile });
      return { child, adminUrl, port, dir, logFile };
    } catch (err) {
      await stopChild(child, 'SIGINT', 5_000);
      if (attempt >= 3 || !/already in use/.test(logTail(logFile))) throw err;
    }
  }
}

// ---------------------------------------------------------------- Redis

export interface RedisServer {
  child: ChildProcess;
  url: string;
  port: number;
  dir: string;
  logFile: string;
}

export async function startRedis(): Promise<RedisServer> {
  const bin = findOnPath('redis-server');
  if (!bin) throw new Error('No redis-server on PATH: apt-get install -y redis-server');
  const dir = makeTempDir('redis');
  const logFile = path.join(dir, 'redis.log');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawnLogged(bin, ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir], {
      logFile,
      cwd: dir,
      deathSignal: 'TERM',
    });
    track(child, 'redis-server', 'SIGTERM');
    try {
      await waitUntil('redis-server', () => redisPing(port), { timeoutMs: 15_000, child, logFile });
      return { child, url: `redis://${HOST}:${port}`, port, dir, logFile };
    } catch (err) {
      await stopChild(child, 'SIGTERM', 5_000);
      if (attempt >= 3 || !/in use/i.test(logTail(logFile))) throw err;
    }
  }
}

// ---------------------------------------------------------------- CPU accounting

/** utime + stime of a process in seconds, from /proc (Linux); null when unavailable. */
export function processCpuSeconds(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    return ticks / 100; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

function statFields(pid: number): string[] | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/**
 * The PostgreSQL postmaster behind `pid`: `pid` itself when it runs `postgres` (setpriv execs
 * it), else a child of `pid` that does (a wrapper that forks, e.g. runuser); null when /proc
 * does not say (not Linux, or another PID namespace).
 */
export function findPostmaster(pid: number | undefined): number | null {
  if (!pid) return null;
  const comm = (p: number) => {
    try {
      return fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim();
    } catch {
      return null;
    }
  };
  if (comm(pid) === 'postgres') return pid;
  return childPids(pid).find((c) => comm(c) === 'postgres') ?? null;
}

/** Processes whose parent is `pid`, from a scan of /proc (bounded by the number of processes). */
function childPids(pid: number): number[] {
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const children: number[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const fields = statFields(Number(name));
    if (fields && Number(fields[1]) === pid) children.push(Number(name)); // field 4: ppid
  }
  return children;
}

/**
 * CPU seconds used by a PostgreSQL server so far: the postmaster's utime + stime, its cutime +
 * cstime (which hold every backend it has already reaped, so backends that exit between two
 * readings still count) and the utime + stime of every child alive now. Two readings subtract
 * to the CPU of the interval. A backend reaped while its own line was being read would count
 * twice or not at all, so the reading is retried (a few times at most) until the postmaster's
 * reaped total did not move across it. null when /proc cannot be read.
 */
export function postgresCpuSeconds(postmaster: number | null | undefined): number | null {
  if (!postmaster) return null;
  const ticks = (f: string[], from: number, n: number) => f.slice(from, from + n).reduce((s, x) => s + Number(x), 0);
  let last: number | null = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = statFields(postmaster);
    if (!before) return null;
    let children = 0;
    for (const pid of childPids(postmaster)) {
      const f = statFields(pid);
      if (f) children += ticks(f, 11, 2); // utime, stime
    }
    const after = statFields(postmaster);
    if (!after) return null;
    last = (ticks(after, 11, 4) + children) / 100; // utime, stime, cutime, cstime; USER_HZ 100
    if (ticks(before, 13, 2) === ticks(after, 13, 2)) break;
  }
  return last;
}

/** Busy seconds of all cores together since boot. */
export function machineBusySeconds(): number {
  let ms = 0;
  for (const { times } of os.cpus()) ms += times.user + times.nice + times.sys + times.irq;
  return ms / 1000;
}
