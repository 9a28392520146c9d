// Counters scraped from the servers themselves, before and after a measured window:
//   PostgreSQL: pg_stat_statements (calls per normalized statement, for one database);
//   Redis: INFO stats (commands processed, keyspace hits/misses).
import { Redis } from 'ioredis';
import postgres from 'postgres';

export interface StatementSnapshot {
  total: number;
  byQuery: Map<string, { calls: number; query: string }>;
}

export interface StatementDelta {
  total: number;
  /** The statements that ran most in the window. */
  top: { calls: number; query: string }[];
}

export class PgStats {
  private readonly sql: postgres.Sql;

  /** `adminUrl` is a database where CREATE EXTENSION pg_stat_statements ran; `database` is the one to count. */
  constructor(
    adminUrl: string,
    private readonly database: string,
  ) {
    this.sql = postgres(adminUrl, { max: 1, connect_timeout: 5, onnotice: () => {}, fetch_types: false });
  }

  async install(): Promise<void> {
    await this.sql`create extension if not exists pg_stat_statements`;
  }

  async snapshot(): Promise<StatementSnapshot> {
    const rows = await this.sql<{ queryid: string; calls: string; query: string }[]>`
      select s.queryid::text as queryid, s.calls::text as calls, s.query
      from pg_stat_statements s
      join pg_database d on d.oid = s.dbid
      where d.datname = ${this.database}`;
    const byQuery = new Map<string, { calls: number; query: string }>();
    let total = 0;
    for (const r of rows) {
      const calls = Number(r.calls);
      total += calls;
      // The same queryid can appear once per user and toplevel flag; add them up.
      const prev = byQuery.get(r.queryid);
      byQuery.set(r.queryid, { calls: (prev?.calls ?? 0) + calls, query: r.query });
    }
    return { total, byQuery };
  }

  static delta(before: StatementSnapshot, after: StatementSnapshot, topN = 5): StatementDelta {
    const top: { calls: number; query: string }[] = [];
    for (const [id, a] of after.byQuery) {
      const calls = a.calls - (before.byQuery.get(id)?.calls ?? 0);
      if (calls > 0) top.push({ calls, query: a.query.replace(/\s+/g, ' ').slice(0, 240) });
    }
    top.sort((x, y) => y.calls - x.calls);
    return { total: after.total - before.total, top: top.slice(0, topN) };
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 2 });
  }
}

export interface RedisSnapshot {
  commands: number;
  keyspaceHits: number;
  keyspaceMisses: number;
  usedMemoryBytes: number;
  /** INFO commandstats: calls per command (commands run inside Lua scripts included). */
  calls: Record<string, number>;
  /** INFO commandstats: microseconds spent executing each command (a script's usec includes its inner calls, which count again under their own name). */
  usec: Record<string, number>;
  /** INFO cpu: used_cpu_sys + used_cpu_user of the whole server (main thread and background threads). */
  cpuSeconds: number;
}

export class RedisStats {
  private readonly client: Redis;

  constructor(url: string) {
    this.client = new Redis(url, { maxRetriesPerRequest: 1, connectionName: 'bench-stats', retryStrategy: () => null });
    // Redis may be stopped under it (SIGINT cleanup); commands then fail, no unhandled 'error' events.
    this.client.on('error', () => {});
  }

  async snapshot(): Promise<RedisSnapshot> {
    const info = await this.client.info('all');
    const calls: Record<string, number> = {};
    const usec: Record<string, number> = {};
    for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
      calls[m[1]!] = Number(m[2]);
      usec[m[1]!] = Number(m[3]);
    }
    const num = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
    return {
      commands: num('total_commands_processed'),
      keyspaceHits: num('keyspace_hits'),
      keyspaceMisses: num('keyspace_misses'),
      usedMemoryBytes: num('used_memory'),
      calls,
      usec,
      cpuSeconds: Number(/^used_cpu_sys:([\d.]+)/m.exec(info)?.[1] ?? NaN) + Number(/^used_cpu_user:([\d.]+)/m.exec(info)?.[1] ?? NaN),
    };
  }

  /** Calls per command during a window, most first (the bench's own INFO excluded). */
  static callsDelta(before: RedisSnapshot, after: RedisSnapshot): Record<string, number> {
    const out: [string, number][] = [];
    for (const [name, n] of Object.entries(after.calls)) {
      const d = n - (before.calls[name] ?? 0) - (name === 'info' ? 1 : 0);
      if (d > 0) out.push([name, d]);
    }
    return Object.fromEntries(out.sort((a, b) => b[1] - a[1]));
  }

  /**
   * Microseconds each command spent executing during a window (the bench's INFO excluded). A
   * script's usec already includes the commands it calls, and those count again under their own
   * name, so the sum over all commands is an upper bound on execution time.
   */
  static usecDelta(before: RedisSnapshot, after: RedisSnapshot): Record<string, number> {
    const out: [string, number][] = [];
    for (const [name, n] of Object.entries(after.usec)) {
      const d = n - (before.usec[name] ?? 0);
      if (d > 0 && name !== 'info') out.push([name, d]);
    }
    return Object.fromEntries(out.sort((a, b) => b[1] - a[1]));
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
