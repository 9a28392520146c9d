// What every scenario shares: the running services, and a measured window around some load
// (SQL statements from pg_stat_statements, Redis commands, server/Redis/load-generator CPU and
// everything else on the machine), so each scenario only says how it drives the load.
import os from 'node:os';
import type { RunningServer } from './servers.js';
import { machineBusySeconds, postgresCpuSeconds, processCpuSeconds } from './services.js';
import { PgStats, RedisStats, type StatementDelta } from './stats.js';

export interface SeedSizes {
  donors: number;
  hospitals: number;
  donations: number;
}

export interface BenchContext {
  duration: number;
  connections: number;
  warmup: number;
  seed: SeedSizes;
  pg: PgStats;
  redisStats: RedisStats;
  redisPid: number | undefined;
  /** The bench's own PostgreSQL postmaster, for its CPU; null when it cannot be read (/proc). */
  postgresPid?: number | null;
  databaseUrl: string;
  redisUrl: string;
  logDir: string;
  runId: string;
}

export interface WindowStats {
  wallSeconds: number;
  sql: StatementDelta | null;
  redisCommands: number | null;
  redisKeyspace: { hits: number; misses: number } | null;
  redisCalls: Record<string, number> | null;
  serverCpuSeconds: number | null;
  redisCpuSeconds: number | null;
  /** PostgreSQL's postmaster and all its children, exited backends included; null without a readable postmaster. */
  postgresCpuSeconds: number | null;
  /** This process plus `extraPids` (load-generator children). */
  loadGeneratorCpuSeconds: number;
  otherCpuCores: number;
  loadAverage1m: { before: number; after: number };
}

/**
 * Runs `load` and measures around it. `lifeline` false (the ceiling) skips the database and
 * Redis counters (as does a ctx without them: http-integrations). `loadPids` are child processes generating load, counted as load generator.
 */
export async function measureWindow<T>(
  ctx: Partial<Pick<BenchContext, 'pg' | 'redisStats' | 'redisPid' | 'postgresPid'>>,
  server: Pick<RunningServer, 'cpuSeconds'>,
  opts: { lifeline: boolean; loadPids?: (number | undefined)[] },
  load: () => Promise<T>,
): Promise<{ result: T; window: WindowStats }> {
  const pgBefore = opts.lifeline && ctx.pg ? await ctx.pg.snapshot() : null;
  const redisBefore = opts.lifeline && ctx.redisStats ? await ctx.redisStats.snapshot() : null;
  const serverCpuBefore = server.cpuSeconds();
  const redisCpuBefore = processCpuSeconds(ctx.redisPid);
  const postgresCpuBefore = opts.lifeline ? postgresCpuSeconds(ctx.postgresPid) : null;
  const loadCpu = () => (opts.loadPids ?? []).reduce<number>((sum, pid) => sum + (processCpuSeconds(pid) ?? 0), 0);
  const childrenBefore = loadCpu();
  const selfBefore = process.cpuUsage();
  const machineBefore = machineBusySeconds();
  const loadBefore = os.loadavg()[0]!;
  const started = process.hrtime.bigint();

  const result = await load();

  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const self = process.cpuUsage(selfBefore);
  const machineBusy = machineBusySeconds() - machineBefore;
  const childrenCpu = loadCpu() - childrenBefore;
  const serverCpuAfter = server.cpuSeconds();
  const redisCpuAfter = processCpuSeconds(ctx.redisPid);
  const postgresCpuAfter = postgresCpuBefore !== null ? postgresCpuSeconds(ctx.postgresPid) : null;
  const pgAfter = pgBefore ? await ctx.pg!.snapshot() : null;
  const redisAfter = redisBefore ? await ctx.redisStats!.snapshot() : null;

  const serverCpu = serverCpuBefore !== null && serverCpuAfter !== null ? serverCpuAfter - serverCpuBefore : null;
  const redisCpu = redisCpuBefore !== null && redisCpuAfter !== null ? redisCpuAfter - redisCpuBefore : null;
  const loadGen = (self.user + self.system) / 1e6 + childrenCpu;
  const postgresCpu = postgresCpuBefore !== null && postgresCpuAfter !== null ? postgresCpuAfter - postgresCpuBefore : null;
  return {
    result,
    window: {
      wallSeconds,
      sql: pgBefore && pgAfter ? PgStats.delta(pgBefore, pgAfter, 8) : null,
      // The INFO of the "before" snapshot itself is one command.
      redisCommands: redisBefore && redisAfter ? redisAfter.commands - redisBefore.commands - 1 : null,
      redisKeyspace:
        redisBefore && redisAfter
          ? { hits: redisAfter.keyspaceHits - redisBefore.keyspaceHits, misses: redisAfter.keyspaceMisses - redisBefore.keyspaceMisses }
          : null,
      redisCalls: redisBefore && redisAfter ? RedisStats.callsDelta(redisBefore, redisAfter) : null,
      serverCpuSeconds: serverCpu,
      redisCpuSeconds: redisCpu,
      postgresCpuSeconds: postgresCpu,
      loadGeneratorCpuSeconds: loadGen,
      otherCpuCores: Math.max(0, machineBusy - (serverCpu ?? 0) - loadGen - (redisCpu ?? 0) - (postgresCpu ?? 0)) / wallSeconds,
      loadAverage1m: { before: loadBefore, after: os.loadavg()[0]! },
    },
  };
}

// ---- formatting shared by the scenario tables ------------------------------------------------

// null and NaN print as "–": a summary of no samples (NaN) arrives as null through IPC (JSON).
export const fmt = (n: number | null, digits = 0) =>
  n === null || !Number.isFinite(n) ? '–' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
export const ms = (n: number | null) => (n !== null && Number.isInteger(n) ? fmt(n) : fmt(n, 1));
export const kib = (bytes: number) => `${fmt(bytes / 1024, 1)} KiB`;

/** A target from issue 6, as a ratio measured in one run. */
export interface Target {
  scenario: string;
  target: string;
  measured: string;
  pass: boolean | null;
}

export const passMark = (pass: boolean | null) => (pass === null ? 'n/a' : pass ? 'PASS' : 'FAIL');
