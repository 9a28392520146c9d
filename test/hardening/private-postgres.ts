// A PostgreSQL server of the test file's own, to stop, hang and restart without hurting the
// run-wide one every other file shares. Runs as `nobody` when we are root (initdb refuses root).
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { canConnect, initPostgresDir } from '../../tools/local-servers.js';
import { exited, findPostgresBinDir, freePort, spawnLogged, stopChild, waitUntil } from '../setup/global-setup.js';

export interface PrivatePostgres {
  /** postgres:// URL of the `lifeline` database. */
  url: string;
  /** Immediate shutdown (SIGQUIT: like a crash, no checkpoint); resolves once the server is gone. */
  kill(): Promise<void>;
  /** SIGSTOP to the postmaster and every backend: connections stay open, nothing is answered (a hung server or a network partition). */
  pause(): void;
  resume(): void;
  /** Starts the server again on the same port and data (crash recovery included). */
  start(): Promise<void>;
  /** Stops it for good and removes its files. Idempotent. */
  stop(): Promise<void>;
}


export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const binDir = findPostgresBinDir();
  if (!binDir) throw new Error('startPrivatePostgres needs initdb and postgres (apt-get install -y postgresql)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-pg-private-'));
  const logFile = initPostgresDir(binDir, dir);

  const port = await freePort();
  let child: ChildProcess | undefined;
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const launch = async () => {
    child = spawnLogged(
      path.join(binDir, 'postgres'),
      // fsync off only matters if the machine crashes; synchronous_commit stays on, because kill()
      // is an immediate shutdown and asynchronously committed rows (the seed!) would be lost with it.
      ['-D', path.join(dir, 'data'), '-p', String(port), '-h', '127.0.0.1', '-k', dir, '-c', 'fsync=off', '-c', 'full_page_writes=off'],
      { logFile, cwd: dir, asNobody: true, deathSignal: 'KILL' },
    );
    await waitUntil(`private postgres on port ${port}`, () => canConnect(adminUrl), { timeoutMs: 30_000, child, logFile });
  };
  await launch();
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe('CREATE DATABASE lifeline');
  await admin.end({ timeout: 5 });

  let stopped: Promise<void> | undefined;
  let paused: number[] = [];
  return {
    url: `postgres://postgres@127.0.0.1:${port}/lifeline`,
    kill: async () => {
      if (!child) return;
      child.kill('SIGCONT');
      child.kill('SIGQUIT');
      await exited(child);
    },
    pause: () => {
      if (!child?.pid) return;
      // Backends are the postmaster's children: stopping the postmaster alone leaves open connections answering.
      paused = [child.pid, ...childrenOf(child.pid)];
      for (const pid of paused) process.kill(pid, 'SIGSTOP');
    },
    resume: () => {
      for (const pid of paused) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          // already gone
        }
      }
      paused = [];
    },
    start: launch,
    stop: () =>
      (stopped ??= (async () => {
        if (child) await stopChild(child, 'SIGQUIT', 5_000);
        fs.rmSync(dir, { recursive: true, force: true });
      })()),
  };
}

/** Pids whose parent is `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the parenthesised command name: state, ppid, ...
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}
