// The `mixed` scenario: 95% reads over Zipf-skewed keys, 5% mutations with
// invalidation on, per cache mode, driven by bench/lib/mixed-client.ts in its own process
// (see there for the workload and how stale reads are detected).
import fs from 'node:fs';
import path from 'node:path';
import { DEMO_ACCOUNTS } from '../../src/db/seed.js';
import { startIpcChild } from './child.js';
import { GqlClient, login, type Summary } from './http-client.js';
import type { MixedMessage, MixedResult, MixedRun, MixedStart } from './mixed-client.js';
import { logProblems, startLifeline } from './servers.js';
import { fmt, measureWindow, ms, type BenchContext, type Target } from './window.js';

export const MIXED_DESCRIPTION =
  '95% reads (40% availability, 25% hospital+inventory, 25% donor, 10% bloodRequests; Zipf s=1.0 within each), ' +
  '5% writes (adjustInventory +1, updateDonor), invalidation on, stale reads checked';

export interface MixedRow {
  scenario: 'mixed';
  mode: 'off' | 'entity' | 'full';
  requestsPerSecond: number;
  latencyMs: Summary;
  readLatencyMs: Summary;
  writeLatencyMs: Summary;
  requests: number;
  reads: number;
  writes: number;
  hitRatio: number | null;
  readXCache: Record<string, number>;
  readsByKind: Record<string, number>;
  readXCacheByKind: Record<string, Record<string, number>>;
  sqlPerRequest: number | null;
  topStatements: { calls: number; query: string }[];
  redisCommandsPerRequest: number | null;
  staleReads: number;
  /** Including the warm-up phase. */
  staleReadsAllPhases: number;
  checkedReadsAllPhases: number;
  checkedReads: number;
  staleExamples: MixedResult['staleExamples'];
  errors: number;
  errorExamples: string[];
  serverCpuMicrosPerRequest: number | null;
  loadGeneratorCpuCores: number;
  otherCpuCores: number;
  serverLogProblems: { count: number; samples: string[] };
}

const MIXED_CONCURRENCY = 32;
/**
 * The hit ratio of a short run is mostly a cold cache's: the Zipf tail (10,000 donors) is first
 * read during the run. The warm-up is therefore at least this long, so the measured window shows
 * the steady state (misses from invalidation and from the tail), in every mode alike.
 */
const MIN_WARMUP_SECONDS = 10;
const MAX_REQUESTS_PER_SECOND = 50_000; // a bound on the loop count, far above what 2 cores serve

export async function runMixedMode(ctx: BenchContext, mode: MixedRow['mode']): Promise<MixedRow> {
  const warmup = Math.max(ctx.warmup, MIN_WARMUP_SECONDS);
  const logFile = path.join(ctx.logDir, `mixed-${mode}.log`);
  fs.writeFileSync(logFile, '');
  const server = await startLifeline(
    { databaseUrl: ctx.databaseUrl, redisUrl: ctx.redisUrl, cacheMode: mode, cachePrefix: `bench${ctx.runId}-mixed-${mode}:` },
    logFile,
  );
  const client = startIpcChild<MixedMessage>(path.join(__dirname, 'mixed-client.ts'), [], {
    name: `mixed-client(${mode})`,
    maxLifetimeMs: (warmup + ctx.duration) * 1000 + 120_000,
  });
  const failed = (m: MixedMessage) => (m.type === 'error' ? new Error(`mixed client: ${m.message}`) : undefined);
  const expect = <T>(accept: (m: MixedMessage) => T | undefined, timeoutMs: number, what: string) =>
    client.next<T | Error>((m) => failed(m) ?? accept(m), timeoutMs, what).then((v) => {
      if (v instanceof Error) throw v;
      return v;
    });
  try {
    const http = new GqlClient(server.port, 1);
    const token = await login(http, DEMO_ACCOUNTS.staff.email, DEMO_ACCOUNTS.staff.password);
    http.close();
    client.send({
      type: 'start',
      port: server.port,
      token,
      concurrency: MIXED_CONCURRENCY,
      donors: ctx.seed.donors,
      zipfS: 1.0,
      writeShare: 0.05,
      seed: 6,
    } satisfies MixedStart);
    const ready = await expect((m) => (m.type === 'ready' ? m : undefined), 30_000, 'ready');
    process.stderr.write(
      `  mixed / ${mode}: port ${server.port}, ${ready.hospitals} hospitals in ${ready.regions.length} regions; ` +
        `warm-up ${warmup}s, measure ${ctx.duration}s x ${MIXED_CONCURRENCY} loops\n`,
    );
    const run = (phase: string, seconds: number) => {
      client.send({ type: 'run', phase, seconds, maxRequests: seconds * MAX_REQUESTS_PER_SECOND } satisfies MixedRun);
      return expect((m) => (m.type === 'result' && m.phase === phase ? m : undefined), seconds * 1000 + 30_000, `${phase} result`);
    };
    const warm = await run('warm-up', warmup);
    const { result: r, window } = await measureWindow(ctx, server, { lifeline: true, loadPids: [client.child.pid] }, () => run('measure', ctx.duration));
    const hits = r.readXCache.HIT ?? 0;
    const answeredHit = 'HIT' in r.readXCache || 'MISS' in r.readXCache;
    return {
      scenario: 'mixed',
      mode,
      requestsPerSecond: r.requestsPerSecond,
      latencyMs: r.latencyMs,
      readLatencyMs: r.readLatencyMs,
      writeLatencyMs: r.writeLatencyMs,
      requests: r.requests,
      reads: r.reads,
      writes: r.writes,
      hitRatio: answeredHit && r.reads ? hits / r.reads : null,
      readXCache: r.readXCache,
      readsByKind: r.readsByKind,
      readXCacheByKind: r.readXCacheByKind,
      sqlPerRequest: window.sql && r.requests ? window.sql.total / r.requests : null,
      topStatements: window.sql?.top ?? [],
      redisCommandsPerRequest: window.redisCommands !== null && r.requests ? window.redisCommands / r.requests : null,
      staleReads: r.staleReads,
      staleReadsAllPhases: r.staleReads + (warm?.staleReads ?? 0),
      checkedReadsAllPhases: r.checkedReads + (warm?.checkedReads ?? 0),
      checkedReads: r.checkedReads,
      staleExamples: [...r.staleExamples, ...(warm?.staleExamples ?? [])].slice(0, 20),
      errors: r.errors + (warm?.errors ?? 0),
      errorExamples: [...r.errorExamples, ...(warm?.errorExamples ?? [])].slice(0, 10),
      serverCpuMicrosPerRequest: window.serverCpuSeconds !== null && r.requests ? (window.serverCpuSeconds * 1e6) / r.requests : null,
      loadGeneratorCpuCores: window.loadGeneratorCpuSeconds / window.wallSeconds,
      otherCpuCores: window.otherCpuCores,
      serverLogProblems: { count: 0, samples: [] },
    };
  } finally {
    await client.stop();
    await server.stop();
  }
}

export async function runMixed(ctx: BenchContext, modes: MixedRow['mode'][]): Promise<{ rows: MixedRow[]; warnings: string[]; markdown: string; targets: Target[] }> {
  const rows: MixedRow[] = [];
  const warnings: string[] = [];
  for (const mode of modes) {
    const row = await runMixedMode(ctx, mode);
    row.serverLogProblems = logProblems(path.join(ctx.logDir, `mixed-${mode}.log`));
    rows.push(row);
    if (row.errors) warnings.push(`${mode}: ${row.errors} failed requests: ${row.errorExamples.join(' | ')}`);
    if (row.staleReadsAllPhases) warnings.push(`${mode}: ${row.staleReadsAllPhases} stale reads, e.g. ${JSON.stringify(row.staleExamples.slice(0, 3))}`);
    if (row.serverLogProblems.count) warnings.push(`${mode}: ${row.serverLogProblems.count} warn/error log lines: ${row.serverLogProblems.samples.join(' | ')}`);
    process.stderr.write(
      `    ${fmt(row.requestsPerSecond)} req/s, p50 ${row.latencyMs.p50} ms, p99 ${row.latencyMs.p99} ms, SQL/req ${row.sqlPerRequest?.toFixed(3)}, ` +
        `reads x-cache ${JSON.stringify(row.readXCache)}, stale ${row.staleReads}/${row.checkedReads} checked\n`,
    );
  }
  const off = rows.find((r) => r.mode === 'off');
  const full = rows.find((r) => r.mode === 'full');
  const targets: Target[] = [];
  if (full) {
    targets.push({
      scenario: 'mixed',
      target: 'full cache: hit ratio >= 90%',
      measured: full.hitRatio === null ? 'n/a' : `${fmt(100 * full.hitRatio, 1)}%`,
      pass: full.hitRatio === null ? null : full.hitRatio >= 0.9,
    });
    const ratio = off?.sqlPerRequest && full.sqlPerRequest !== null ? full.sqlPerRequest / off.sqlPerRequest : null;
    targets.push({
      scenario: 'mixed',
      target: 'full cache: SQL/req <= 1/10 of cache off',
      measured: ratio === null ? 'n/a (needs the off mode)' : `${fmt(full.sqlPerRequest!, 3)} vs ${fmt(off!.sqlPerRequest!, 3)} = 1/${fmt(1 / ratio, 1)}`,
      pass: ratio === null ? null : ratio <= 0.1,
    });
  }
  const stale = rows.reduce((n, r) => n + r.staleReadsAllPhases, 0);
  const checked = rows.reduce((n, r) => n + r.checkedReadsAllPhases, 0);
  targets.push({ scenario: 'mixed', target: 'zero stale reads (every mode, warm-up included)', measured: `${stale} of ${fmt(checked)} checked reads`, pass: stale === 0 });
  return { rows, warnings, markdown: `${mixedTable(rows)}\n\n${hitsByKind(rows)}`, targets };
}

/** Hit ratio per kind of read, and the statements that ran most: where the misses and the SQL come from. */
function hitsByKind(rows: MixedRow[]): string {
  const lines: string[] = [];
  for (const r of rows) {
    if (r.hitRatio === null) continue;
    const kinds = Object.entries(r.readXCacheByKind).map(([kind, x]) => {
      const n = Object.values(x).reduce((a, b) => a + b, 0);
      return `${kind} ${fmt((100 * (x.HIT ?? 0)) / n, 1)}% of ${fmt(n)}`;
    });
    lines.push(`${r.mode}: reads served from the response cache by kind: ${kinds.join(', ')}; ${fmt(r.writes)} writes.`);
  }
  for (const r of rows) {
    lines.push(`${r.mode}: statements that ran most: ${r.topStatements.map((t) => `${fmt(t.calls)}x ${t.query.slice(0, 60)}…`).join('; ')}`);
  }
  return lines.join('\n\n');
}

function mixedTable(rows: MixedRow[]): string {
  const off = rows.find((r) => r.mode === 'off');
  const lines = [
    '| server | req/s | p50 ms | p99 ms | read p99 / write p99 ms | × cache off | SQL/req | Redis cmds/req | hit ratio (reads, x-cache) | stale reads / checked | server CPU µs/req | other CPU (cores) | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| Lifeline, CACHE_MODE=${r.mode} | ${fmt(r.requestsPerSecond)} | ${ms(r.latencyMs.p50)} | ${ms(r.latencyMs.p99)} | ` +
        `${ms(r.readLatencyMs.p99)} / ${ms(r.writeLatencyMs.p99)} | ${off ? `${fmt(r.requestsPerSecond / off.requestsPerSecond, 1)}×` : 'n/a'} | ` +
        `${r.sqlPerRequest === null ? '–' : fmt(r.sqlPerRequest, 3)} | ${r.redisCommandsPerRequest === null ? '–' : fmt(r.redisCommandsPerRequest, 2)} | ` +
        `${r.hitRatio === null ? 'n/a (BYPASS)' : `${fmt(100 * r.hitRatio, 2)}%`} | ${r.staleReads} / ${fmt(r.checkedReads)} | ` +
        `${r.serverCpuMicrosPerRequest === null ? '–' : fmt(r.serverCpuMicrosPerRequest)} | ${fmt(r.otherCpuCores, 2)} | ${r.errors} |`,
    );
  }
  return lines.join('\n');
}
