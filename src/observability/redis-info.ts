// Redis's own figures for /metrics (memory, evictions, expirations, keyspace hits and misses),
// read from INFO. A scrape never sends INFO itself when a reading younger than `maxAgeMs` exists,
// and concurrent scrapes share one reading in flight: Prometheus, a dashboard and a curl
// scraping at once cost one INFO per node per interval, not one per scrape.
//
// On Redis Cluster every master is read and reported under its own `node` label (sum them in
// PromQL): memory limits and evictions are per node, so a sum alone would hide the full one.
import type { Cluster, Redis } from 'ioredis';
import type { RedisClient } from '../redis/client.js';

export interface RedisNodeInfo {
  /** host:port as the client knows it. */
  node: string;
  usedMemory: number;
  peakMemory: number;
  /** `maxmemory`; 0 when unlimited. */
  maxMemory: number;
  evictedKeys: number;
  expiredKeys: number;
  keyspaceHits: number;
  keyspaceMisses: number;
}

export interface RedisInfoReader {
  /** The latest reading per node, refreshed when older than maxAgeMs; [] when Redis cannot answer. */
  read(): Promise<RedisNodeInfo[]>;
  /** INFO commands sent so far (tests check that bursts of scrapes share them). */
  readonly commands: number;
}

/** Parses the `key:value` lines of INFO into numbers (non-numeric fields are dropped). */
export function parseInfo(text: string): Map<string, number> {
  const fields = new Map<string, number>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0 || line.startsWith('#')) continue;
    const value = Number(line.slice(colon + 1));
    if (Number.isFinite(value)) fields.set(line.slice(0, colon), value);
  }
  return fields;
}

function nodeInfo(node: string, text: string): RedisNodeInfo {
  const f = parseInfo(text);
  const n = (k: string) => f.get(k) ?? 0;
  return {
    node,
    usedMemory: n('used_memory'),
    peakMemory: n('used_memory_peak'),
    maxMemory: n('maxmemory'),
    evictedKeys: n('evicted_keys'),
    expiredKeys: n('expired_keys'),
    keyspaceHits: n('keyspace_hits'),
    keyspaceMisses: n('keyspace_misses'),
  };
}

const isCluster = (client: RedisClient): client is Cluster => (client as Cluster).isCluster === true;
const address = (r: Redis) => `${r.options.host ?? 'localhost'}:${r.options.port ?? 6379}`;

export function createRedisInfoReader(client: RedisClient, options: { maxAgeMs?: number; timeoutMs?: number } = {}): RedisInfoReader {
  const maxAgeMs = options.maxAgeMs ?? 5_000;
  const timeoutMs = options.timeoutMs ?? 1_000;
  let last: { at: number; nodes: RedisNodeInfo[] } | null = null;
  let inFlight: Promise<RedisNodeInfo[]> | null = null;
  let commands = 0;

  async function fetchAll(): Promise<RedisNodeInfo[]> {
    const nodes: Redis[] = isCluster(client) ? client.nodes('master') : [client];
    const infos = await Promise.all(
      nodes.map(async (node) => {
        commands++;
        // Memory and stats sections only: INFO's other sections cost more and are not used.
        const [memory, stats] = await Promise.all([node.info('memory'), node.info('stats')]);
        return nodeInfo(address(node), `${memory}\n${stats}`);
      }),
    );
    return infos;
  }

  return {
    get commands() {
      return commands;
    },
    async read() {
      if (last && Date.now() - last.at < maxAgeMs) return last.nodes;
      if (!inFlight) {
        let timer: NodeJS.Timeout | undefined;
        inFlight = Promise.race([
          fetchAll(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error('INFO timed out')), timeoutMs);
          }),
        ])
          .then((nodes) => {
            last = { at: Date.now(), nodes };
            return nodes;
          })
          .catch(() => {
            // Redis down: report nothing rather than stale numbers, and do not retry on every
            // scrape of the outage (the same interval applies to failures).
            last = { at: Date.now(), nodes: [] };
            return [];
          })
          .finally(() => {
            clearTimeout(timer);
            inFlight = null;
          });
      }
      return inFlight;
    },
  };
}
