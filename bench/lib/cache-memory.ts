// The `cache-memory` step (issue 6: "memory per cached entry, reported"): one Lifeline with
// CACHE_MODE=full; N distinct `donor(id)` responses are filled (one document, the id as a
// variable, so only cache entries differ between requests, not Apollo's parsed-document
// cache), then each read again so its L1 copy is made from Redis. Per entry:
//   Redis       INFO used_memory and DBSIZE deltas / N (the response entry, its entity entry,
//               tag index members; whatever one distinct cached response costs in L2)
//   L1 (heap)   the server's heap after GC (its /metrics, with bench/lib/gc-hook.ts) delta / N
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { GqlClient } from './http-client.js';
import { memoryAfterGc, perItem, type MemorySample } from './memory.js';
import { logProblems, startLifeline } from './servers.js';
import { fmt, kib, type BenchContext, type Target } from './window.js';

const QUERY = 'query Donor($id: ID!) { donor(id: $id) { id name bloodGroup region city lastDonationAt eligible points } }';
const CONCURRENCY = 16;

export interface CacheMemoryResult {
  entries: number;
  query: string;
  averageResponseBytes: number;
  xCache: { fill: Record<string, number>; reread: Record<string, number> };
  redis: { usedMemoryBytesPerEntry: number; keysPerEntry: number };
  server: MemorySample;
  serverLogProblems: { count: number; samples: string[] };
}

export async function runCacheMemory(ctx: BenchContext, entries: number): Promise<{ result: CacheMemoryResult; markdown: string; targets: Target[]; warnings: string[] }> {
  const n = Math.min(entries, ctx.seed.donors);
  const logFile = path.join(ctx.logDir, 'cache-memory.log');
  fs.writeFileSync(logFile, '');
  const server = await startLifeline(
    { databaseUrl: ctx.databaseUrl, redisUrl: ctx.redisUrl, cacheMode: 'full', cachePrefix: `bench${ctx.runId}-memory:`, gcHook: true },
    logFile,
  );
  const redis = new Redis(ctx.redisUrl, { maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => {});
  const client = new GqlClient(server.port, CONCURRENCY);
  try {
    // One request first: the document is parsed and planned once, outside the measurement.
    await client.data(QUERY, { id: '1' });
    const redisState = async () => ({ used: Number(/^used_memory:(\d+)/m.exec(await redis.info('memory'))?.[1]), keys: await redis.dbsize() });
    const heapBefore = await memoryAfterGc(server);
    const redisBefore = await redisState();
    let bytes = 0;
    const pass = async () => {
      const xCache: Record<string, number> = {};
      let next = 2;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next <= n + 1) {
            const id = next++;
            if (id > ctx.seed.donors) continue;
            const r = await client.post(QUERY, { id: String(id) });
            if (r.status !== 200 || !r.json?.data) throw new Error(`donor(${id}): HTTP ${r.status}`);
            xCache[r.xCache] = (xCache[r.xCache] ?? 0) + 1;
            bytes += r.bytes;
          }
        }),
      );
      return xCache;
    };
    const fill = await pass();
    const filledBytes = bytes;
    const reread = await pass();
    const redisAfter = await redisState();
    const heapAfter = await memoryAfterGc(server);
    const filled = Object.values(fill).reduce((a, b) => a + b, 0);
    const result: CacheMemoryResult = {
      entries: filled,
      query: QUERY,
      averageResponseBytes: filledBytes / Math.max(1, filled),
      xCache: { fill, reread },
      redis: { usedMemoryBytesPerEntry: (redisAfter.used - redisBefore.used) / filled, keysPerEntry: (redisAfter.keys - redisBefore.keys) / filled },
      server: perItem(heapBefore, heapAfter, filled),
      serverLogProblems: logProblems(logFile),
    };
    const markdown =
      `${fmt(filled)} distinct \`donor(id)\` responses of ${fmt(result.averageResponseBytes)} bytes each (x-cache on fill ${JSON.stringify(fill)}, on re-read ${JSON.stringify(reread)}):\n\n` +
      '| per cached response | Redis used_memory | Redis keys | server heap after GC (L1 copy + bookkeeping) | server RSS |\n|---|---:|---:|---:|---:|\n' +
      `| one entry | ${kib(result.redis.usedMemoryBytesPerEntry)} | ${fmt(result.redis.keysPerEntry, 2)} | ${kib(result.server.heapUsedBytes)} | ${kib(result.server.rssBytes)} |`;
    const targets: Target[] = [
      {
        scenario: 'cache-memory',
        target: 'memory per cached entry: reported',
        measured: `${kib(result.redis.usedMemoryBytesPerEntry)} in Redis, ${kib(result.server.heapUsedBytes)} server heap`,
        pass: null,
      },
    ];
    const warnings = result.serverLogProblems.count ? [`${result.serverLogProblems.count} warn/error log lines: ${result.serverLogProblems.samples.join(' | ')}`] : [];
    if ((reread.HIT ?? 0) < filled) warnings.push(`re-read answered ${JSON.stringify(reread)}: not every entry was a HIT`);
    return { result, markdown, targets, warnings };
  } finally {
    client.close();
    redis.disconnect();
    await server.stop();
  }
}
