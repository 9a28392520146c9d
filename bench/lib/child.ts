// Bench-side child processes that talk to the parent over IPC (load clients, subscriber
// clients, http-integrations' servers): `node --import tsx <module>` behind the same setpriv
// parent-death signal as the servers, tracked by services.ts (stopped on exit/error/SIGINT),
// and given a maximum lifetime, so no loop outlives the run that started it.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { exited, stopChild, track, wrapper } from './services.js';

const ROOT = path.resolve(__dirname, '..', '..');

export interface IpcChild<Out> {
  child: ChildProcess;
  send(message: unknown): void;
  /** The next message `accept` returns non-undefined for; rejects on timeout or exit. */
  next<T>(accept: (message: Out) => T | undefined, timeoutMs: number, what: string): Promise<T>;
  on(listener: (message: Out) => void): () => void;
  stop(): Promise<void>;
}

/** Starts `module` (a path to a .ts file) with `args`; its stdout/stderr go to ours. */
export function startIpcChild<Out>(module: string, args: string[], opts: { name: string; maxLifetimeMs: number; env?: NodeJS.ProcessEnv }): IpcChild<Out> {
  const [cmd, ...rest] = [...wrapper({ deathSignal: 'KILL' }), process.execPath, '--import', 'tsx', module, ...args];
  const child = spawn(cmd!, rest, {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, NODE_ENV: 'production', BENCH_CHILD_MAX_LIFETIME_MS: String(opts.maxLifetimeMs), ...opts.env },
  });
  child.on('error', () => {});
  track(child, opts.name, 'SIGTERM');
  const gone = exited(child);
  return {
    child,
    send: (message) => {
      if (child.connected) child.send(message as object);
    },
    on(listener) {
      child.on('message', listener);
      return () => child.off('message', listener);
    },
    next<T>(accept: (message: Out) => T | undefined, timeoutMs: number, what: string): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const onMessage = (m: Out) => {
          const value = accept(m);
          if (value === undefined) return;
          done();
          resolve(value);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${opts.name}: ${what} not within ${timeoutMs} ms`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          child.off('message', onMessage);
        };
        child.on('message', onMessage);
        void gone.then(() => {
          done();
          reject(new Error(`${opts.name} exited (code ${child.exitCode}, signal ${child.signalCode}) before ${what}`));
        });
      });
    },
    stop: () => stopChild(child, 'SIGTERM', 5_000),
  };
}

/**
 * For the child side: leaves when the parent goes (IPC disconnect), on SIGTERM, and after
 * BENCH_CHILD_MAX_LIFETIME_MS whatever happens.
 */
export function childLifetime(onExit?: () => void): void {
  const leave = (code: number) => {
    try {
      onExit?.();
    } finally {
      process.exit(code);
    }
  };
  process.on('disconnect', () => leave(0));
  process.on('SIGTERM', () => leave(0));
  setTimeout(() => leave(2), Number(process.env.BENCH_CHILD_MAX_LIFETIME_MS) || 600_000).unref();
}

/** Sends to the parent (no-op when it has gone). */
export function toParent(message: unknown): void {
  if (process.connected) process.send?.(message as object);
}
