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
  /** Runs `SELECT 1`; throws when the database is unreachable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** postgres:// URL; unset selects PGlite. */
  url?: string;
  /** PGlite data directory; 'memory://' for an in-memory database. */
  dataDir?: string;
  /** Connection pool size (postgres.js). Default 10. */
  maxConnections?: number;
  /** Fail a statement that has not started within this many ms of asking for a connection. */
  connectTimeoutSeconds?: number;
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

  if (options.url) {
    const { default: postgres } = await import('postgres');
    const { drizzle } = await import('drizzle-orm/postgres-js');
    const client = postgres(options.url, {
      max: options.maxConnections ?? 10,
      connect_timeout: options.connectTimeoutSeconds ?? 5,
      idle_timeout: 30,
      onnotice: () => {},
      // No per-connection type discovery round trips: we never read array columns,
      // and every statement the counter sees is then one the app asked for.
      fetch_types: false,
      // postgres.js calls debug once per statement written to the socket.
      debug: (_conn, query) => record(query),
    });
    const db = drizzle(client, { schema }) as unknown as Db;
    return {
      db,
      driver: 'postgres',
      stats,
      onStatement,
      ping: async () => {
        await client`select 1`;
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
    return (originalQuery as (...a: unknown[]) => unknown)(q, ...rest);
  }) as typeof client.query;
  client.exec = ((q: string, ...rest: unknown[]) => {
    record(q);
    return (originalExec as (...a: unknown[]) => unknown)(q, ...rest);
  }) as typeof client.exec;
  const db = drizzle(client, { schema }) as unknown as Db;
  return {
    db,
    driver: 'pglite',
    stats,
    onStatement,
    ping: async () => {
      await client.query('select 1');
    },
    close: () => client.close(),
  };
}

/** Rows of a raw `db.execute(sql)` result, whichever driver produced it. */
export async function rows<T>(executor: Executor, query: SQL): Promise<T[]> {
  const result = (await executor.execute(query)) as unknown;
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}
