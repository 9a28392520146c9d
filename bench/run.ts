// `npm run bench`: Lifeline under load with the cache off, entity cache only and
// full cache, next to a raw Node `http` server returning the same bytes (the ceiling).
//
//   npm run bench -- [--scenario availability|availability-region|donors-nested|dashboard|mixed|fanout|cache-memory|writes|all]
//                    [--duration 10] [--connections 50] [--warmup 3] [--donors N] [--hospitals N]
//                    [--donations N] [--modes off,entity,full,ceiling] [--subscribers 2000]
//                    [--events 100] [--client-processes 2] [--entries 2000]
//
// Runtime: a full `npm run bench` (every scenario, defaults) took 417 s (about 7 minutes) on
// 2026-12-05 on the 2-core machine this was written on, load average 2-3 from other work: ~10 s to start
// PostgreSQL/Redis and seed, ~15-20 s per server run (start-up, 3 s warm-up, 10 s measured, stop)
// x 12 runs, ~30 s of fanout, ~15 s of cache-memory, and the mixed scenario: ~30 s per run (start-up,
// 10 s warm-up, 10 s measured, stop) x 4 (off, entity, full, and full on two instances started side
// by side), plus a prime pass of ~10-15 s before each run with a cache.
// The watchdog gives up well beyond that (see budgetMs).
//
// From a clean clone with nothing running: starts a throwaway PostgreSQL (pg_stat_statements
// preloaded) and redis-server on free 127.0.0.1 ports in temp dirs (bench/lib/services.ts, the
// test harness's method), seeds one database with seedDatabase (default 10,000 donors, 200
// hospitals, 50,000 donations; with only --donors, donations = 5 x donors), then for every
// scenario and mode starts Lifeline as its own child process (`node --import tsx src/main.ts`,
// NODE_ENV=production, RATE_LIMIT_PER_MINUTE=0, a CACHE_PREFIX of its own). Scenarios:
//   availability, availability-region, donors-nested, dashboard   one fixed query (dashboard: the live page's, from
//                 dashboard/src/api.ts) driven by autocannon from this process, in every mode plus
//                 the ceiling, which serves the exact bytes and headers of the full-cache HIT.
//   mixed         95% reads over Zipf-skewed keys, 5% mutations, per mode, from a load client in
//                 its own process that also counts stale reads (bench/lib/mixed*.ts); with the
//                 full cache, once more on two full-cache instances sharing Redis and PostgreSQL,
//                 the client alternating over them. Its table: req/s, p50/p95/p99 (and read/write
//                 p99), the hit ratio as reads served without PostgreSQL (x-cache HIT, or a
//                 Server-Timing `sql;desc="0"` that is not Cache-Status `collapsed`) next to the
//                 x-cache HIT ratio, SQL/req, PostgreSQL CPU seconds per 1,000 requests (postmaster
//                 and children from /proc, exited backends through its cutime/cstime) and stale reads.
//   fanout        2,000 subscribers over two instances: delivery latency, memory per idle
//                 subscription (bench/lib/fanout*.ts).
//   cache-memory  memory per cached entry, in Redis and in the server's heap (bench/lib/cache-memory.ts).
//   writes        SQL statements per write (updateDonor, adjustInventory, createBloodRequest, 200 of
//                 each, one at a time), with the invalidation outbox and before it (bench/lib/writes.ts).
// Per autocannon run it records:
//   req/s, p50, p99           autocannon (latency percentiles over every request of the window)
//   SQL/req                   pg_stat_statements calls in the bench database during the window / requests
//   Redis cmds/req            INFO total_commands_processed during the window / requests (commands run
//                             inside Lua scripts count too; the per-command split is printed under the table)
//   hit ratio                 share of responses with `x-cache: HIT` (off and entity answer BYPASS)
//   server CPU µs/req         the server process's user+system time / requests (from /proc)
//   other CPU                 everything else on the machine meanwhile (PostgreSQL's own CPU left out
//                             where /proc shows it), in cores (noise indicator)
//
// Prints one markdown table per scenario, then issue 6's targets with the measured ratios and
// PASS/FAIL, and writes bench/results/latest.json. Every run is bounded (a watchdog kills
// everything; every load loop stops at its duration and a request count), only 127.0.0.1 is
// contacted, and children and temp dirs are removed on exit, error and SIGINT/SIGTERM.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { runCacheMemory } from './lib/cache-memory.js';
import { FANOUT_DEFAULTS, runFanout } from './lib/fanout.js';
import { probe, runLoad, type LoadResult, type Probe } from './lib/load.js';
import { MIXED_DESCRIPTION, mixedRuns, runMixed } from './lib/mixed.js';
import { machineInfo, machineLine, packageVersions, runMain, UsageError, writeResults } from './lib/report.js';
import { logProblems, startCeiling, startLifeline, STOP_GRACE_MS, type RunningServer } from './lib/servers.js';
import { databaseUrl, findPostmaster, killAllNow, makeTempDir, reapStaleDirs, startPostgres, startRedis } from './lib/services.js';
import { PgStats, RedisStats, type StatementDelta } from './lib/stats.js';
import { runWrites, WRITES_DESCRIPTION } from './lib/writes.js';
import { fmt, measureWindow, ms, passMark, type BenchContext, type SeedSizes, type Target } from './lib/window.js';

// ---------------------------------------------------------------- scenarios

interface Scenario {
  name: string;
  description: string;
  query: string;
  /** Throws when a response body is not the expected answer. */
  check(data: Record<string, unknown>, seed: SeedSizes): void;
  /** Issue 6's targets for this scenario, from its rows. */
  targets?(rows: Row[]): Target[];
}

// The live page's own query, so the scenario follows it. Loaded at run time rather than imported:
// dashboard/ is compiled for the browser (its own tsconfig, DOM lib) and fails the root one.
const { DASHBOARD_QUERY } = require(path.join(__dirname, '..', 'dashboard', 'src', 'api.ts')) as { DASHBOARD_QUERY: string };

/** full-cache req/s as a share of the ceiling's, at least `min`. */
function ceilingTarget(scenario: string, min: number, rows: Row[]): Target {
  const full = rows.find((r) => r.mode === 'full');
  const ceiling = rows.find((r) => r.mode === 'ceiling');
  const ratio = full && ceiling ? full.requestsPerSecond / ceiling.requestsPerSecond : null;
  return {
    scenario,
    target: `full-cache hit >= ${100 * min}% of the ceiling's req/s`,
    measured: ratio === null ? 'n/a (needs full and ceiling)' : `${fmt(100 * ratio, 1)}% (${fmt(full!.requestsPerSecond)} / ${fmt(ceiling!.requestsPerSecond)})`,
    pass: ratio === null ? null : ratio >= min,
  };
}

const SCENARIOS: Scenario[] = [
  {
    name: 'availability',
    description: 'hot public read: O-negative stock at every hospital (one list + hospitals)',
    query: '{ availability(bloodGroup: O_NEG) { units updatedAt hospital { id name city region } } }',
    check: (data) => {
      const list = data.availability as unknown[] | undefined;
      if (!Array.isArray(list) || list.length === 0) throw new Error('availability returned no rows');
    },
    targets: (rows) => [ceilingTarget('availability', 0.6, rows)],
  },
  {
    name: 'availability-region',
    description: 'small hot public read (about 3 KB): O-negative stock in one region',
    query: '{ availability(bloodGroup: O_NEG, region: "North") { units updatedAt hospital { id name city region } } }',
    check: (data) => {
      const list = data.availability as unknown[] | undefined;
      if (!Array.isArray(list) || list.length === 0) throw new Error('availability in North returned no rows');
    },
    targets: (rows) => [ceilingTarget('availability-region', 0.6, rows)],
  },
  {
    name: 'donors-nested',
    description: '50 donors, 5 donations each, each donation\'s hospital',
    query: '{ donors(first: 50) { nodes { id name donations(first: 5) { nodes { id hospital { name } } } } } }',
    check: (data, seed) => {
      const nodes = (data.donors as { nodes?: unknown[] } | undefined)?.nodes;
      if (!Array.isArray(nodes) || nodes.length !== Math.min(50, seed.donors)) throw new Error(`donors returned ${nodes?.length} nodes`);
    },
    targets: (rows) => {
      const full = rows.find((r) => r.mode === 'full');
      const off = rows.find((r) => r.mode === 'off');
      const ratio = full && off ? full.requestsPerSecond / off.requestsPerSecond : null;
      return [
        ceilingTarget('donors-nested', 0.75, rows),
        {
          scenario: 'donors-nested',
          target: 'full-cache hit >= 10x cache off',
          measured: ratio === null ? 'n/a (needs full and off)' : `${fmt(ratio, 1)}x (${fmt(full!.requestsPerSecond)} / ${fmt(off!.requestsPerSecond)})`,
          pass: ratio === null ? null : ratio >= 10,
        },
      ];
    },
  },
  {
    name: 'dashboard',
    description: "the operations dashboard's one query (dashboard/src/api.ts): network totals, open emergencies, active campaigns",
    query: DASHBOARD_QUERY,
    check: (data) => {
      const stats = data.dashboardStats as { inventory?: unknown[] } | undefined;
      if (!Array.isArray(stats?.inventory) || !Array.isArray((data.bloodRequests as { nodes?: unknown[] })?.nodes) || !Array.isArray(data.campaigns)) {
        throw new Error('dashboard answer lacks dashboardStats.inventory, bloodRequests.nodes or campaigns');
      }
    },
  },
];

/** Scenarios with a runner of their own (not one fixed query under autocannon). */
const SPECIAL = ['mixed', 'fanout', 'cache-memory', 'writes'] as const;
type Special = (typeof SPECIAL)[number];
const SCENARIO_NAMES = [...SCENARIOS.map((s) => s.name), ...SPECIAL];

const MODES = ['off', 'entity', 'full', 'ceiling'] as const;
type Mode = (typeof MODES)[number];
const MODE_LABEL: Record<Mode, string> = {
  off: 'Lifeline, CACHE_MODE=off',
  entity: 'Lifeline, CACHE_MODE=entity',
  full: 'Lifeline, CACHE_MODE=full',
  ceiling: 'raw Node http, same bytes (ceiling)',
};

// ---------------------------------------------------------------- options

interface Options {
  scenarios: string[];
  modes: Mode[];
  duration: number;
  connections: number;
  warmup: number;
  seed: SeedSizes;
  subscribers: number;
  events: number;
  clientProcesses: number;
  entries: number;
}

const USAGE =
  `usage: npm run bench -- [--scenario ${SCENARIO_NAMES.join('|')}|all] [--duration 10] [--connections 50] [--warmup 3] ` +
  '[--donors N] [--hospitals N] [--donations N] [--modes off,entity,full,ceiling] [--subscribers 2000] [--events 100] [--client-processes 2] [--entries 2000]';

function parseOptions(argv: string[]): Options {
  const numbers: Record<string, { value?: number; min: number; max: number }> = {
    duration: { min: 1, max: 120 },
    connections: { min: 1, max: 1000 },
    warmup: { min: 0, max: 60 },
    donors: { min: 1, max: 1_000_000 },
    hospitals: { min: 1, max: 10_000 },
    donations: { min: 0, max: 5_000_000 },
    subscribers: { min: 2, max: 10_000 },
    events: { min: 1, max: 10_000 },
    entries: { min: 1, max: 100_000 },
    'client-processes': { min: 1, max: 8 },
  };
  let scenarioNames: string[] = [];
  let modes: Mode[] = [...MODES];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') throw new UsageError(USAGE);
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new UsageError(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
    const name = m[1]!;
    const raw = m[2] ?? argv[++i];
    if (raw === undefined) throw new UsageError(`--${name} needs a value\n${USAGE}`);
    if (name === 'scenario') {
      scenarioNames.push(...raw.split(','));
    } else if (name === 'modes') {
      const list = raw.split(',').map((s) => s.trim());
      for (const mode of list) if (!MODES.includes(mode as Mode)) throw new UsageError(`--modes: unknown mode ${mode} (off, entity, full, ceiling)`);
      modes = MODES.filter((mode) => list.includes(mode));
    } else if (numbers[name]) {
      const value = Number(raw.replace(/_/g, ''));
      const { min, max } = numbers[name]!;
      if (!Number.isInteger(value) || value < min || value > max) throw new UsageError(`--${name} must be an integer in [${min}, ${max}], got ${raw}`);
      numbers[name]!.value = value;
    } else {
      throw new UsageError(`unknown option --${name}\n${USAGE}`);
    }
  }
  if (scenarioNames.length === 0 || scenarioNames.includes('all')) scenarioNames = SCENARIO_NAMES;
  for (const n of scenarioNames) if (!SCENARIO_NAMES.includes(n)) throw new UsageError(`unknown scenario ${n}; one of: ${SCENARIO_NAMES.join(', ')}, all`);
  const donors = numbers.donors!.value ?? 10_000;
  return {
    scenarios: SCENARIO_NAMES.filter((n) => scenarioNames.includes(n)),
    modes,
    duration: numbers.duration!.value ?? 10,
    connections: numbers.connections!.value ?? 50,
    warmup: numbers.warmup!.value ?? 3,
    seed: {
      donors,
      hospitals: numbers.hospitals!.value ?? 200,
      donations: numbers.donations!.value ?? (numbers.donors!.value === undefined ? 50_000 : donors * 5),
    },
    subscribers: numbers.subscribers!.value ?? FANOUT_DEFAULTS.subscribers,
    events: numbers.events!.value ?? FANOUT_DEFAULTS.events,
    clientProcesses: numbers['client-processes']!.value ?? FANOUT_DEFAULTS.clientProcesses,
    entries: numbers.entries!.value ?? 2000,
  };
}

// ---------------------------------------------------------------- one measurement

interface Row {
  scenario: string;
  mode: Mode;
  description: string;
  requestsPerSecond: number;
  latencyMs: LoadResult['latencyMs'];
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  xCache: Record<string, number>;
  /** HIT / responses; null when the server never answers HIT (no response cache). */
  hitRatio: number | null;
  sqlStatements: number | null;
  sqlPerRequest: number | null;
  topStatements: StatementDelta['top'];
  redisCommandsPerRequest: number | null;
  redisKeyspace: { hits: number; misses: number } | null;
  /** Redis calls per command during the window (INFO commandstats; includes commands run inside Lua scripts). */
  redisCalls: Record<string, number> | null;
  responseBytes: number;
  probeXCache: { first: string | null; afterWarmup: string | null };
  cacheControl: string | null;
  serverCpuMicrosPerRequest: number | null;
  serverCpuCores: number | null;
  redisCpuCores: number | null;
  /** Redis server process CPU (user + system) per request, µs. */
  redisCpuMicrosPerRequest: number | null;
  loadGeneratorCpuCores: number;
  otherCpuCores: number;
  loadAverage1m: { before: number; after: number };
  serverLogProblems: { count: number; samples: string[] };
  /** How the server went after SIGTERM (SIGKILL after STOP_GRACE_MS). */
  shutdown: { ms: number; exitCode: number | null; signal: string | null } | null;
}

type Context = BenchContext;

function parseBody(scenario: Scenario, p: Probe, seed: SeedSizes, who: string): string {
  if (p.status !== 200) throw new Error(`${who}: HTTP ${p.status}: ${p.body.slice(0, 500)}`);
  const json = JSON.parse(p.body) as { data?: Record<string, unknown>; errors?: unknown };
  if (json.errors || !json.data) throw new Error(`${who}: errors in the response: ${p.body.slice(0, 500)}`);
  scenario.check(json.data, seed);
  return JSON.stringify(json.data);
}

async function measure(ctx: Context, scenario: Scenario, mode: Mode, server: RunningServer, first: Probe): Promise<{ row: Row; afterWarmup: Probe }> {
  const body = JSON.stringify({ query: scenario.query });
  if (ctx.warmup > 0) await runLoad({ port: server.port, body, connections: ctx.connections, durationSeconds: ctx.warmup });
  const afterWarmup = await probe(server.port, body);
  parseBody(scenario, afterWarmup, ctx.seed, `${scenario.name}/${mode} after warm-up`);

  const { result, window: w } = await measureWindow(ctx, server, { lifeline: mode !== 'ceiling' }, () =>
    runLoad({ port: server.port, body, connections: ctx.connections, durationSeconds: ctx.duration }),
  );
  const requests = result.requests;
  const hits = result.xCache.HIT ?? 0;
  const answeredHit = Object.keys(result.xCache).some((k) => k === 'HIT' || k === 'MISS');
  const row: Row = {
    scenario: scenario.name,
    mode,
    description: MODE_LABEL[mode],
    requestsPerSecond: result.requestsPerSecond,
    latencyMs: result.latencyMs,
    requests,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: result.statusCodes,
    xCache: result.xCache,
    hitRatio: answeredHit && result.responses > 0 ? hits / result.responses : null,
    sqlStatements: w.sql?.total ?? null,
    sqlPerRequest: w.sql && requests > 0 ? w.sql.total / requests : null,
    topStatements: w.sql?.top ?? [],
    redisCommandsPerRequest: w.redisCommands !== null && requests > 0 ? w.redisCommands / requests : null,
    redisKeyspace: w.redisKeyspace,
    redisCalls: w.redisCalls,
    responseBytes: Buffer.byteLength(afterWarmup.body),
    probeXCache: { first: first.headers['x-cache'] ?? null, afterWarmup: afterWarmup.headers['x-cache'] ?? null },
    cacheControl: afterWarmup.headers['cache-control'] ?? null,
    serverCpuMicrosPerRequest: w.serverCpuSeconds !== null && requests > 0 ? (w.serverCpuSeconds * 1e6) / requests : null,
    serverCpuCores: w.serverCpuSeconds !== null ? w.serverCpuSeconds / w.wallSeconds : null,
    redisCpuCores: w.redisCpuSeconds !== null ? w.redisCpuSeconds / w.wallSeconds : null,
    redisCpuMicrosPerRequest: w.redisCpuSeconds !== null && requests > 0 && mode !== 'ceiling' ? (w.redisCpuSeconds * 1e6) / requests : null,
    loadGeneratorCpuCores: w.loadGeneratorCpuSeconds / w.wallSeconds,
    otherCpuCores: w.otherCpuCores,
    loadAverage1m: w.loadAverage1m,
    serverLogProblems: { count: 0, samples: [] },
    shutdown: null,
  };
  return { row, afterWarmup };
}

async function runLifeline(ctx: Context, scenario: Scenario, mode: Exclude<Mode, 'ceiling'>): Promise<{ row: Row; afterWarmup: Probe }> {
  const logFile = path.join(ctx.logDir, `${scenario.name}-${mode}.log`);
  fs.writeFileSync(logFile, '');
  const server = await startLifeline(
    { databaseUrl: ctx.databaseUrl, redisUrl: ctx.redisUrl, cacheMode: mode, cachePrefix: `bench${ctx.runId}-${scenario.name}-${mode}:` },
    logFile,
  );
  let measured: { row: Row; afterWarmup: Probe } | undefined;
  try {
    const body = JSON.stringify({ query: scenario.query });
    const first = await probe(server.port, body);
    parseBody(scenario, first, ctx.seed, `${scenario.name}/${mode}`);
    process.stderr.write(
      `  ${scenario.name} / ${mode}: port ${server.port}, ${Buffer.byteLength(first.body)} bytes, x-cache ${first.headers['x-cache']}, ` +
        `cache-control "${first.headers['cache-control'] ?? ''}"; warm-up ${ctx.warmup}s, measure ${ctx.duration}s x ${ctx.connections}\n`,
    );
    measured = await measure(ctx, scenario, mode, server, first);
    return measured;
  } finally {
    const t = Date.now();
    await server.stop();
    if (measured) {
      measured.row.shutdown = { ms: Date.now() - t, exitCode: server.child.exitCode, signal: server.child.signalCode };
    }
  }
}

async function runCeiling(ctx: Context, scenario: Scenario, reference: Probe): Promise<Row> {
  const logFile = path.join(ctx.logDir, `${scenario.name}-ceiling.log`);
  fs.writeFileSync(logFile, '');
  const headers = { ...reference.headers };
  const server = await startCeiling(
    { status: reference.status, headers, bodyBase64: Buffer.from(reference.body).toString('base64') },
    path.join(ctx.logDir, `${scenario.name}-ceiling.json`),
    logFile,
  );
  try {
    const body = JSON.stringify({ query: scenario.query });
    const first = await probe(server.port, body);
    if (first.body !== reference.body) throw new Error('ceiling: body differs from the recorded response');
    process.stderr.write(`  ${scenario.name} / ceiling: port ${server.port}, ${Buffer.byteLength(first.body)} bytes (x-cache ${first.headers['x-cache'] ?? 'none'})\n`);
    const { row } = await measure(ctx, scenario, 'ceiling', server, first);
    row.hitRatio = null;
    row.serverLogProblems = logProblems(logFile);
    return row;
  } finally {
    await server.stop();
  }
}

// ---------------------------------------------------------------- output


function table(rows: Row[]): string {
  const ceiling = rows.find((r) => r.mode === 'ceiling')?.requestsPerSecond;
  const off = rows.find((r) => r.mode === 'off')?.requestsPerSecond;
  const lines = [
    '| server | req/s | p50 ms | p99 ms | % of ceiling | × cache off | SQL/req | Redis cmds/req | Redis CPU µs/req | hit ratio (x-cache) | server CPU µs/req | other CPU (cores) | non-2xx / errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.description} | ${fmt(r.requestsPerSecond)} | ${ms(r.latencyMs.p50)} | ${ms(r.latencyMs.p99)} | ` +
        `${ceiling ? `${fmt((100 * r.requestsPerSecond) / ceiling)}%` : 'n/a'} | ` +
        `${off ? `${fmt(r.requestsPerSecond / off, 1)}×` : 'n/a'} | ` +
        `${r.sqlPerRequest === null ? '–' : fmt(r.sqlPerRequest, 3)} | ` +
        `${r.redisCommandsPerRequest === null ? '–' : fmt(r.redisCommandsPerRequest, 2)} | ` +
        `${r.redisCpuMicrosPerRequest === null ? '–' : fmt(r.redisCpuMicrosPerRequest, 1)} | ` +
        `${r.hitRatio === null ? (r.mode === 'ceiling' ? '–' : 'n/a (BYPASS)') : `${fmt(100 * r.hitRatio, 2)}%`} | ` +
        `${r.serverCpuMicrosPerRequest === null ? '–' : fmt(r.serverCpuMicrosPerRequest)} | ${fmt(r.otherCpuCores, 2)} | ` +
        `${r.non2xx} / ${r.errors + r.timeouts} |`,
    );
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------- main

async function seed(adminUrl: string, name: string, sizes: SeedSizes): Promise<{ durationMs: number; summary: unknown }> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end({ timeout: 2 });
  }
  const { createDatabase } = await import('../src/db/client.js');
  const { runMigrations } = await import('../src/db/migrate.js');
  const { seedDatabase } = await import('../src/db/seed.js');
  const database = await createDatabase({ url: databaseUrl(adminUrl, name), maxConnections: 2 });
  try {
    await runMigrations(database);
    const started = Date.now();
    const summary = await seedDatabase(database.db, { ...sizes, log: (m) => process.stderr.write(`    ${m}\n`) });
    const sql = postgres(databaseUrl(adminUrl, name), { max: 1, onnotice: () => {} });
    await sql`analyze`;
    await sql.end({ timeout: 2 });
    return { durationMs: Date.now() - started, summary };
  } finally {
    await database.close();
  }
}

interface ScenarioResult {
  scenario: string;
  description: string;
  query?: string;
  rows: unknown[];
  warnings: string[];
  markdown: string;
  targets: Target[];
  /** Whatever else the scenario measured (fanout, cache-memory). */
  result?: unknown;
}

/** One fixed query in every mode under autocannon, then the ceiling with the full-cache bytes. */
async function runQueryScenario(ctx: Context, scenario: Scenario, modes: Mode[]): Promise<ScenarioResult> {
  const lifelineModes = modes.filter((m): m is Exclude<Mode, 'ceiling'> => m !== 'ceiling');
  const rows: Row[] = [];
  const warnings: string[] = [];
  let reference: Probe | undefined;
  let referenceData: string | undefined;
  for (const mode of lifelineModes) {
    const { row, afterWarmup } = await runLifeline(ctx, scenario, mode);
    row.serverLogProblems = logProblems(path.join(ctx.logDir, `${scenario.name}-${mode}.log`));
    rows.push(row);
    // Every mode must give the same answer (no mutations run here). generatedAt is the time the
    // totals were computed: it differs between servers by design.
    const data = parseBody(scenario, afterWarmup, ctx.seed, `${scenario.name}/${mode}`).replace(/"generatedAt":"[^"]*"/g, '');
    if (referenceData !== undefined && data !== referenceData) warnings.push(`${mode}: response data differs from the ${lifelineModes[0]} mode's`);
    referenceData ??= data;
    // The ceiling replays the full-cache HIT response (else whatever mode ran last).
    if (mode === 'full' || !reference) reference = afterWarmup;
    if (mode === 'full' && afterWarmup.headers['x-cache'] !== 'HIT') warnings.push(`full: the probe after warm-up answered x-cache ${afterWarmup.headers['x-cache']}, not HIT`);
    if (row.non2xx || row.errors || row.timeouts) warnings.push(`${mode}: ${row.non2xx} non-2xx (${JSON.stringify(row.statusCodes)}), ${row.errors} errors, ${row.timeouts} timeouts`);
    if (row.shutdown && (row.shutdown.signal || row.shutdown.exitCode !== 0)) {
      warnings.push(
        `${mode}: after SIGTERM the server ${row.shutdown.signal ? `was still running after ${STOP_GRACE_MS} ms and got ${row.shutdown.signal}` : `exited with code ${row.shutdown.exitCode}`} (${row.shutdown.ms} ms)`,
      );
    }
    if (row.serverLogProblems.count) warnings.push(`${mode}: ${row.serverLogProblems.count} warn/error log lines: ${row.serverLogProblems.samples.join(' | ')}`);
    process.stderr.write(
      `    ${fmt(row.requestsPerSecond)} req/s, p50 ${row.latencyMs.p50} ms, p99 ${row.latencyMs.p99} ms, ` +
        `SQL/req ${row.sqlPerRequest?.toFixed(3)}, x-cache ${JSON.stringify(row.xCache)}\n`,
    );
  }
  if (modes.includes('ceiling')) {
    if (!reference) {
      // Ceiling alone: record the bytes from a full-cache server first.
      const { afterWarmup } = await runLifeline(ctx, scenario, 'full');
      reference = afterWarmup;
    }
    const row = await runCeiling(ctx, scenario, reference);
    rows.push(row);
    process.stderr.write(`    ${fmt(row.requestsPerSecond)} req/s, p50 ${row.latencyMs.p50} ms, p99 ${row.latencyMs.p99} ms\n`);
  }
  let markdown = `\`${scenario.query.replace(/\s+/g, ' ')}\` (${fmt(rows[0]?.responseBytes ?? 0)} bytes, cache-control "${rows[0]?.cacheControl ?? ''}")\n\n${table(rows)}\n`;
  const perCommand = rows
    .filter((row) => row.redisCalls && row.requests > 0 && Object.keys(row.redisCalls).length)
    .map(
      (row) =>
        `${row.mode}: ${Object.entries(row.redisCalls!)
          .slice(0, 6)
          .map(([name, n]) => `${name} ${fmt(n / row.requests, 2)}`)
          .join(', ')}`,
    );
  if (perCommand.length) markdown += `\nRedis calls per request by command (Lua-internal calls included): ${perCommand.join('; ')}\n`;
  return { scenario: scenario.name, description: scenario.description, query: scenario.query, rows, warnings, markdown, targets: scenario.targets?.(rows) ?? [] };
}

async function runSpecial(ctx: Context, name: Special, options: Options): Promise<ScenarioResult> {
  if (name === 'mixed') {
    const modes = options.modes.filter((m): m is 'off' | 'entity' | 'full' => m !== 'ceiling');
    const r = await runMixed(ctx, modes);
    return { scenario: name, description: MIXED_DESCRIPTION, ...r };
  }
  if (name === 'fanout') {
    const r = await runFanout(ctx, { ...FANOUT_DEFAULTS, subscribers: options.subscribers, events: options.events, clientProcesses: options.clientProcesses });
    return { scenario: name, description: 'live subscription delivery over two instances sharing Redis; memory per idle subscription', rows: [], ...r };
  }
  if (name === 'writes') {
    const r = await runWrites(ctx);
    return { scenario: name, description: WRITES_DESCRIPTION, ...r };
  }
  const r = await runCacheMemory(ctx, options.entries);
  return { scenario: name, description: 'memory per cached entry (Redis and the server heap)', rows: [], ...r };
}

function targetsTable(targets: Target[]): string {
  const lines = ['| scenario | target | measured | result |', '|---|---|---|---|'];
  for (const t of targets) lines.push(`| ${t.scenario} | ${t.target} | ${t.measured} | ${passMark(t.pass)} |`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const queryRuns = options.scenarios.filter((n) => SCENARIOS.some((s) => s.name === n)).length * options.modes.length;
  // off, entity, full on one instance each, and full on two (bench/lib/mixed.ts).
  const mixedCount = options.scenarios.includes('mixed') ? mixedRuns(options.modes.filter((m): m is 'off' | 'entity' | 'full' => m !== 'ceiling')).length : 0;
  // Per run: start-up (tsx compiles on the fly) + warm-up + measure + stop; plus services and the
  // seed; fanout: connecting (about 10 ms a subscriber on a busy machine) and up to 2 s a write.
  const budgetMs =
    120_000 +
    options.seed.donations / 100 +
    (queryRuns + mixedCount) * ((options.warmup + options.duration) * 1000 + 75_000) +
    mixedCount * 50_000 + // mixed primes every key (at most 40 s) and warms up for at least 10 s
    (options.scenarios.includes('fanout') ? 120_000 + options.subscribers * 20 + (options.events + FANOUT_DEFAULTS.warmupEvents) * 2_000 : 0) +
    (options.scenarios.includes('cache-memory') ? 90_000 + options.entries * 20 : 0) +
    (options.scenarios.includes('writes') ? 120_000 : 0); // 600 writes one at a time, and a start-up
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: exceeded ${Math.round(budgetMs / 1000)} s, giving up\n`);
    killAllNow();
    process.exit(1);
  }, budgetMs);
  watchdog.unref();

  const reaped = reapStaleDirs();
  if (reaped.length) process.stderr.write(`bench: removed ${reaped.length} temp dir(s) of killed runs\n`);
  const started = new Date();
  const load0 = os.loadavg();
  process.stderr.write(`bench: starting PostgreSQL and Redis (load average ${load0.map((l) => l.toFixed(2)).join(' ')})\n`);
  const [pgServer, redisServer] = await Promise.all([startPostgres(), startRedis()]);
  const logDir = makeTempDir('logs');
  const dbName = 'lifeline_bench';
  process.stderr.write(
    `bench: seeding ${fmt(options.seed.donors)} donors, ${fmt(options.seed.hospitals)} hospitals, ${fmt(options.seed.donations)} donations\n`,
  );
  const seeded = await seed(pgServer.adminUrl, dbName, options.seed);
  process.stderr.write(`bench: seeded in ${(seeded.durationMs / 1000).toFixed(1)} s\n`);

  const pg = new PgStats(pgServer.adminUrl, dbName);
  const redisStats = new RedisStats(redisServer.url);
  await pg.install();
  const ctx: Context = {
    duration: options.duration,
    connections: options.connections,
    warmup: options.warmup,
    seed: options.seed,
    pg,
    redisStats,
    redisPid: redisServer.child.pid,
    postgresPid: findPostmaster(pgServer.child.pid),
    databaseUrl: databaseUrl(pgServer.adminUrl, dbName),
    redisUrl: redisServer.url,
    logDir,
    runId: String(process.pid),
  };

  const results: ScenarioResult[] = [];
  try {
    // The read-only scenarios first: mixed and fanout write (stock, donors' cities).
    for (const name of options.scenarios) {
      process.stderr.write(`bench: scenario ${name}\n`);
      const scenario = SCENARIOS.find((s) => s.name === name);
      results.push(scenario ? await runQueryScenario(ctx, scenario, options.modes) : await runSpecial(ctx, name as Special, options));
    }
  } finally {
    await pg.close().catch(() => {});
    await redisStats.close().catch(() => {});
  }
  clearTimeout(watchdog);

  const machine = machineInfo(load0);
  const targets = results.flatMap((r) => r.targets);
  let out =
    `\nLifeline benchmark, ${started.toISOString()}: ${options.connections} connections, ${options.duration}s measured after ${options.warmup}s warm-up per server; ` +
    `seed ${fmt(options.seed.donors)} donors / ${fmt(options.seed.hospitals)} hospitals / ${fmt(options.seed.donations)} donations\n` +
    `${machineLine(machine)} (the servers, PostgreSQL, Redis and the load generators share these cores; "other CPU" is everything else that ran meanwhile)\n`;
  for (const r of results) {
    out += `\n### ${r.scenario} — ${r.description}\n\n${r.markdown}\n`;
    for (const w of r.warnings) out += `\n> warning: ${w}`;
    if (r.warnings.length) out += '\n';
  }
  if (targets.length) out += `\n### Targets (issue 6), ratios from this run\n\n${targetsTable(targets)}\n`;
  process.stdout.write(out);

  writeResults(
    'latest',
    {
      benchmark: 'lifeline',
      startedAt: started.toISOString(),
      finishedAt: new Date().toISOString(),
      durationSeconds: Math.round((Date.now() - started.getTime()) / 1000),
      options,
      seed: seeded,
      machine,
      versions: packageVersions(['@apollo/server', 'graphql', 'graphql-ws', 'ws', 'ioredis', 'postgres', 'autocannon', 'lru-cache']),
      targets,
      scenarios: results,
    },
    ` (${Math.round((Date.now() - started.getTime()) / 1000)} s in all)`,
  );
}

runMain('bench', main);
