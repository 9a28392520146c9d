// The `writes` scenario: SQL statements per write, outbox row included, next to what the same
// write cost when each step was a statement of its own (BEGIN, the old row's lookup, the write,
// the commit-order read, the outbox INSERT, COMMIT). One full-cache Lifeline, the demo staff account, a bounded number of
// each mutation run one after another (so nothing else sends statements meanwhile), and per
// mutation: the delta of the server's own SQL statement counter on /metrics (the request pool's
// statements: the relay polls on a pool of its own, which the counter does not see) divided by
// the writes, and how many outbox rows they inserted (one per write, inside its statement).
//
// The counter has no label for the kind of statement, so the outbox's share is read from
// PostgreSQL: how far cache_invalidations' id sequence advanced. Each outbox INSERT takes exactly
// one id (one row per write), and nextval is counted at once, whereas pg_stat_user_tables'
// n_tup_ins is flushed by the backends lazily (up to seconds later) and would need waiting for.
import path from 'node:path';
import fs from 'node:fs';
import postgres from 'postgres';
import { DEMO_ACCOUNTS } from '../../src/db/seed.js';
import { Redis } from 'ioredis';
import { GqlClient, login } from './http-client.js';
import { logProblems, startLifeline } from './servers.js';
import { delay, HOST } from './services.js';
import { RedisStats, type RedisSnapshot } from './stats.js';
import { fmt, type BenchContext } from './window.js';

export const WRITES_DESCRIPTION = 'SQL statements per write (updateDonor, adjustInventory, createBloodRequest), outbox row included, now and when each step was a statement';

/**
 * Statements per write when each step was a statement of its own, outbox INSERT included
 * (measured by this scenario before the writes became one statement each).
 */
export const STATEMENTS_PER_WRITE_BEFORE: Record<string, number> = { updateDonor: 5, adjustInventory: 6, createBloodRequest: 6 };

/** How many of each mutation: enough for a stable mean, few enough to take seconds. */
export const WRITES_PER_MUTATION = 200;

export interface WritesRow {
  mutation: string;
  writes: number;
  /** Server SQL statement counter delta / writes. */
  statementsPerWrite: number;
  /** Outbox rows / writes (1 when every write records its invalidation). */
  outboxPerWrite: number;
  /** What the same write cost with one statement per step (STATEMENTS_PER_WRITE_BEFORE). */
  beforePerWrite: number;
  errors: number;
  errorExamples: string[];
  seconds: number;
  /** Redis commands executed per write (INFO commandstats delta, calls inside Lua scripts included), idle background subtracted. */
  redisCommandsPerWrite: number;
  /** Redis round trips per write: top-level commands the app sent (MONITOR over a separate sample of writes; Lua-internal calls excluded). */
  redisRoundTripsPerWrite: number;
  /** The commands those round trips were, per write. */
  redisRoundTrips: Record<string, number>;
  /** Calls per command during the measured writes (Lua-internal included), per write. */
  redisCallsPerWrite: Record<string, number>;
  /** Redis server CPU per write (INFO cpu used_cpu_sys + used_cpu_user delta), idle background subtracted, µs. */
  redisCpuMicrosPerWrite: number;
  /** Execution time per write from INFO commandstats usec: scripts (eval/evalsha, their inner calls included) and every other command, µs. */
  redisScriptUsecPerWrite: number;
  redisOtherUsecPerWrite: number;
}

/** Writes in the MONITOR sample: MONITOR slows Redis down, so it runs apart from the measured writes. */
const MONITOR_SAMPLE = 20;

/** Redis's own activity with no request in flight (the app's lease probes, metrics INFO), per second. */
interface Background {
  commandsPerSecond: number;
  cpuSecondsPerSecond: number;
}

async function background(stats: RedisStats, seconds: number): Promise<Background> {
  const a = await stats.snapshot();
  const started = performance.now();
  await delay(seconds * 1000);
  const b = await stats.snapshot();
  const wall = (performance.now() - started) / 1000;
  const commands = Object.values(RedisStats.callsDelta(a, b)).reduce((x, y) => x + y, 0);
  return { commandsPerSecond: commands / wall, cpuSecondsPerSecond: (b.cpuSeconds - a.cpuSeconds) / wall };
}

/** Top-level commands (not Lua-internal, not the monitor's own) per command name while `run` runs. */
async function monitorTopLevel(redisUrl: string, run: () => Promise<void>): Promise<Record<string, number>> {
  const client = new Redis(redisUrl, { maxRetriesPerRequest: 1, connectionName: 'bench-monitor', retryStrategy: () => null });
  client.on('error', () => {});
  const counts: Record<string, number> = {};
  const monitor = await client.monitor();
  monitor.on('error', () => {});
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source === 'lua' || !args[0]) return;
    const name = args[0].toLowerCase();
    counts[name] = (counts[name] ?? 0) + 1;
  });
  try {
    await run();
    // MONITOR lines trail the replies a little.
    await delay(300);
  } finally {
    monitor.disconnect();
    client.disconnect();
  }
  // The app's background probes (lease, metrics) in the sample are left in: a few per second.
  return counts;
}

interface Mutation {
  name: string;
  query: string;
  variables(i: number, seed: BenchContext['seed']): Record<string, unknown>;
}

// Ids from the seed's ranges; each write changes something (a city, a unit, a new request), so
// none is a no-op the server might skip.
const MUTATIONS: Mutation[] = [
  {
    name: 'updateDonor',
    query: 'mutation ($id: ID!, $c: String!) { updateDonor(id: $id, input: { city: $c }) { id city } }',
    variables: (i, seed) => ({ id: String(1 + (i % seed.donors)), c: `Bench-${i}` }),
  },
  {
    name: 'adjustInventory',
    query: 'mutation ($h: ID!) { adjustInventory(hospitalId: $h, bloodGroup: O_POS, delta: 1) { units } }',
    variables: (i, seed) => ({ h: String(1 + (i % seed.hospitals)) }),
  },
  {
    name: 'createBloodRequest',
    query: 'mutation ($h: ID!) { createBloodRequest(input: { hospitalId: $h, bloodGroup: A_POS, unitsNeeded: 2, urgency: URGENT }) { id } }',
    variables: (i, seed) => ({ h: String(1 + (i % seed.hospitals)) }),
  },
];

/** lifeline_sql_statements_total from the server's /metrics. */
async function sqlStatements(port: number): Promise<number> {
  const res = await fetch(`http://${HOST}:${port}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (res.status !== 200) throw new Error(`GET /metrics: HTTP ${res.status}`);
  const text = await res.text();
  let total: number | null = null;
  for (const line of text.split('\n')) {
    const m = /^lifeline_sql_statements_total(?:\{[^}]*\})? (\S+)$/.exec(line);
    if (m) total = (total ?? 0) + Number(m[1]);
  }
  if (total === null) throw new Error('GET /metrics has no lifeline_sql_statements_total');
  return total;
}

/** The last id cache_invalidations' sequence handed out (0 before the first). */
async function outboxIds(sql: postgres.Sql): Promise<number> {
  const [row] = await sql<{ last: string | null }[]>`SELECT pg_sequence_last_value(pg_get_serial_sequence('cache_invalidations', 'id')) AS last`;
  return Number(row?.last ?? 0);
}

export async function runWrites(ctx: BenchContext, perMutation = WRITES_PER_MUTATION): Promise<{ rows: WritesRow[]; warnings: string[]; markdown: string; targets: [] }> {
  const logFile = path.join(ctx.logDir, 'writes-full.log');
  fs.writeFileSync(logFile, '');
  const server = await startLifeline({ databaseUrl: ctx.databaseUrl, redisUrl: ctx.redisUrl, cacheMode: 'full', cachePrefix: `bench${ctx.runId}-writes:` }, logFile);
  const sql = postgres(ctx.databaseUrl, { max: 1, onnotice: () => {} });
  const http = new GqlClient(server.port, 1);
  const rows: WritesRow[] = [];
  const warnings: string[] = [];
  try {
    const token = await login(http, DEMO_ACCOUNTS.staff.email, DEMO_ACCOUNTS.staff.password);
    process.stderr.write(`  writes / full: port ${server.port}, ${perMutation} of each mutation, one at a time\n`);
    for (const mutation of MUTATIONS) {
      // One unmeasured write first: prepared statements and pool connections are not a write's cost.
      await http.data(mutation.query, mutation.variables(perMutation, ctx.seed), token);
      // Round trips from a MONITORed sample of its own (ids past the measured ones' range start).
      const sample = await monitorTopLevel(ctx.redisUrl, async () => {
        for (let i = 0; i < MONITOR_SAMPLE; i++) await http.post(mutation.query, mutation.variables(perMutation + 1 + i, ctx.seed), token);
      });
      // Let the sample's invalidations settle, then Redis's idle rate (subtracted from the window).
      await delay(500);
      const idle = await background(ctx.redisStats, 1);
      const redis0: RedisSnapshot = await ctx.redisStats.snapshot();
      const statements0 = await sqlStatements(server.port);
      const ids0 = await outboxIds(sql);
      const started = performance.now();
      let errors = 0;
      const errorExamples: string[] = [];
      for (let i = 0; i < perMutation; i++) {
        const r = await http.post(mutation.query, mutation.variables(i, ctx.seed), token);
        if (r.status !== 200 || !r.json?.data || r.json.errors?.length) {
          errors++;
          if (errorExamples.length < 5) errorExamples.push(`HTTP ${r.status}: ${JSON.stringify(r.json?.errors ?? r.json).slice(0, 200)}`);
        }
      }
      const seconds = (performance.now() - started) / 1000;
      const statements = (await sqlStatements(server.port)) - statements0;
      const outbox = (await outboxIds(sql)) - ids0;
      // Some Redis work may follow a write's reply (Pub/Sub delivery, the outbox relay's round): let the last write's land.
      await delay(500);
      const redis1 = await ctx.redisStats.snapshot();
      const redisSeconds = seconds + 0.5;
      const calls = RedisStats.callsDelta(redis0, redis1);
      const usec = RedisStats.usecDelta(redis0, redis1);
      const totalCalls = Object.values(calls).reduce((x, y) => x + y, 0) - idle.commandsPerSecond * redisSeconds;
      const scriptUsec = (usec.evalsha ?? 0) + (usec.eval ?? 0) + (usec.fcall ?? 0);
      const otherUsec = Object.values(usec).reduce((x, y) => x + y, 0) - scriptUsec;
      const roundTrips = Object.values(sample).reduce((x, y) => x + y, 0);
      const row: WritesRow = {
        mutation: mutation.name,
        writes: perMutation,
        statementsPerWrite: statements / perMutation,
        outboxPerWrite: outbox / perMutation,
        beforePerWrite: STATEMENTS_PER_WRITE_BEFORE[mutation.name]!,
        errors,
        errorExamples,
        seconds,
        redisCommandsPerWrite: Math.max(0, totalCalls) / perMutation,
        redisRoundTripsPerWrite: roundTrips / MONITOR_SAMPLE,
        redisRoundTrips: Object.fromEntries(Object.entries(sample).map(([k, v]) => [k, v / MONITOR_SAMPLE])),
        redisCallsPerWrite: Object.fromEntries(Object.entries(calls).map(([k, v]) => [k, v / perMutation])),
        redisCpuMicrosPerWrite: (Math.max(0, redis1.cpuSeconds - redis0.cpuSeconds - idle.cpuSecondsPerSecond * redisSeconds) * 1e6) / perMutation,
        redisScriptUsecPerWrite: scriptUsec / perMutation,
        redisOtherUsecPerWrite: otherUsec / perMutation,
      };
      rows.push(row);
      if (errors) warnings.push(`${mutation.name}: ${errors} failed writes: ${errorExamples.join(' | ')}`);
      process.stderr.write(
        `    ${mutation.name}: ${fmt(row.statementsPerWrite, 2)} statements/write (was ${fmt(row.beforePerWrite, 2)}; ${fmt(row.outboxPerWrite, 2)} outbox rows/write), ${fmt(perMutation / seconds)} writes/s; ` +
          `Redis ${fmt(row.redisCommandsPerWrite, 1)} cmds/write (${fmt(row.redisRoundTripsPerWrite, 1)} round trips: ${JSON.stringify(row.redisRoundTrips)}), ` +
          `${fmt(row.redisCpuMicrosPerWrite)} µs CPU/write (commandstats: scripts ${fmt(row.redisScriptUsecPerWrite)} µs, other ${fmt(row.redisOtherUsecPerWrite)} µs); calls ${JSON.stringify(row.redisCallsPerWrite)}\n`,
      );
    }
  } finally {
    http.close();
    await sql.end({ timeout: 5 }).catch(() => {});
    await server.stop();
  }
  const problems = logProblems(logFile);
  if (problems.count) warnings.push(`${problems.count} warn/error log lines: ${problems.samples.join(' | ')}`);
  return { rows, warnings, markdown: writesTable(rows), targets: [] };
}

function writesTable(rows: WritesRow[]): string {
  const lines = [
    '| mutation (CACHE_MODE=full) | writes | SQL statements/write, outbox row included | before (a statement per step) | outbox rows/write | writes/s (one at a time) | Redis cmds/write (Lua-internal incl.) | Redis round trips/write | Redis CPU µs/write | commandstats µs/write (scripts / other) | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.mutation} | ${fmt(r.writes)} | ${fmt(r.statementsPerWrite, 2)} | ${fmt(r.beforePerWrite, 2)} | ${fmt(r.outboxPerWrite, 2)} | ${fmt(r.writes / r.seconds)} | ` +
        `${fmt(r.redisCommandsPerWrite, 1)} | ${fmt(r.redisRoundTripsPerWrite, 1)} | ${fmt(r.redisCpuMicrosPerWrite)} | ${fmt(r.redisScriptUsecPerWrite)} / ${fmt(r.redisOtherUsecPerWrite)} | ${r.errors} |`,
    );
  }
  return `${lines.join('\n')}\n\nStatements counted by the server (lifeline_sql_statements_total, the request pool only); outbox rows from cache_invalidations' id sequence; "before" is what each write cost with a statement per step. ` +
    `Redis: commands and CPU (INFO commandstats, INFO cpu) over the measured writes plus 0.5 s for work that follows the last reply, Redis's idle rate subtracted; ` +
    `round trips are the top-level commands MONITOR saw over ${MONITOR_SAMPLE} further writes (the app's background probes included).`;
}
