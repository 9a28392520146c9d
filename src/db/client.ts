// Two drivers behind one interface: postgres.js when DATABASE_URL is set,
// embedded PGlite otherwise. Both speak the same drizzle dialect, so every
// query and migration is shared; only `rows()` smooths over result shapes.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import * as schema from './schema.js';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
/** A transaction handle has the same query surface as the database. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type Executor = Db | Tx;

export interface DatabaseStats {
  /** SQL statements sent to the server since start (what /metrics and the batching tests count). */
  statements: number;
}

export interface Database {
  db: Db;
  driver: 'postgres' | 'pglite';
  stats: DatabaseStats;
  /** Called for every statement sent to the server. Returns an unsubscribe function. */
  onStatement(listener: (sqlText: string) => void): () => void;
  /** Called when a statement the app issued settles, with its duration in s (metrics). Returns an unsubscribe function. */
  onStatementEnd(listener: (seconds: number, ok: boolean) => void): () => void;
  /** The connection pool now (postgres driver; absent for PGlite): see poolStats. */
  pool?: () => { max: number; inUse: number; waiting: number };
  /** Runs `SELECT 1`; throws when the database is unreachable. */
  ping(): Promise<void>;
  /**
   * LISTEN on a channel (its own connection with postgres.js, re-established after a drop; then
   * `onListen` runs again, since notifications sent meanwhile are lost). Resolves to unlisten.
   */
  listen(channel: string, onNotify: (payload: string) => void, onListen?: () => void): Promise<() => Promise<void>>;
  /**
   * Runs fn while holding a database-wide lock, so instances and workers starting together
   * migrate and seed one after another, not over each other. (PGlite has one process.)
   */
  withStartupLock<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** pg_advisory_lock key of the start-up work (migrations, demo seed); any constant no one else uses. */
const STARTUP_LOCK_KEY = 0x11fe11e;

export interface DatabaseOptions {
  /** postgres:// URL; unset selects PGlite. */
  url?: string;
  /** PGlite data directory; 'memory://' for an in-memory database. */
  dataDir?: string;
  /** Connection pool size (postgres.js). Default 10. */
  maxConnections?: number;
  /** Give up connecting to the server after this many seconds. Default 3, so a request fails fast when PostgreSQL is down. */
  connectTimeoutSeconds?: number;
  /** Server-side statement_timeout in ms (postgres.js only); 0 = none. Default 0. */
  statementTimeoutMs?: number;
}

export async function createDatabase(options: DatabaseOptions): Promise<Database> {
  const stats: DatabaseStats = { statements: 0 };
  const listeners = new Set<(sqlText: string) => void>();
  const record = (sqlText: string) => {
    stats.statements++;
    for (const l of listeners) l(sqlText);
  };
  const onStatement = (l: (sqlText: string) => void) => {
    listeners.add(l);
    return () => listeners.delete(l);
  };
  // Statement durations (for /metrics): from the driver call to its result or error.
  const endListeners = new Set<(seconds: number, ok: boolean) => void>();
  const onStatementEnd = (l: (seconds: number, ok: boolean) => void) => {
    endListeners.add(l);
    return () => endListeners.delete(l);
  };
  const timed = (pending: PromiseLike<unknown>) => {
    if (!endListeners.size) return;
    const started = performance.now();
    const end = (ok: boolean) => () => {
      const seconds = (performance.now() - started) / 1000;
      for (const l of endListeners) l(seconds, ok);
    };
    // Promise.prototype.then, not the driver's own then(): observing must not start or change the query.
    Promise.prototype.then.call(pending, end(true), end(false));
  };

  if (options.url) {
    const { default: postgres } = await import('postgres');
    const { drizzle } = await import('drizzle-orm/postgres-js');
    const client = postgres(options.url, {
      max: options.maxConnections ?? 10,
      connect_timeout: options.connectTimeoutSeconds ?? 3,
      idle_timeout: 30,
      // Issue 5: after failed connects postgres.js backs off up to 20 s, and requests queued for a
      // connection wait that long while PostgreSQL is down. At most 1 s: they fail fast instead.
      backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
      // A statement stuck behind a lock or a runaway plan is cancelled by the server (57014 → SERVICE_UNAVAILABLE).
      ...(options.statementTimeoutMs ? { connection: { statement_timeout: options.statementTimeoutMs } } : {}),
      onnotice: () => {},
      // No per-connection type discovery round trips: we never read array columns,
      // and every statement the counter sees is then one the app asked for.
      fetch_types: false,
      // postgres.js calls debug once per statement written to the socket.
      debug: (_conn, query) => record(query),
    });
    timeStatements(client, timed);
    const max = options.maxConnections ?? 10;
    const pool = poolStats(client, max);
    const db = drizzle(client, { schema }) as unknown as Db;
    return {
      db,
      driver: 'postgres',
      pool,
      stats,
      onStatement,
      onStatementEnd,
      ping: async () => {
        await client`select 1`;
      },
      async listen(channel, onNotify, onListen) {
        const { unlisten } = await client.listen(channel, onNotify, onListen);
        return unlisten;
      },
      async withStartupLock(fn) {
        // A transaction-scoped lock on one connection while the work runs on the others; it is
        // released when the transaction ends, or by the server if this process dies.
        let result!: Awaited<ReturnType<typeof fn>>;
        await client.begin(async (tx) => {
          // Waiting for another instance's seed may take longer than a request may.
          await tx`set local statement_timeout = 0`;
          await tx`select pg_advisory_xact_lock(${STARTUP_LOCK_KEY})`;
          result = await fn();
        });
        return result;
      },
      close: () => client.end({ timeout: 5 }),
    };
  }

  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const dataDir = options.dataDir ?? '.data/pglite';
  if (!dataDir.startsWith('memory://')) mkdirSync(path.resolve(dataDir), { recursive: true });
  const client = new PGlite(dataDir);
  await client.waitReady;
  // PGlite runs in process; count statements at its query entry points instead of on a socket.
  const originalQuery = client.query.bind(client);
  const originalExec = client.exec.bind(client);
  client.query = ((q: string, ...rest: unknown[]) => {
    record(q);
    const pending = (originalQuery as (...a: unknown[]) => Promise<unknown>)(q, ...rest);
    timed(pending);
    return pending;
  }) as typeof client.query;
  client.exec = ((q: string, ...rest: unknown[]) => {
    record(q);
    const pending = (originalExec as (...a: unknown[]) => Promise<unknown>)(q, ...rest);
    timed(pending);
    return pending;
  }) as typeof client.exec;
  const db = drizzle(client, { schema }) as unknown as Db;
  return {
    db,
    driver: 'pglite',
    stats,
    onStatement,
    onStatementEnd,
    ping: async () => {
      await client.query('select 1');
    },
    async listen(channel, onNotify, onListen) {
      const unlisten = await client.listen(channel, onNotify);
      onListen?.();
      return unlisten;
    },
    withStartupLock: (fn) => fn(),
    close: () => client.close(),
  };
}

/**
 * Times every statement drizzle issues through postgres.js (for /metrics). postgres.js has
 * no completion hook, so `unsafe()` (drizzle's one entry point) is wrapped on the client and on
 * the client of every transaction and savepoint, which postgres.js creates per scope.
 */
function timeStatements(sql: PgSql, timed: (pending: PromiseLike<unknown>) => void): void {
  const unsafe = sql.unsafe;
  sql.unsafe = ((...args: Parameters<PgSql['unsafe']>) => {
    const query = unsafe.apply(sql, args);
    timed(query);
    return query;
  }) as PgSql['unsafe'];
  // begin(fn) / begin(options, fn) and savepoint(fn) / savepoint(name, fn) hand fn a new client.
  for (const method of ['begin', 'savepoint'] as const) {
    const original = (sql as unknown as Record<string, ((...a: unknown[]) => unknown) | undefined>)[method];
    if (typeof original !== 'function') continue;
    (sql as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      const fn = args[args.length - 1];
      if (typeof fn === 'function') {
        args[args.length - 1] = (tx: PgSql) => {
          timeStatements(tx, timed);
          return (fn as (tx: PgSql) => unknown)(tx);
        };
      }
      return original.apply(sql, args);
    };
  }
}
type PgSql = import('postgres').Sql;

/**
 * Pool occupancy for /metrics. postgres.js keeps its queues private, so the pool is counted from
 * outside: every top-level statement and every transaction holds one connection from its start
 * until it settles (statements inside a transaction use the transaction's). Past `max` of them,
 * the rest wait for a connection. (Counted from the driver call, so a statement being written or
 * connecting counts as in use.)
 */
function poolStats(sql: PgSql, max: number): () => { max: number; inUse: number; waiting: number } {
  let holding = 0;
  const hold = <T>(pending: T): T => {
    holding++;
    let released = false;
    const release = () => {
      if (!released) holding--;
      released = true;
    };
    Promise.prototype.then.call(pending as PromiseLike<unknown>, release, release);
    return pending;
  };
  const s = sql as unknown as Record<string, (...a: unknown[]) => unknown>;
  const unsafe = s.unsafe!;
  const begin = s.begin!;
  // Wrapped after timeStatements, so these see the timed versions and the counts include them.
  s.unsafe = (...args: unknown[]) => hold(unsafe.apply(sql, args));
  s.begin = (...args: unknown[]) => hold(begin.apply(sql, args));
  return () => ({ max, inUse: Math.min(holding, max), waiting: Math.max(0, holding - max) });
}

/** Rows of a raw `db.execute(sql)` result, whichever driver produced it. */
export async function rows<T>(executor: Executor, query: SQL): Promise<T[]> {
  const result = (await executor.execute(query)) as unknown;
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}
