// The `mixed` scenario: 95% reads over Zipf-skewed keys, 5% mutations with
// invalidation on, per cache mode, driven by bench/lib/mixed-client.ts in its own process
// (see there for the workload and how stale reads are detected). With the full cache among the
// modes, one more run puts two full-cache instances (one cache prefix, one Redis, one
// PostgreSQL) behind the client, which alternates over them, so stale reads across instances
// are checked too.
//
// Per run, over the measured window: req/s and latency percentiles (client-side, reads and
// writes together, plus read and write p99); the hit ratio as reads served without PostgreSQL
// (bench/lib/served-from.ts) next to the response cache's own x-cache HIT ratio; SQL statements
// per request (pg_stat_statements); PostgreSQL CPU per 1,000 requests (the postmaster and all
// its children, from /proc); stale reads over checked reads; Redis commands, server CPU and the
// rest of the machine's CPU as before.
import fs from 'node:fs';
import path from 'node:path';
import { DEMO_ACCOUNTS } from '../../src/db/seed.js';
import { startIpcChild } from './child.js';
import { GqlClient, login, type Summary } from './http-client.js';
import type { MixedMessage, MixedPrime, MixedResult, MixedRun, MixedStart } from './mixed-client.js';
import { servedWithoutSql } from './served-from.js';
import { logProblems, startLifeline, type RunningServer } from './servers.js';
import { fmt, measureWindow, ms, type BenchContext, type Target } from './window.js';

export const MIXED_DESCRIPTION =
  '95% reads (40% availability, 25% hospital+inventory, 25% donor, 10% bloodRequests; Zipf s=1.0 within each), ' +
  '5% writes (adjustInventory +1, updateDonor), invalidation on, stale reads checked; with a cache, every key read once before the warm-up (steady state)';

export interface MixedRow {
  scenario: 'mixed';
  mode: 'off' | 'entity' | 'full';
  /** Lifeline instances sharing the one Redis and PostgreSQL; the load client alternates over them. */
  instances: number;
  /** The row's name in the table: the mode, and the instance count when more than one. */
  label: string;
  requestsPerSecond: number;
  latencyMs: Summary;
  readLatencyMs: Summary;
  writeLatencyMs: Summary;
  requests: number;
  reads: number;
  writes: number;
  /**
   * Reads served without PostgreSQL / reads (the targets' hit ratio): x-cache HIT, plus reads
   * whose Server-Timing `sql` metric says no database fetch and that did not wait for another
   * request's fill (Cache-Status `collapsed`). See bench/lib/served-from.ts.
   */
  hitRatio: number;
  /** x-cache HIT / reads; null when the server never answered HIT or MISS (no response cache: BYPASS). */
  responseCacheHitRatio: number | null;
  /** Reads by origin: hit, no-sql, collapsed, sql, unknown (no Server-Timing `sql` metric). */
  readOrigin: MixedResult['readOrigin'];
  readOriginByKind: MixedResult['readOriginByKind'];
  /** Reads that carried the Server-Timing `sql` metric; 0 means only x-cache HIT could count. */
  timedReads: number;
  readXCache: Record<string, number>;
  readsByKind: Record<string, number>;
  readXCacheByKind: Record<string, Record<string, number>>;
  readsByInstance: number[];
  sqlPerRequest: number | null;
  topStatements: { calls: number; query: string }[];
  /** CPU of the PostgreSQL postmaster and all its children during the window; null when /proc cannot tell. */
  postgresCpuSeconds: number | null;
  postgresCpuSecondsPer1kRequests: number | null;
  redisCommandsPerRequest: number | null;
  staleReads: number;
  /** Including the warm-up phase. */
  staleReadsAllPhases: number;
  checkedReadsAllPhases: number;
  checkedReads: number;
  /** Checked reads (window) that had to reflect a write another instance acknowledged. */
  crossInstanceChecked: number;
  crossInstanceStaleAllPhases: number;
  staleExamples: MixedResult['staleExamples'];
  errors: number;
  errorExamples: string[];
  /** All instances together. */
  serverCpuMicrosPerRequest: number | null;
  loadGeneratorCpuCores: number;
  otherCpuCores: number;
  loadAverage1m: { before: number; after: number };
  serverLogProblems: { count: number; samples: string[] };
}

const MIXED_CONCURRENCY = 32;
/**
 * The warm-up runs the workload itself for at least this long after the prime pass (which reads
 * every key once), so the measured window shows the steady state: misses from invalidation and
 * from expiry (stock lives 10 s), in every mode alike.
 */
const MIN_WARMUP_SECONDS = 10;
/** The prime pass's bound: every key once (10,300 reads with the default seed) takes ~5-20 s on 2 cores. */
const PRIME_SECONDS = 40;
const MAX_REQUESTS_PER_SECOND = 50_000; // a bound on the loop count, far above what 2 cores serve

const labelOf = (mode: MixedRow['mode'], instances: number) => (instances > 1 ? `${mode}, ${instances} instances` : mode);
const logName = (mode: MixedRow['mode'], instances: number, i: number) => (instances > 1 ? `mixed-${mode}-x${instances}-${i + 1}.log` : `mixed-${mode}.log`);

/** Starts `instances` Lifelines with one cache prefix (so they share the cache, as a deployment would); stops the started ones if any fails. */
async function startInstances(ctx: BenchContext, mode: MixedRow['mode'], instances: number): Promise<RunningServer[]> {
  const cachePrefix = `bench${ctx.runId}-mixed-${mode}${instances > 1 ? `-x${instances}` : ''}:`;
  const started = await Promise.allSettled(
    Array.from({ length: instances }, (_, i) => {
      const logFile = path.join(ctx.logDir, logName(mode, instances, i));
      fs.writeFileSync(logFile, '');
      return startLifeline({ databaseUrl: ctx.databaseUrl, redisUrl: ctx.redisUrl, cacheMode: mode, cachePrefix }, logFile);
    }),
  );
  const servers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failure = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) {
    await Promise.all(servers.map((s) => s.stop()));
    throw failure.reason;
  }
  return servers;
}

export async function runMixedMode(ctx: BenchContext, mode: MixedRow['mode'], instances = 1): Promise<MixedRow> {
  const warmup = Math.max(ctx.warmup, MIN_WARMUP_SECONDS);
  const label = labelOf(mode, instances);
  const servers = await startInstances(ctx, mode, instances);
  const client = startIpcChild<MixedMessage>(path.join(__dirname, 'mixed-client.ts'), [], {
    name: `mixed-client(${label})`,
    maxLifetimeMs: (PRIME_SECONDS + warmup + ctx.duration) * 1000 + 120_000,
  });
  const failed = (m: MixedMessage) => (m.type === 'error' ? new Error(`mixed client: ${m.message}`) : undefined);
  const expect = <T>(accept: (m: MixedMessage) => T | undefined, timeoutMs: number, what: string) =>
    client.next<T | Error>((m) => failed(m) ?? accept(m), timeoutMs, what).then((v) => {
      if (v instanceof Error) throw v;
      return v;
    });
  try {
    const http = new GqlClient(servers[0]!.port, 1);
    const token = await login(http, DEMO_ACCOUNTS.staff.email, DEMO_ACCOUNTS.staff.password);
    http.close();
    const ports = servers.map((s) => s.port);
    client.send({
      type: 'start',
      ports,
      token,
      concurrency: MIXED_CONCURRENCY,
      donors: ctx.seed.donors,
      zipfS: 1.0,
      writeShare: 0.05,
      seed: 6,
    } satisfies MixedStart);
    const ready = await expect((m) => (m.type === 'ready' ? m : undefined), 30_000, 'ready');
    process.stderr.write(
      `  mixed / ${label}: port${ports.length > 1 ? 's' : ''} ${ports.join(', ')}, ${ready.hospitals} hospitals in ${ready.regions.length} regions; ` +
        `warm-up ${warmup}s, measure ${ctx.duration}s x ${MIXED_CONCURRENCY} loops\n`,
    );
    const run = (phase: string, seconds: number) => {
      client.send({ type: 'run', phase, seconds, maxRequests: seconds * MAX_REQUESTS_PER_SECOND } satisfies MixedRun);
      return expect((m) => (m.type === 'result' && m.phase === phase ? m : undefined), seconds * 1000 + 30_000, `${phase} result`);
    };
    // With a cache, the steady state of a deployment that has run a while (see prime() in
    // mixed-client.ts); with none there is nothing to prime.
    if (mode !== 'off') {
      client.send({ type: 'prime', seconds: PRIME_SECONDS } satisfies MixedPrime);
      const primed = await expect((m) => (m.type === 'primed' ? m : undefined), PRIME_SECONDS * 1000 + 30_000, 'primed');
      process.stderr.write(`    primed: every key read once (${fmt(primed.reads)} reads in ${primed.seconds.toFixed(1)} s)\n`);
    }
    const warm = await run('warm-up', warmup);
    // Every instance's CPU together: the row is the deployment, not one process.
    const allServers = {
      cpuSeconds: () => {
        let sum = 0;
        for (const s of servers) {
          const c = s.cpuSeconds();
          if (c === null) return null;
          sum += c;
        }
        return sum;
      },
    };
    const { result: r, window } = await measureWindow(ctx, allServers, { lifeline: true, loadPids: [client.child.pid] }, () => run('measure', ctx.duration));
    const answeredHit = 'HIT' in r.readXCache || 'MISS' in r.readXCache;
    return {
      scenario: 'mixed',
      mode,
      instances,
      label,
      requestsPerSecond: r.requestsPerSecond,
      latencyMs: r.latencyMs,
      readLatencyMs: r.readLatencyMs,
      writeLatencyMs: r.writeLatencyMs,
      requests: r.requests,
      reads: r.reads,
      writes: r.writes,
      hitRatio: r.reads ? servedWithoutSql(r.readOrigin) / r.reads : 0,
      responseCacheHitRatio: answeredHit && r.reads ? (r.readXCache.HIT ?? 0) / r.reads : null,
      readOrigin: r.readOrigin,
      readOriginByKind: r.readOriginByKind,
      timedReads: r.timedReads,
      readXCache: r.readXCache,
      readsByKind: r.readsByKind,
      readXCacheByKind: r.readXCacheByKind,
      readsByInstance: r.readsByInstance,
      sqlPerRequest: window.sql && r.requests ? window.sql.total / r.requests : null,
      topStatements: window.sql?.top ?? [],
      postgresCpuSeconds: window.postgresCpuSeconds,
      postgresCpuSecondsPer1kRequests: window.postgresCpuSeconds !== null && r.requests ? (1000 * window.postgresCpuSeconds) / r.requests : null,
      redisCommandsPerRequest: window.redisCommands !== null && r.requests ? window.redisCommands / r.requests : null,
      staleReads: r.staleReads,
      staleReadsAllPhases: r.staleReads + (warm?.staleReads ?? 0),
      checkedReadsAllPhases: r.checkedReads + (warm?.checkedReads ?? 0),
      checkedReads: r.checkedReads,
      crossInstanceChecked: r.crossInstanceChecked,
      crossInstanceStaleAllPhases: r.crossInstanceStale + (warm?.crossInstanceStale ?? 0),
      staleExamples: [...r.staleExamples, ...(warm?.staleExamples ?? [])].slice(0, 20),
      errors: r.errors + (warm?.errors ?? 0),
      errorExamples: [...r.errorExamples, ...(warm?.errorExamples ?? [])].slice(0, 10),
      serverCpuMicrosPerRequest: window.serverCpuSeconds !== null && r.requests ? (window.serverCpuSeconds * 1e6) / r.requests : null,
      loadGeneratorCpuCores: window.loadGeneratorCpuSeconds / window.wallSeconds,
      otherCpuCores: window.otherCpuCores,
      loadAverage1m: window.loadAverage1m,
      serverLogProblems: { count: 0, samples: [] },
    };
  } finally {
    await client.stop();
    await Promise.all(servers.map((s) => s.stop()));
  }
}

/** The runs of the scenario: each mode on one instance, then (with full among them) full on two instances. */
export const mixedRuns = (modes: MixedRow['mode'][]): { mode: MixedRow['mode']; instances: number }[] => [
  ...modes.map((mode) => ({ mode, instances: 1 })),
  ...(modes.includes('full') ? [{ mode: 'full' as const, instances: 2 }] : []),
];

export async function runMixed(ctx: BenchContext, modes: MixedRow['mode'][]): Promise<{ rows: MixedRow[]; warnings: string[]; markdown: string; targets: Target[] }> {
  const rows: MixedRow[] = [];
  const warnings: string[] = [];
  for (const { mode, instances } of mixedRuns(modes)) {
    const row = await runMixedMode(ctx, mode, instances);
    const problems = Array.from({ length: instances }, (_, i) => logProblems(path.join(ctx.logDir, logName(mode, instances, i))));
    row.serverLogProblems = { count: problems.reduce((n, p) => n + p.count, 0), samples: problems.flatMap((p) => p.samples).slice(0, 8) };
    rows.push(row);
    const label = row.label;
    if (row.errors) warnings.push(`${label}: ${row.errors} failed requests: ${row.errorExamples.join(' | ')}`);
    if (row.staleReadsAllPhases) warnings.push(`${label}: ${row.staleReadsAllPhases} stale reads, e.g. ${JSON.stringify(row.staleExamples.slice(0, 3))}`);
    if (row.serverLogProblems.count) warnings.push(`${label}: ${row.serverLogProblems.count} warn/error log lines: ${row.serverLogProblems.samples.join(' | ')}`);
    if (instances > 1 && row.crossInstanceChecked === 0) warnings.push(`${label}: no checked read had to reflect another instance's write: the cross-instance check did not run`);
    process.stderr.write(
      `    ${fmt(row.requestsPerSecond)} req/s, p50 ${row.latencyMs.p50} ms, p99 ${row.latencyMs.p99} ms, SQL/req ${row.sqlPerRequest?.toFixed(3)}, ` +
        `served without SQL ${fmt(100 * row.hitRatio, 1)}%, reads ${JSON.stringify(row.readOrigin)}, ` +
        `PostgreSQL CPU ${row.postgresCpuSecondsPer1kRequests === null ? 'n/a' : `${row.postgresCpuSecondsPer1kRequests.toFixed(3)} s/1k req`}, ` +
        `stale ${row.staleReads}/${row.checkedReads} checked\n`,
    );
  }
  return { rows, warnings, markdown: `${mixedTable(rows)}\n\n${hitsByKind(rows)}`, targets: mixedTargets(rows) };
}

/** The targets, as ratios of the single-instance full and off rows of the same run. */
function mixedTargets(rows: MixedRow[]): Target[] {
  const off = rows.find((r) => r.mode === 'off' && r.instances === 1);
  const full = rows.find((r) => r.mode === 'full' && r.instances === 1);
  const targets: Target[] = [];
  const needsOff = 'n/a (needs the off mode)';
  if (full) {
    targets.push({
      scenario: 'mixed',
      target: 'full: hit ratio (reads served without PostgreSQL) >= 90%',
      measured:
        `${fmt(100 * full.hitRatio, 1)}% (response-cache HIT ${full.responseCacheHitRatio === null ? 'n/a' : `${fmt(100 * full.responseCacheHitRatio, 1)}%`}` +
        `${full.timedReads ? '' : '; no Server-Timing sql metric, so x-cache HIT only'})`,
      pass: full.hitRatio >= 0.9,
    });
    const speed = off ? full.requestsPerSecond / off.requestsPerSecond : null;
    targets.push({
      scenario: 'mixed',
      target: 'full: throughput >= 5x cache off',
      measured: speed === null ? needsOff : `${fmt(speed, 1)}x (${fmt(full.requestsPerSecond)} / ${fmt(off!.requestsPerSecond)} req/s)`,
      pass: speed === null ? null : speed >= 5,
    });
    const sql = off?.sqlPerRequest && full.sqlPerRequest !== null ? full.sqlPerRequest / off.sqlPerRequest : null;
    targets.push({
      scenario: 'mixed',
      target: 'full: SQL/req <= 1/10 of cache off',
      measured: sql === null ? needsOff : `${fmt(full.sqlPerRequest!, 3)} vs ${fmt(off!.sqlPerRequest!, 3)} = ${sql === 0 ? '0' : `1/${fmt(1 / sql, 1)}`}`,
      pass: sql === null ? null : sql <= 0.1,
    });
    const cpu = off?.postgresCpuSecondsPer1kRequests && full.postgresCpuSecondsPer1kRequests !== null ? full.postgresCpuSecondsPer1kRequests / off.postgresCpuSecondsPer1kRequests : null;
    targets.push({
      scenario: 'mixed',
      target: 'full: PostgreSQL CPU per request <= 1/5 of cache off',
      measured:
        cpu === null
          ? off
            ? 'n/a (PostgreSQL CPU not readable from /proc)'
            : needsOff
          : `${fmt(full.postgresCpuSecondsPer1kRequests!, 3)} vs ${fmt(off!.postgresCpuSecondsPer1kRequests!, 3)} CPU s per 1k requests = ${cpu === 0 ? '0' : `1/${fmt(1 / cpu, 1)}`}`,
      pass: cpu === null ? null : cpu <= 0.2,
    });
  }
  const stale = rows.reduce((n, r) => n + r.staleReadsAllPhases, 0);
  const checked = rows.reduce((n, r) => n + r.checkedReadsAllPhases, 0);
  targets.push({
    scenario: 'mixed',
    target: `zero stale reads (${rows.map((r) => r.label).join('; ')}; warm-up included)`,
    measured: `${stale} of ${fmt(checked)} checked reads`,
    pass: stale === 0,
  });
  return targets;
}

const pct = (n: number, of: number) => (of ? `${fmt((100 * n) / of, 1)}%` : '–');

/** Where reads came from, by kind of read, and the statements that ran most: where the misses and the SQL come from. */
function hitsByKind(rows: MixedRow[]): string {
  const lines: string[] = [];
  for (const r of rows) {
    const o = r.readOrigin;
    const kinds = Object.entries(r.readOriginByKind).map(([kind, x]) => {
      const n = Object.values(x).reduce((a, b) => a + (b ?? 0), 0);
      return `${kind} ${pct(servedWithoutSql(x), n)} of ${fmt(n)}`;
    });
    lines.push(
      `${r.label}: reads by origin: response-cache HIT ${pct(o.hit ?? 0, r.reads)}, no SQL ${pct(o['no-sql'] ?? 0, r.reads)}, ` +
        `collapsed ${pct(o.collapsed ?? 0, r.reads)}, SQL ${pct(o.sql ?? 0, r.reads)}, not said ${pct(o.unknown ?? 0, r.reads)} ` +
        `(Server-Timing sql on ${pct(r.timedReads, r.reads)} of reads); served without PostgreSQL by kind: ${kinds.join(', ')}; ${fmt(r.writes)} writes` +
        `${r.instances > 1 ? `; reads per instance ${r.readsByInstance.map((n) => fmt(n)).join(' / ')}, ${fmt(r.crossInstanceChecked)} checked reads had to show another instance's write` : ''}.`,
    );
  }
  for (const r of rows) {
    lines.push(`${r.label}: statements that ran most: ${r.topStatements.map((t) => `${fmt(t.calls)}x ${t.query.slice(0, 60)}…`).join('; ')}`);
  }
  return lines.join('\n\n');
}

function mixedTable(rows: MixedRow[]): string {
  const off = rows.find((r) => r.mode === 'off' && r.instances === 1);
  const lines = [
    '| cache | req/s | × cache off | p50 ms | p95 ms | p99 ms | read p99 / write p99 ms | hit ratio (served without PostgreSQL) | response-cache HIT (x-cache) | SQL/req | PostgreSQL CPU s / 1k req | stale reads / checked | Redis cmds/req | server CPU µs/req | other CPU (cores) | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.label} | ${fmt(r.requestsPerSecond)} | ${off ? `${fmt(r.requestsPerSecond / off.requestsPerSecond, 1)}×` : 'n/a'} | ` +
        `${ms(r.latencyMs.p50)} | ${ms(r.latencyMs.p95)} | ${ms(r.latencyMs.p99)} | ${ms(r.readLatencyMs.p99)} / ${ms(r.writeLatencyMs.p99)} | ` +
        `${fmt(100 * r.hitRatio, 2)}%${r.timedReads ? '' : ' (x-cache only)'} | ` +
        `${r.responseCacheHitRatio === null ? 'n/a (BYPASS)' : `${fmt(100 * r.responseCacheHitRatio, 2)}%`} | ` +
        `${r.sqlPerRequest === null ? '–' : fmt(r.sqlPerRequest, 3)} | ${r.postgresCpuSecondsPer1kRequests === null ? 'n/a' : fmt(r.postgresCpuSecondsPer1kRequests, 3)} | ` +
        `${r.staleReads} / ${fmt(r.checkedReads)}${r.instances > 1 ? ` (${fmt(r.crossInstanceChecked)} cross-instance)` : ''} | ` +
        `${r.redisCommandsPerRequest === null ? '–' : fmt(r.redisCommandsPerRequest, 2)} | ` +
        `${r.serverCpuMicrosPerRequest === null ? '–' : fmt(r.serverCpuMicrosPerRequest)} | ${fmt(r.otherCpuCores, 2)} | ${r.errors} |`,
    );
  }
  return lines.join('\n');
}
