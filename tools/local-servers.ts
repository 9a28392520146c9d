// Finding and probing the local PostgreSQL and Redis binaries and servers that the test harness
// (test/setup/global-setup.ts), the fault tests and the benchmark (bench/lib/services.ts) start
// for themselves: one copy, used by all three, and no dependency of theirs on each other.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import postgres from 'postgres';

export const LOOPBACK = '127.0.0.1';
/** The uid initdb/postgres run as when we are root (they refuse root). */
export const NOBODY = 65534;
export const isRoot = () => process.getuid?.() === 0;

export function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

/** A directory holding both initdb and postgres: PATH first, then Debian's versioned dirs (newest first). */
export function findPostgresBinDir(): string | undefined {
  const pathDirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  let debianDirs: string[] = [];
  try {
    debianDirs = fs
      .readdirSync('/usr/lib/postgresql')
      .sort((a, b) => Number(b) - Number(a))
      .map((v) => `/usr/lib/postgresql/${v}/bin`);
  } catch {
    // not a Debian-style install
  }
  return [...pathDirs, ...debianDirs].find((dir) => isExecutable(path.join(dir, 'initdb')) && isExecutable(path.join(dir, 'postgres')));
}

/** Asks the kernel for a free loopback port. Another process could take it before we bind; callers retry. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, LOOPBACK, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** True when PostgreSQL at `url` answers `select 1` (2 s connect timeout). */
export async function canConnect(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** The same server's URL for another database. */
export function databaseUrl(adminUrl: string, name: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/** True when a Redis server answers PING on `port` within timeoutMs (raw RESP: no client library needed). */
export function redisPing(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: LOOPBACK, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

/** The last lines of a server's log file, for error messages. */
export function logTail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Resolves once `child` has exited (immediately when it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (!isAlive(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface SpawnLoggedOptions {
  /** stdout/stderr go here (a file, not a pipe, so the server never blocks on a dead reader). */
  logFile: string;
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Run as `nobody` when we are root: initdb and postgres refuse to run as root. */
  asNobody?: boolean;
  /** Signal the kernel sends the server when the spawning process dies (kill -9 of jest or the bench included). */
  deathSignal?: 'TERM' | 'INT' | 'KILL';
}

/** Command prefix that drops to `nobody` and/or arms a parent-death signal, using what exists. */
export function wrapper(opts: Pick<SpawnLoggedOptions, 'asNobody' | 'deathSignal'>): string[] {
  const setpriv = findOnPath('setpriv');
  const dropRoot = Boolean(opts.asNobody && isRoot());
  if (setpriv) {
    const args = [setpriv];
    if (dropRoot) args.push(`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups');
    if (opts.deathSignal) args.push(`--pdeathsig=${opts.deathSignal}`);
    return args.length > 1 ? [...args, '--'] : [];
  }
  if (!dropRoot) return [];
  const runuser = findOnPath('runuser');
  if (runuser) return [runuser, '-u', 'nobody', '--'];
  throw new Error('Running as root: need `setpriv` or `runuser` (util-linux) to start PostgreSQL as nobody');
}

/** Spawns `command` behind `wrapper()`, its output appended to a log file. */
export function spawnLogged(command: string, args: string[], opts: SpawnLoggedOptions): ChildProcess {
  const fd = fs.openSync(opts.logFile, 'a');
  try {
    const [cmd, ...rest] = [...wrapper(opts), command, ...args];
    const child = spawn(cmd!, rest, { cwd: opts.cwd, stdio: ['ignore', fd, fd], env: opts.env ?? process.env });
    // Without a listener a failed spawn would throw asynchronously and crash the caller.
    child.on('error', () => {});
    return child;
  } finally {
    fs.closeSync(fd);
  }
}

/** Polls `probe` until it returns true; fails on deadline or when `child` exits first (naming the log's last lines). */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  opts: { timeoutMs: number; child?: ChildProcess; logFile?: string },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  const fail = (why: string) => new Error(`${what} ${why}${opts.logFile ? `; last log lines:\n${logTail(opts.logFile)}` : ''}`);
  for (;;) {
    if (opts.child && !isAlive(opts.child)) throw fail(`exited (code ${opts.child.exitCode}, signal ${opts.child.signalCode})`);
    if (await probe()) return;
    if (Date.now() > deadline) throw fail(`not ready after ${opts.timeoutMs} ms`);
    await delay(100);
  }
}

/**
 * A fresh PostgreSQL data directory in `dir` (`dir/data`, superuser `postgres`, trust auth), with
 * `dir` and its log file owned by `nobody` when we are root. Returns the log file's path.
 */
export function initPostgresDir(binDir: string, dir: string): string {
  if (isRoot()) fs.chownSync(dir, NOBODY, NOBODY); // initdb/postgres run as nobody and write here
  const logFile = path.join(dir, 'postgres.log');
  fs.writeFileSync(logFile, '');
  if (isRoot()) fs.chownSync(logFile, NOBODY, NOBODY);
  const [cmd, ...args] = [
    ...wrapper({ asNobody: true }),
    path.join(binDir, 'initdb'),
    ...['-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync', '-D', path.join(dir, 'data')],
  ];
  const init = spawnSync(cmd!, args, { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  if (init.status !== 0) throw new Error(`initdb failed (${init.error?.message ?? `exit ${init.status}`}):\n${init.stdout}\n${init.stderr}`);
  return logFile;
}
