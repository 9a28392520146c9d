// Which store should hold full responses (issue "Cache core", item 3)? The cost of READING one
// cached response on a hit, for a ~27 KB JSON body (availability / donors-nested size) and a ~2 KB one:
//
//   keyv               Apollo's KeyValueCache path: new KeyvAdapter(new Keyv(new KeyvRedis(url))).get(key)
//                      (@keyv/redis talks to Redis through node-redis; KeyvAdapter batches concurrent
//                      gets with a DataLoader into one MGET; Keyv stores {"value":…,"expires":…} JSON)
//   ioredis-get        ioredis GET → string
//   ioredis-getBuffer  ioredis GET → Buffer (no UTF-8 decoding)
//   lifeline-l2        the cache core as it is now (src/cache): createCache({ l1MaxBytes: 0 }).get() over
//                      createRedisStore, i.e. one pipeline (MGET clock epoch; MGET entry) + decode + JSON.parse
//   lifeline-l1        the same with L1 on: an in-process copy validated by GETRANGE of the entry's stamp
//
// each sequentially (one in flight) and with --concurrency in flight, against its own throwaway
// redis-server on a free 127.0.0.1 port. Interleaved over --rounds; the summary takes each
// variant's median round (by ops/s). Client CPU µs/op is this process's user+system time per read:
// on a hit path that is what the server pays. Bounded: each measurement stops after --iterations
// reads or --max-seconds, whichever comes first.
//
//   npx tsx bench/response-store.ts [--iterations 10000] [--concurrency 50] [--rounds 3] [--max-seconds 5]
//
// Prints markdown tables and writes bench/results/response-store.json.
import os from 'node:os';
import { KeyvAdapter } from '@apollo/utils.keyvadapter';
import KeyvRedis from '@keyv/redis';
import { Redis } from 'ioredis';
import { Keyv } from 'keyv';
import { createCache, type Cache } from '../src/cache/cache.js';
import { createKeyspace } from '../src/cache/keys.js';
import { createRedisStore } from '../src/cache/redis-store.js';
import type { CachedResponse } from '../src/cache/response-cache.js';
import { createLogger } from '../src/observability/logger.js';
import { machineInfo, machineLine, packageVersions, parseIntegerFlags, runMain, writeResults } from './lib/report.js';
import { killAllNow, startRedis } from './lib/services.js';

const VARIANTS = ['keyv', 'ioredis-get', 'ioredis-getBuffer', 'lifeline-l2', 'lifeline-l1'] as const;
type Variant = (typeof VARIANTS)[number];

type Options = {
  iterations: number;
  concurrency: number;
  rounds: number;
  maxSeconds: number;
};

function parseOptions(argv: string[]): Options {
  return parseIntegerFlags<Options>(
    argv,
    { iterations: 10_000, concurrency: 50, rounds: 3, maxSeconds: 5 },
    { iterations: [100, 1_000_000], concurrency: [2, 1000], rounds: [1, 9], maxSeconds: [1, 60] },
    'npx tsx bench/response-store.ts [--iterations 10000] [--concurrency 50] [--rounds 3] [--max-seconds 5]',
  );
}

// ---------------------------------------------------------------- payloads

/** A GraphQL JSON response shaped like availability's: { data: { availability: [ { units, updatedAt, hospital } ] } }. */
function payload(targetBytes: number): string {
  const regions = ['North', 'South', 'East', 'West', 'Central', 'Coast', 'Highlands', 'Islands'];
  const items: unknown[] = [];
  let body = '';
  for (let i = 0; ; i++) {
    items.push({
      units: 500 - ((i * 37) % 480),
      updatedAt: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
      hospital: { id: String(i + 1), name: `${regions[i % 8]} General Hospital ${i + 1}`, city: `City ${i % 31}`, region: regions[i % 8] },
    });
    const next = JSON.stringify({ data: { availability: items } });
    if (Buffer.byteLength(next) > targetBytes) break;
    body = next;
  }
  return body;
}

// ---------------------------------------------------------------- readers

type Reader = () => Promise<number>; // resolves with the byte length read (checked once)

interface Setup {
  readers: Record<Variant, Reader>;
  close(): Promise<void>;
}

async function setup(url: string, body: string, tag: string): Promise<Setup> {
  const key = `bench:resp:${tag}`;
  // (a) Apollo's KeyValueCache over Keyv + @keyv/redis.
  const keyvStore = new KeyvRedis(url);
  const keyv = new Keyv({ store: keyvStore, namespace: `bench-${tag}` });
  keyv.on('error', () => {});
  keyvStore.on('error', () => {});
  const kvc = new KeyvAdapter<string>(keyv);
  await kvc.set(key, body, { ttl: 600 });

  // (b) ioredis directly.
  const redis = new Redis(url, { connectionName: `bench-${tag}`, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => {});
  await redis.set(key, body, 'EX', 600);

  // (c) Lifeline's cache core as it stands (src/cache), L1 off and on, over its own ioredis connection.
  const logger = createLogger('warn', { bench: 'response-store' });
  const coreRedis = new Redis(url, { connectionName: `bench-core-${tag}`, maxRetriesPerRequest: 1, retryStrategy: () => null });
  coreRedis.on('error', () => {});
  const store = createRedisStore(coreRedis, createKeyspace(`bench-${tag}:`));
  const l2 = createCache({ store, logger, l1MaxBytes: 0, timeoutMs: 5_000 });
  const l1 = createCache({ store, logger, l1MaxBytes: 64 * 1024 * 1024, timeoutMs: 5_000 });
  const entryKey = `resp:public:${tag}`;
  const response: CachedResponse = { body, contentType: 'application/json; charset=utf-8', maxAge: 600, scope: 'PUBLIC', storedAt: Date.now() };
  const writeScope = l2.newScope();
  await l2.get(writeScope, [entryKey]); // sets the fence
  await l2.set(writeScope, [{ key: entryKey, value: response, tags: ['Bench:1'], ttlMs: 600_000 }]);
  const cacheRead = (cache: Cache) => async () => {
    const hit = (await cache.get<CachedResponse>(cache.newScope(), [entryKey])).get(entryKey);
    if (!hit || hit.stale) throw new Error('lifeline cache: miss');
    return hit.value.body.length;
  };

  const readers: Record<Variant, Reader> = {
    keyv: async () => ((await kvc.get(key)) ?? '').length,
    'ioredis-get': async () => ((await redis.get(key)) ?? '').length,
    'ioredis-getBuffer': async () => ((await redis.getBuffer(key)) ?? Buffer.alloc(0)).length,
    'lifeline-l2': cacheRead(l2),
    'lifeline-l1': cacheRead(l1),
  };
  // Every reader must return the body we stored.
  const check: Record<Variant, () => Promise<string>> = {
    keyv: async () => (await kvc.get(key)) ?? '',
    'ioredis-get': async () => (await redis.get(key)) ?? '',
    'ioredis-getBuffer': async () => ((await redis.getBuffer(key)) ?? Buffer.alloc(0)).toString('utf8'),
    'lifeline-l2': async () => (await l2.get<CachedResponse>(l2.newScope(), [entryKey])).get(entryKey)?.value.body ?? '',
    'lifeline-l1': async () => (await l1.get<CachedResponse>(l1.newScope(), [entryKey])).get(entryKey)?.value.body ?? '',
  };
  for (const v of VARIANTS) {
    const got = await check[v]();
    if (got !== body) throw new Error(`${v}: read back ${got.length} chars, expected the ${body.length}-char body`);
  }
  return {
    readers,
    close: async () => {
      l1.close();
      l2.close();
      await Promise.allSettled([keyv.disconnect(), redis.quit(), coreRedis.quit()]);
    },
  };
}

// ---------------------------------------------------------------- measurement

interface Measurement {
  variant: Variant;
  size: string;
  bytes: number;
  mode: 'sequential' | 'concurrent';
  inFlight: number;
  round: number;
  ops: number;
  opsPerSecond: number;
  p50Us: number;
  p99Us: number;
  clientCpuMicrosPerOp: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function run(read: Reader, inFlight: number, iterations: number, maxSeconds: number) {
  const latencies = new Float64Array(iterations);
  let issued = 0;
  let done = 0;
  const deadline = performance.now() + maxSeconds * 1000;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const worker = async () => {
    while (issued < iterations && performance.now() < deadline) {
      issued++;
      const s = performance.now();
      await read();
      latencies[done++] = (performance.now() - s) * 1000;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const sorted = latencies.subarray(0, done).sort();
  return {
    ops: done,
    opsPerSecond: done / wall,
    p50Us: percentile(sorted, 50),
    p99Us: percentile(sorted, 99),
    clientCpuMicrosPerOp: (cpu.user + cpu.system) / done,
  };
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function median<T>(items: T[], by: (t: T) => number): T {
  const sorted = [...items].sort((a, b) => by(a) - by(b));
  return sorted[(sorted.length - 1) >> 1]!;
}

function table(rows: Measurement[]): string {
  const lines = [
    '| payload | reads | variant | ops/s | p50 µs | p99 µs | client CPU µs/op | vs ioredis GET |',
    '|---|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const base = rows.find((x) => x.size === r.size && x.mode === r.mode && x.variant === 'ioredis-get')!;
    lines.push(
      `| ${r.size} (${fmt(r.bytes)} B) | ${r.mode === 'sequential' ? '1 in flight' : `${r.inFlight} in flight`} | ${r.variant} | ` +
        `${fmt(r.opsPerSecond)} | ${fmt(r.p50Us)} | ${fmt(r.p99Us)} | ${fmt(r.clientCpuMicrosPerOp, 1)} | ${fmt(r.opsPerSecond / base.opsPerSecond, 2)}× |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const sizes = [
    { size: '27 KB', body: payload(27_000) },
    { size: '2 KB', body: payload(2_000) },
  ];
  const measurementsPerRound = sizes.length * VARIANTS.length * 2 + sizes.length * VARIANTS.length; // + warm-ups
  const budgetMs = 60_000 + options.rounds * measurementsPerRound * (options.maxSeconds * 1000 + 2_000);
  const watchdog = setTimeout(() => {
    process.stderr.write(`response-store: exceeded ${Math.round(budgetMs / 1000)} s, giving up\n`);
    killAllNow();
    process.exit(1);
  }, budgetMs);
  watchdog.unref();

  const load0 = os.loadavg();
  const redisServer = await startRedis();
  process.stderr.write(`response-store: redis-server on ${redisServer.url}; load average ${load0.map((l) => l.toFixed(2)).join(' ')}\n`);
  const setups = new Map<string, Setup>();
  for (const { size, body } of sizes) setups.set(size, await setup(redisServer.url, body, size.replace(/\s/g, '')));

  const all: Measurement[] = [];
  try {
    for (let round = 1; round <= options.rounds; round++) {
      for (const { size, body } of sizes) {
        const { readers } = setups.get(size)!;
        for (const variant of VARIANTS) {
          // Warm-up (JIT, connections, L1), then sequential, then concurrent.
          await run(readers[variant], options.concurrency, Math.min(2_000, options.iterations), options.maxSeconds);
          for (const [mode, inFlight] of [
            ['sequential', 1],
            ['concurrent', options.concurrency],
          ] as const) {
            const r = await run(readers[variant], inFlight, options.iterations, options.maxSeconds);
            all.push({ variant, size, bytes: Buffer.byteLength(body), mode, inFlight, round, ...r });
            process.stderr.write(`  round ${round} ${size} ${variant} ${mode}: ${fmt(r.opsPerSecond)} ops/s, p50 ${fmt(r.p50Us)} µs, p99 ${fmt(r.p99Us)} µs\n`);
          }
        }
      }
    }
  } finally {
    for (const s of setups.values()) await s.close();
  }
  clearTimeout(watchdog);

  const summary: Measurement[] = [];
  for (const { size } of sizes) {
    for (const mode of ['sequential', 'concurrent'] as const) {
      for (const variant of VARIANTS) {
        summary.push(median(all.filter((m) => m.size === size && m.mode === mode && m.variant === variant), (m) => m.opsPerSecond));
      }
    }
  }
  const markdown = table(summary);
  const machine = machineInfo(load0);
  process.stdout.write(
    `\nResponse store, read of one cached response on a hit (median of ${options.rounds} round(s); up to ${fmt(options.iterations)} reads ` +
      `or ${options.maxSeconds}s per measurement)\n${machineLine(machine)}\n\n${markdown}\n`,
  );
  const versions = packageVersions(['@apollo/utils.keyvadapter', 'keyv', '@keyv/redis', '@redis/client', 'ioredis']);
  writeResults('response-store', { benchmark: 'response-store', options, machine, versions, summary, measurements: all, markdown });
}

runMain('response-store', main);
