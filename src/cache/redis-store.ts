import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { STAMP_LENGTH } from './codec.js';
import type { Keyspace } from './keys.js';
import { VERSION_TTL_MS, type CacheStore, type ReadResult, type WriteItem } from './store.js';

// Every key a script touches is `base ..` something (keys.ts): one hash tag, so one Cluster
// slot. KEYS names the fixed keys (the epoch, the clock) so that a cluster client routes the
// script to the master owning that slot; the per-tag and per-entry keys cannot all be declared
// (the invalidation deletes whatever its index sets list), and need not be: they share the slot.

// Conditional write of many entries (one round trip per batch).
// KEYS[1]: the epoch key. ARGV: base, epoch, fence, n, then per item: key, ttlMs, value, ntags, tags...
const WRITE = `
local base, epoch, fence, n = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local out = {}
local current = redis.call('GET', KEYS[1]) or '0'
local pos = 5
for i = 1, n do
  local key, ttl, value, ntags = ARGV[pos], tonumber(ARGV[pos + 1]), ARGV[pos + 2], tonumber(ARGV[pos + 3])
  local ok = 1
  if current ~= epoch then ok = 0 end
  if ok == 1 then
    for t = 1, ntags do
      local v = redis.call('GET', base .. 'v:' .. ARGV[pos + 3 + t])
      -- Invalidated after this reader's fence: its data may predate the change.
      if v and tonumber(v) > fence then ok = 0 break end
    end
  end
  if ok == 1 then
    local full = base .. epoch .. ':' .. key
    redis.call('SET', full, value, 'PX', ttl)
    for t = 1, ntags do
      local idx = base .. epoch .. ':idx:' .. ARGV[pos + 3 + t]
      redis.call('SADD', idx, full)
      -- Every index expires, no earlier than the entries it lists.
      if redis.call('PTTL', idx) < ttl then redis.call('PEXPIRE', idx, ttl) end
    end
  end
  out[i] = ok
  pos = pos + 4 + ntags
end
return out
`;

// KEYS[1]: the epoch key, KEYS[2]: the clock. ARGV: base, versionTtlMs, tags...
const INVALIDATE = `
local base, verTtl = ARGV[1], tonumber(ARGV[2])
local epoch = redis.call('GET', KEYS[1]) or '0'
local g = redis.call('INCR', KEYS[2])
local deleted = 0
for i = 3, #ARGV do
  local tag = ARGV[i]
  redis.call('SET', base .. 'v:' .. tag, g, 'PX', verTtl)
  local idx = base .. epoch .. ':idx:' .. tag
  local members = redis.call('SMEMBERS', idx)
  for s = 1, #members, 500 do
    local chunk = {}
    for j = s, math.min(s + 499, #members) do chunk[#chunk + 1] = members[j] end
    deleted = deleted + redis.call('UNLINK', unpack(chunk))
  end
  redis.call('UNLINK', idx)
end
return {g, deleted}
`;

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

// INFO of the server holding KEYS[1]. On a cluster that is the master owning the cache's slot
// (a plain INFO would go to any node): the dataset whose restart or failover loses writes.
const SERVER_INFO = `return redis.call('INFO', 'server')`;

type Scripted = (Redis | Cluster) & {
  lifelineCacheWrite(...args: (string | number)[]): Promise<number[]>;
  lifelineCacheInvalidate(...args: (string | number)[]): Promise<[number, number]>;
  lifelineCacheRelease(key: string, token: string): Promise<number>;
  lifelineCacheServerInfo(key: string): Promise<string>;
};

export interface RedisStoreOptions {
  /** TEST ONLY: store entries without the fence check, to show the race tests catch stale write-backs. */
  unsafeSkipFence?: boolean;
}

export function createRedisStore(redis: Redis | Cluster, keys: Keyspace, options: RedisStoreOptions = {}): CacheStore {
  const client = redis as Scripted;
  if (!(client as unknown as Record<string, unknown>).lifelineCacheWrite) {
    redis.defineCommand('lifelineCacheWrite', { numberOfKeys: 1, lua: WRITE });
    redis.defineCommand('lifelineCacheInvalidate', { numberOfKeys: 2, lua: INVALIDATE });
    redis.defineCommand('lifelineCacheRelease', { numberOfKeys: 1, lua: RELEASE });
    redis.defineCommand('lifelineCacheServerInfo', { numberOfKeys: 1, lua: SERVER_INFO });
  }

  return {
    async read(epoch, entryKeys, stampKeys): Promise<ReadResult> {
      // One slot (keys.ts), so a cluster client sends the whole pipeline to one master.
      const p = client.pipeline();
      p.mget(keys.clock, keys.epoch);
      if (entryKeys.length) p.mget(...entryKeys.map((k) => keys.entry(epoch, k)));
      for (const k of stampKeys) p.getrange(keys.entry(epoch, k), 0, STAMP_LENGTH - 1);
      const results = (await p.exec()) ?? [];
      for (const [err] of results) if (err) throw err;
      const [clock, currentEpoch] = results[0]![1] as (string | null)[];
      const values = entryKeys.length ? (results[1]![1] as (string | null)[]) : [];
      const offset = entryKeys.length ? 2 : 1;
      const stamps = stampKeys.map((_, i) => (results[offset + i]![1] as string) || null);
      return { clock: Number(clock ?? 0), epoch: currentEpoch ?? '0', values, stamps };
    },
    async write(epoch, items: WriteItem[], fence) {
      if (!items.length) return [];
      const args: (string | number)[] = [keys.epoch, keys.base, epoch, options.unsafeSkipFence ? Number.MAX_SAFE_INTEGER : fence, items.length];
      for (const item of items) args.push(item.key, Math.max(1, Math.round(item.ttlMs)), item.value, item.tags.length, ...item.tags);
      const result = await client.lifelineCacheWrite(...args);
      return result.map((r) => r === 1);
    },
    async invalidate(tags) {
      if (!tags.length) return { clock: 0, deleted: 0 };
      const [clock, deleted] = await client.lifelineCacheInvalidate(keys.epoch, keys.clock, keys.base, VERSION_TTL_MS, ...tags);
      return { clock: Number(clock), deleted: Number(deleted) };
    },
    async tryLease(epoch, key, token, ttlMs) {
      return (await client.set(keys.lease(epoch, key), token, 'PX', ttlMs, 'NX')) === 'OK';
    },
    async releaseLease(epoch, key, token) {
      await client.lifelineCacheRelease(keys.lease(epoch, key), token);
    },
    async bumpEpoch() {
      // Unique, not a counter: a Redis restored from a snapshot could otherwise hand out an
      // epoch that was already used (and written under) before the restore.
      const next = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
      await client.set(keys.epoch, next);
      return next;
    },
    async identity() {
      const info = await client.lifelineCacheServerInfo(keys.clock);
      return /run_id:(\w+)/.exec(info)?.[1] ?? null;
    },
  };
}
