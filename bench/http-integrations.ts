// Compares HTTP integrations for Apollo Server 5 on a cached query (docs/development.md).
//
//   npx tsx bench/http-integrations.ts [--duration 10] [--connections 50] [--warmup 3] [--rounds 1]
//
// One run starts three servers, one at a time, each in its own child process on a free
// 127.0.0.1 port, so the load generator (autocannon, in this parent process) never shares
// the server's event loop:
//   node-http-adapter  Node `http` + the project's adapter (createHttpHandler, src/http/server.ts)
//   express5           express 5 + express.json() + @as-integrations/express5 expressMiddleware
//   raw-ceiling        Node `http` answering with the same bytes, precomputed (no GraphQL at all)
// The two GraphQL servers run the REAL project schema (buildSchema() over schema/*.graphql)
// and the same ApolloServer options as src/app.ts in production, with Query.hospitals
// overridden to return a fixed in-memory list of 20 hospitals: a cache hit, no database.
// The per-request context is the real createContext() (fresh DataLoaders per request)
// over a stub database that is never queried.
//
// With --rounds N the three servers are measured N times, interleaved (a b c a b c ...),
// and the summary holds each server's median; useful on a shared, noisy machine. The
// "other CPU" column is what the rest of the machine used meanwhile (all cores' busy time
// minus the server's and autocannon's): when it is not near 0, the figures are contended.
//
// Prints a markdown table and writes bench/results/http-integrations.json (gitignored).
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { ApolloServerPluginCacheControl } from '@apollo/server/plugin/cacheControl';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import autocannon from 'autocannon';
import express from 'express';
import type { HospitalRow } from '../src/db/schema.js';
import { createContext, type AppServices, type GraphQLContext } from '../src/graphql/context.js';
import { formatError } from '../src/graphql/format-error.js';
import type { Resolvers } from '../src/graphql/generated/resolvers-types.js';
import { buildSchema } from '../src/graphql/schema.js';
import { createHttpHandler } from '../src/http/server.js';
import { createLogger } from '../src/observability/logger.js';
import { childLifetime, startIpcChild, toParent } from './lib/child.js';
import { probe, runLoad } from './lib/load.js';
import { machineInfo, machineLine, packageVersions, parseIntegerFlags, runMain, writeResults } from './lib/report.js';
import { HOST, killAllNow, processCpuSeconds } from './lib/services.js';
import { fmt, measureWindow } from './lib/window.js';

const KINDS = ['node-http-adapter', 'express5', 'raw-ceiling'] as const;
type Kind = (typeof KINDS)[number];

const DESCRIPTIONS: Record<Kind, string> = {
  'node-http-adapter': 'Node http + createHttpHandler (current)',
  express5: 'express 5 + express.json() + expressMiddleware',
  'raw-ceiling': 'raw Node http, precomputed bytes (ceiling)',
};

const GRAPHQL_PATH = '/graphql';
const QUERY = 'query Hospitals { hospitals { id name region city } }';
const REQUEST_BODY = JSON.stringify({ query: QUERY, operationName: 'Hospitals' });
const HOSPITAL_COUNT = 20;
const MAX_BODY_BYTES = 1_000_000;
const CHILD_READY_TIMEOUT_MS = 30_000;

type ChildMessage = { type: 'ready'; port: number } | { type: 'error'; message: string };

// ---------------------------------------------------------------------------------------
// Child: one server.
// ---------------------------------------------------------------------------------------

async function buildApollo() {
  const regions = ['North', 'South', 'East', 'West', 'Central', 'Coast', 'Highlands', 'Islands'];
  const hospitals: HospitalRow[] = Array.from({ length: HOSPITAL_COUNT }, (_, i) => ({
    id: i + 1,
    name: `${regions[i % regions.length]} General Hospital ${String(i + 1).padStart(2, '0')}`,
    region: regions[i % regions.length],
    city: `City ${String.fromCharCode(65 + i)}`,
  })).sort((a, b) => a.name.localeCompare(b.name) || a.id - b.id);

  // Same shape as the real resolver (it primes the per-request hospital loader), minus SQL.
  const cachedHospitals: Resolvers = {
    Query: {
      hospitals: (_p, _args, { loaders }) => {
        for (const h of hospitals) loaders.hospital.prime(h.id, h);
        return hospitals;
      },
    },
  };

  const logger = createLogger('warn', { bench: 'http-integrations' });
  const services: AppServices = {
    // Never queried: the only resolver the benchmark reaches is the in-memory one above.
    database: { db: {} } as unknown as AppServices['database'],
    auth: {} as unknown as AppServices['auth'],
    logger,
    write: {} as unknown as AppServices['write'],
    publish: async () => {},
    // The integrations are compared without the response cache in front.
    cache: null,
    cacheMode: 'off',
    cacheTtlMs: () => 0,
    purgeCache: async () => 0,
    now: () => new Date(),
  };

  // Mirrors src/app.ts with NODE_ENV=production.
  const apollo = new ApolloServer<GraphQLContext>({
    schema: buildSchema([cachedHospitals]),
    introspection: false,
    csrfPrevention: true,
    includeStacktraceInErrorResponses: false,
    formatError: formatError({ maskInternal: true, logger }),
    plugins: [ApolloServerPluginCacheControl({ defaultMaxAge: 0, calculateHttpHeaders: true }), ApolloServerPluginLandingPageDisabled()],
  });
  await apollo.start();
  // app.ts authenticates first; with no Authorization header that yields viewer = null.
  const context = async (requestId: string): Promise<GraphQLContext> => createContext(services, null, requestId);
  return { apollo, context, logger, services };
}

async function startNodeHttpAdapter(): Promise<Server> {
  const { apollo, logger, services } = await buildApollo();
  const server = createServer();
  server.on(
    'request',
    createHttpHandler({
      apollo,
      verify: async () => null,
      checkSession: async () => {},
      context: (viewer, requestId) => createContext(services, viewer, requestId),
      responseCache: null,
      readiness: [],
      maxBodyBytes: MAX_BODY_BYTES,
      logger,
    }),
  );
  return server;
}

async function startExpress5(): Promise<Server> {
  const { apollo, context } = await buildApollo();
  const app = express();
  // The same per-request work as the adapter: an x-request-id, echoed or generated.
  app.use((req, res, next) => {
    const requestId = (req.headers['x-request-id'] as string | undefined)?.slice(0, 64) || randomUUID();
    res.locals.requestId = requestId;
    res.setHeader('x-request-id', requestId);
    next();
  });
  app.use(
    GRAPHQL_PATH,
    express.json({ limit: MAX_BODY_BYTES }),
    expressMiddleware(apollo, { context: async ({ res }) => context(res.locals.requestId as string) }),
  );
  return createServer(app);
}

async function startRawCeiling(): Promise<Server> {
  // Ask Apollo once for the real answer, then serve exactly those bytes and headers.
  const { apollo, context } = await buildApollo();
  const response = await apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: {
      method: 'POST',
      headers: new HeaderMap([['content-type', 'application/json']]),
      search: '',
      body: JSON.parse(REQUEST_BODY),
    },
    context: () => context('precompute'),
  });
  if (response.body.kind !== 'complete') throw new Error('expected a complete response to precompute');
  const body = Buffer.from(response.body.string);
  await apollo.stop();
  const headers: Record<string, string | number> = { 'content-length': body.length };
  for (const [key, value] of response.headers) headers[key] = value;
  const status = response.status ?? 200;
  return createServer((req, res) => {
    // Still read the request body, as any real server must, then answer.
    req.on('data', () => {});
    req.on('end', () => {
      res.writeHead(status, { ...headers, 'x-request-id': randomUUID() });
      res.end(body);
    });
  });
}

async function runChild(kind: Kind): Promise<void> {
  childLifetime();
  try {
    const server = await (kind === 'node-http-adapter' ? startNodeHttpAdapter() : kind === 'express5' ? startExpress5() : startRawCeiling());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, HOST, () => resolve());
    });
    toParent({ type: 'ready', port: (server.address() as AddressInfo).port } satisfies ChildMessage);
  } catch (err) {
    toParent({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies ChildMessage);
    process.exit(1);
  }
}

// ---------------------------------------------------------------------------------------
// Parent: orchestration and load.
// ---------------------------------------------------------------------------------------

type Options = {
  duration: number;
  connections: number;
  warmup: number;
  rounds: number;
};

function parseOptions(argv: string[]): Options {
  return parseIntegerFlags<Options>(
    argv,
    { duration: 10, connections: 50, warmup: 3, rounds: 1 },
    { duration: [1, 60], connections: [1, 1000], warmup: [0, 30], rounds: [1, 5] },
    'npx tsx bench/http-integrations.ts [--duration 10] [--connections 50] [--warmup 3] [--rounds 1]',
  );
}

interface Running {
  port: number;
  /** CPU seconds (user + system) the server child used so far, from /proc. */
  cpuSeconds(): number | null;
  stop(): Promise<void>;
}

async function startChild(kind: Kind, maxLifetimeMs: number): Promise<Running> {
  const child = startIpcChild<ChildMessage>(__filename, ['--serve', kind], { name: kind, maxLifetimeMs });
  try {
    const port = await child.next(
      (m) => (m.type === 'ready' ? m.port : m.type === 'error' ? new Error(`${kind} failed to start:\n${m.message}`) : undefined),
      CHILD_READY_TIMEOUT_MS,
      'ready',
    );
    if (port instanceof Error) throw port;
    return { port, cpuSeconds: () => processCpuSeconds(child.child.pid), stop: () => child.stop() };
  } catch (err) {
    await child.stop();
    throw err;
  }
}

interface Row {
  kind: Kind;
  round: number;
  description: string;
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; average: number; max: number };
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  throughputBytesPerSecond: number;
  responseBytes: number;
  /** Server child's CPU during the measured window, in cores (1.0 = one core busy). */
  serverCpuCores: number;
  /** This process's (autocannon's) CPU during the measured window, in cores. */
  loadGeneratorCpuCores: number;
  /** Everything else on the machine during the measured window, in cores. */
  otherCpuCores: number;
  loadAverage1m: number;
}

async function measure(kind: Kind, round: number, options: Options, maxLifetimeMs: number, referenceBody: { value?: string }): Promise<Row> {
  const server = await startChild(kind, maxLifetimeMs);
  try {
    const first = await probe(server.port, REQUEST_BODY);
    if (first.status !== 200) throw new Error(`${kind}: probe answered ${first.status}: ${first.body.slice(0, 500)}`);
    const parsed = JSON.parse(first.body) as { data?: { hospitals?: unknown[] }; errors?: unknown };
    if (parsed.errors || parsed.data?.hospitals?.length !== HOSPITAL_COUNT) throw new Error(`${kind}: unexpected probe body ${first.body.slice(0, 500)}`);
    referenceBody.value ??= first.body;
    if (first.body !== referenceBody.value) throw new Error(`${kind}: response body differs from the first server's`);
    process.stderr.write(
      `round ${round}, ${kind}: port ${server.port}, ${Buffer.byteLength(first.body)} body bytes, cache-control "${first.headers['cache-control'] ?? ''}"; ` +
        `warm-up ${options.warmup}s, measure ${options.duration}s x ${options.connections} connections\n`,
    );
    const load = (durationSeconds: number) => runLoad({ port: server.port, body: REQUEST_BODY, connections: options.connections, durationSeconds });
    if (options.warmup > 0) await load(options.warmup);
    const { result, window: w } = await measureWindow({}, server, { lifeline: false }, () => load(options.duration));
    return {
      kind,
      round,
      description: DESCRIPTIONS[kind],
      requestsPerSecond: result.requestsPerSecond,
      latencyMs: result.latencyMs,
      requests: result.requests,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      throughputBytesPerSecond: result.throughputBytesPerSecond,
      responseBytes: Buffer.byteLength(first.body),
      serverCpuCores: (w.serverCpuSeconds ?? NaN) / w.wallSeconds,
      loadGeneratorCpuCores: w.loadGeneratorCpuSeconds / w.wallSeconds,
      otherCpuCores: w.otherCpuCores,
      loadAverage1m: w.loadAverage1m.before,
    };
  } finally {
    await server.stop();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Every measurement, in the order taken. */
function detailTable(rows: Row[]): string {
  const lines = [
    '| round | server | req/s | p50 ms | p99 ms | % of ceiling | server CPU | autocannon CPU | other CPU | non-2xx / errors |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const ceiling = rows.find((c) => c.round === r.round && c.kind === 'raw-ceiling')?.requestsPerSecond;
    lines.push(
      `| ${r.round} | ${r.description} | ${fmt(r.requestsPerSecond)} | ${r.latencyMs.p50} | ${r.latencyMs.p99} | ` +
        `${ceiling ? `${fmt((100 * r.requestsPerSecond) / ceiling)}%` : 'n/a'} | ` +
        `${fmt(r.serverCpuCores, 2)} | ${fmt(r.loadGeneratorCpuCores, 2)} | ${fmt(r.otherCpuCores, 2)} | ${r.non2xx} / ${r.errors + r.timeouts} |`,
    );
  }
  return lines.join('\n');
}

interface Summary {
  kind: Kind;
  description: string;
  rounds: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  percentOfCeiling: number;
  cpuMicrosPerRequest: number;
}

/** Medians over rounds, per server. */
function summarize(rows: Row[]): Summary[] {
  const ceiling = median(rows.filter((r) => r.kind === 'raw-ceiling').map((r) => r.requestsPerSecond));
  return KINDS.map((kind) => {
    const mine = rows.filter((r) => r.kind === kind);
    const rps = median(mine.map((r) => r.requestsPerSecond));
    return {
      kind,
      description: DESCRIPTIONS[kind],
      rounds: mine.length,
      requestsPerSecond: rps,
      p50Ms: median(mine.map((r) => r.latencyMs.p50)),
      p99Ms: median(mine.map((r) => r.latencyMs.p99)),
      percentOfCeiling: (100 * rps) / ceiling,
      // Server CPU time per request: the figure least sensitive to a contended machine.
      cpuMicrosPerRequest: median(mine.map((r) => (r.serverCpuCores * 1e6) / r.requestsPerSecond)),
    };
  });
}

function summaryTable(summary: Summary[]): string {
  const lines = ['| server | req/s | p50 ms | p99 ms | % of ceiling | server CPU µs/req |', '|---|---:|---:|---:|---:|---:|'];
  for (const s of summary) {
    lines.push(
      `| ${s.description} | ${fmt(s.requestsPerSecond)} | ${fmt(s.p50Ms, Number.isInteger(s.p50Ms) ? 0 : 1)} | ` +
        `${fmt(s.p99Ms, Number.isInteger(s.p99Ms) ? 0 : 1)} | ${fmt(s.percentOfCeiling)}% | ${fmt(s.cpuMicrosPerRequest)} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const perServerBudgetMs = (options.warmup + options.duration) * 1000 + CHILD_READY_TIMEOUT_MS + 15_000;
  const totalBudgetMs = perServerBudgetMs * KINDS.length * options.rounds;
  // Hard bound on the whole run: whatever hangs, children die and the run fails.
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: exceeded ${Math.round(totalBudgetMs / 1000)} s, giving up\n`);
    killAllNow();
    process.exit(1);
  }, totalBudgetMs);
  watchdog.unref();

  const started = new Date();
  const load0 = os.loadavg();
  const referenceBody: { value?: string } = {};
  const rows: Row[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    for (const kind of KINDS) rows.push(await measure(kind, round, options, perServerBudgetMs, referenceBody));
  }
  clearTimeout(watchdog);

  const machine = machineInfo(load0);
  const summary = summarize(rows);
  const markdown = summaryTable(summary);
  const details = detailTable(rows);
  process.stdout.write(
    `\nHTTP integrations, cached \`hospitals\` query (${HOSPITAL_COUNT} rows, real schema, no database); ` +
      `${options.connections} connections, ${options.duration}s after ${options.warmup}s warm-up, ${options.rounds} round(s)\n${machineLine(machine)}\n\n` +
      `Every measurement (CPU columns in cores):\n\n${details}\n\n` +
      `${options.rounds > 1 ? 'Median per server' : 'Summary'}:\n\n${markdown}\n`,
  );
  writeResults('http-integrations', {
    benchmark: 'http-integrations',
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    options,
    request: { method: 'POST', path: GRAPHQL_PATH, contentType: 'application/json', body: REQUEST_BODY },
    schema: 'project schema (schema/*.graphql) with Query.hospitals returning a fixed in-memory list',
    machine,
    versions: packageVersions(['@apollo/server', 'express', '@as-integrations/express5', 'autocannon', 'graphql']),
    summary,
    measurements: rows,
    markdown: { summary: markdown, measurements: details },
  });
}

if (process.argv[2] === '--serve') {
  const kind = process.argv[3] as Kind;
  if (!KINDS.includes(kind)) {
    process.stderr.write(`unknown server kind ${kind}\n`);
    process.exit(1);
  }
  void runChild(kind);
} else {
  runMain('http-integrations', main);
}
