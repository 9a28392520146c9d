import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '../observability/logger.js';
import { STAMP_LENGTH } from './codec.js';
import { VERSION_BUCKETS, type Keyspace } from './keys.js';
import { MAX_DROPPED_REPORTED, VERSION_TTL_MS, type CacheStore, type ReadResult, type WriteItem } from './store.js';

// Every key a script touches is `base ..` something (keys.ts): one hash tag, so one Cluster
// slot. KEYS names the fixed key (the meta hash) so that a cluster client routes the script to
// the master owning that slot; the per-tag and per-entry keys cannot all be declared (the
// invalidation deletes whatever its index sets list), and need not be: they share the slot.
//
// Eviction safety (docs/eviction.md). Redis under maxmemory may evict any of these keys, and
// evicts a key whole. So:
//  - the epoch and the clock share one hash; when it is gone, the scripts start a fresh epoch
//    (a name the client made from time and randomness, never reused), so a clock restarting at 0
//    is never compared with anything from before;
//  - tag versions live in VERSION_BUCKETS hashes per epoch, each with a floor (field "") set to
//    the clock when the bucket was created: a tag's version is the later of its own field and
//    the floor, so a bucket that was evicted (or expired, or compacted) and created again reads
//    as "every tag in it was invalidated at its floor", and a bucket that is missing reads as
//    invalid;
//  - every entry carries the fence it was written under and its tags, and every read checks
//    them against the versions: an entry that an invalidation failed to delete (its index was
//    evicted) is not served. Indexes only reclaim memory early.
const PRELUDE = `
local NB, STAMP_LEN = ${VERSION_BUCKETS}, ${STAMP_LENGTH}
local function bucketIndex(tag)
  return tonumber(string.sub(redis.sha1hex(tag), 1, 4), 16) % NB
end
local function bucketOf(base, epoch, tag)
  return base .. epoch .. ':vb:' .. bucketIndex(tag)
end
-- The tag's last invalidation as far as the bucket can tell; nil when the bucket is gone.
local function version(bucket, tag)
  local r = redis.call('HMGET', bucket, '', tag)
  if not r[1] then return nil end
  local floor, v = tonumber(r[1]), tonumber(r[2] or '0')
  if v > floor then return v end
  return floor
end
-- An epoch begins with every bucket present, its floor at the clock: from then on a missing
-- bucket means a lost one.
local function startEpoch(key, base, epoch, clock, verTtl)
  redis.call('HSET', key, 'epoch', epoch, 'clock', clock)
  for b = 0, NB - 1 do
    local bucket = base .. epoch .. ':vb:' .. b
    redis.call('HSET', bucket, '', clock)
    redis.call('PEXPIRE', bucket, verTtl)
  end
end
-- The epoch and clock; when the meta hash is gone, a fresh epoch (the candidate) starts at clock 0.
local function meta(key, base, candidate, verTtl)
  local m = redis.call('HMGET', key, 'epoch', 'clock')
  if m[1] then return m[1], tonumber(m[2] or '0') end
  startEpoch(key, base, candidate, 0, verTtl)
  return candidate, 0
end
`;

// Read: the epoch, the clock (the caller's fence), entries and stamps, each checked against its
// tags' versions. KEYS[1]: the meta hash. ARGV: base, epoch, candidate epoch, versionTtlMs, n,
// then n entry keys, then the stamp keys. Returns {epoch, clock, values..., stamps...} (false when
// absent or no longer current).
//
// An entry is `<header length: 8 digits><header><value>`, header = JSON [fence, [bucket, tags...],
// ...]: its tags grouped by version bucket. The check costs one MGET for the entries, one short
// GETRANGE per stamp, and one HMGET per version bucket for all tags of everything read (at most
// VERSION_BUCKETS calls, usually a few), none at all when the clock has not moved since the fence.
const READ = `${PRELUDE}
local base, epoch, candidate, verTtl, n = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local cur, clock = meta(KEYS[1], base, candidate, verTtl)
local out = {cur, clock}
local total = #ARGV - 5
if cur ~= epoch then
  for i = 1, total do out[#out + 1] = false end
  return out
end
local full, raws = {}, {}
for i = 1, total do full[i] = base .. epoch .. ':' .. ARGV[5 + i] end
for s = 1, n, 1000 do
  local vals = redis.call('MGET', unpack(full, s, math.min(s + 999, n)))
  for j = 1, #vals do raws[s + j - 1] = vals[j] end
end
-- A stamp needs the header and the first STAMP_LEN characters of the value: one GETRANGE when the
-- header is short (the usual case), a second when it is not.
for i = n + 1, total do
  local raw = redis.call('GETRANGE', full[i], 0, 2047)
  if raw == '' then raw = false
  elseif #raw == 2048 then
    local need = 8 + tonumber(string.sub(raw, 1, 8)) + STAMP_LEN
    if need > 2048 then raw = redis.call('GETRANGE', full[i], 0, need - 1) end
  end
  raws[i] = raw
end
-- Decode the headers; gather the tags to look up, per bucket.
local headers, ask, seen = {}, {}, {}
for i = 1, total do
  local raw = raws[i]
  if raw then
    local hlen = tonumber(string.sub(raw, 1, 8))
    -- The fence leads the header (["<fence>", ...]): no invalidation since it, nothing to decode.
    local fence = tonumber(string.match(raw, '^%["(%d+)"', 9))
    local h = nil
    if fence < clock then h = cjson.decode(string.sub(raw, 9, 8 + hlen)) end
    headers[i] = {hlen, fence, h}
    if h then
      for g = 2, #h do
        local b = h[g][1]
        local list = ask[b]
        if not list then list = {} ask[b] = list end
        for t = 2, #h[g] do
          local tag = h[g][t]
          if not seen[tag] then seen[tag] = true list[#list + 1] = tag end
        end
      end
    end
  end
end
-- A tag's version: the later of its field and its bucket's floor; false when the bucket is gone.
local versions = {}
for b, tags in pairs(ask) do
  local bucket = base .. epoch .. ':vb:' .. b
  for s = 1, #tags, 1000 do
    local last = math.min(s + 999, #tags)
    local r = redis.call('HMGET', bucket, '', unpack(tags, s, last))
    local floor = r[1] and tonumber(r[1])
    for t = s, last do
      if not floor then versions[tags[t]] = false
      else
        local v = tonumber(r[t - s + 2] or '0')
        if v < floor then v = floor end
        versions[tags[t]] = v
      end
    end
  end
end
for i = 1, total do
  local result = false
  local raw, hh = raws[i], headers[i]
  if raw then
    local hlen, fence, h = hh[1], hh[2], hh[3]
    local ok = true
    if h then
      for g = 2, #h do
        for t = 2, #h[g] do
          local v = versions[h[g][t]]
          if v == false or v > fence then ok = false break end
        end
        if not ok then break end
      end
    end
    if ok then
      if i <= n then result = string.sub(raw, 9 + hlen) else result = string.sub(raw, 9 + hlen, 8 + hlen + STAMP_LEN) end
    else
      -- Invalidated, but its index was lost before the invalidation could delete it.
      redis.call('UNLINK', full[i])
    end
  end
  out[#out + 1] = result
end
return out
`;

// Conditional write of many entries (one round trip per batch).
// KEYS[1]: the meta hash. ARGV: base, epoch, fence, n, candidate epoch, versionTtlMs, then per
// item: key, ttlMs, value, commit version ('' for none), ntags, tags...
//
// An item with a commit version is a writer's own committed value (write-through), fenced at its
// own invalidation. The fence alone cannot order two writers of one row: the later commit may
// invalidate first, and the earlier one's value would then pass a fence taken after it. So such an
// item is stored only while its writer's invalidation of its first tag (the entity's own) is still
// that tag's latest (the field equals the fence: not invalidated since, bucket not lost) and its
// commit is the latest any invalidation of the tag recorded (field '>' .. tag, in the same bucket,
// so it is lost only with the version itself: see INVALIDATE).
const WRITE = `${PRELUDE}
local base, epoch, fence, n, candidate, verTtl = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
local out = {}
local cur, clock = meta(KEYS[1], base, candidate, verTtl)
local touched = {}
local pos = 7
for i = 1, n do
  local key, ttl, value, cv, ntags = ARGV[pos], tonumber(ARGV[pos + 1]), ARGV[pos + 2], ARGV[pos + 3], tonumber(ARGV[pos + 4])
  pos = pos + 1
  local ok = 1
  if cur ~= epoch then ok = 0 end
  if ok == 1 and cv ~= '' then
    local tag = ARGV[pos + 4]
    local bucket = bucketOf(base, epoch, tag)
    local r = redis.call('HMGET', bucket, tag, '>' .. tag)
    if tonumber(r[1] or '-1') ~= fence or r[2] ~= cv then ok = 0 end
  end
  if ok == 1 then
    for t = 1, ntags do
      local tag = ARGV[pos + 3 + t]
      local bucket = bucketOf(base, epoch, tag)
      local v = version(bucket, tag)
      if v == nil then
        -- Lost (evicted or expired): whatever it held was at most the current clock.
        redis.call('HSET', bucket, '', clock)
        v = clock
      end
      if not touched[bucket] then
        touched[bucket] = true
        redis.call('PEXPIRE', bucket, verTtl)
      end
      -- Invalidated after this reader's fence: its data may predate the change.
      if v > fence then ok = 0 break end
    end
  end
  if ok == 1 then
    local full = base .. epoch .. ':' .. key
    local header, groups = {ARGV[3]}, {}
    for t = 1, ntags do
      local tag = ARGV[pos + 3 + t]
      local b = bucketIndex(tag)
      if not groups[b] then
        groups[b] = {b}
        header[#header + 1] = groups[b]
      end
      table.insert(groups[b], tag)
    end
    header = cjson.encode(header)
    redis.call('SET', full, string.format('%08d', #header) .. header .. value, 'PX', ttl)
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

// KEYS[1]: the meta hash. ARGV: base, versionTtlMs, candidate epoch, max fields per bucket, the
// number of commit marks, then (tag, commit version) per mark, then the tags...
// Returns {clock, deleted, dropped shared response keys...}. A commit mark keeps, per tag, the
// highest commit version any invalidation recorded (see WRITE: only that commit's own value may
// be written through).
const INVALIDATE = `${PRELUDE}
local MAX_DROPPED = ${MAX_DROPPED_REPORTED}
local base, verTtl, candidate, maxFields, nmarks = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local first = 6 + 2 * nmarks
local epoch = meta(KEYS[1], base, candidate, verTtl)
local g = redis.call('HINCRBY', KEYS[1], 'clock', 1)
local deleted = 0
-- The shared responses this deleted, for whoever refreshes hot ones (a bounded number).
local responsePrefix = base .. epoch .. ':resp:public:'
local dropped, seenDropped = {}, {}
for i = first, #ARGV do
  local tag = ARGV[i]
  local bucket = bucketOf(base, epoch, tag)
  -- A bucket that is gone (or grew too big) restarts with its floor at g: every tag in it then
  -- reads as invalidated now, which covers whatever it held.
  if redis.call('HLEN', bucket) >= maxFields then redis.call('UNLINK', bucket) end
  if redis.call('EXISTS', bucket) == 0 then redis.call('HSET', bucket, '', g)
  else redis.call('HSET', bucket, tag, g) end
  redis.call('PEXPIRE', bucket, verTtl)
  local idx = base .. epoch .. ':idx:' .. tag
  local members = redis.call('SMEMBERS', idx)
  for j = 1, #members do
    local m = members[j]
    if #dropped < MAX_DROPPED and not seenDropped[m] and string.sub(m, 1, #responsePrefix) == responsePrefix then
      seenDropped[m] = true
      dropped[#dropped + 1] = string.sub(m, #base + #epoch + 2)
    end
  end
  for s = 1, #members, 500 do
    local chunk = {}
    for j = s, math.min(s + 499, #members) do chunk[#chunk + 1] = members[j] end
    deleted = deleted + redis.call('UNLINK', unpack(chunk))
  end
  redis.call('UNLINK', idx)
end
for m = 0, nmarks - 1 do
  local tag, cv = ARGV[6 + 2 * m], ARGV[7 + 2 * m]
  local bucket = bucketOf(base, epoch, tag)
  local last = redis.call('HGET', bucket, '>' .. tag)
  if not last or #last < #cv or (#last == #cv and last < cv) then redis.call('HSET', bucket, '>' .. tag, cv) end
end
return {g, deleted, unpack(dropped)}
`;

// A new epoch, the clock going on. KEYS[1]: the meta hash. ARGV: base, epoch, versionTtlMs.
const BUMP = `${PRELUDE}
local base, epoch, verTtl = ARGV[1], ARGV[2], tonumber(ARGV[3])
startEpoch(KEYS[1], base, epoch, tonumber(redis.call('HGET', KEYS[1], 'clock') or '0'), verTtl)
return epoch
`;

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

// INFO of the server holding KEYS[1]. On a cluster that is the master owning the cache's slot
// (a plain INFO would go to any node): the dataset whose restart or failover loses writes.
const SERVER_INFO = `return redis.call('INFO', 'server')`;

type Scripted = (Redis | Cluster) & {
  lifelineCacheRead(...args: (string | number)[]): Promise<(string | number | null)[]>;
  lifelineCacheWrite(...args: (string | number)[]): Promise<number[]>;
  lifelineCacheInvalidate(...args: (string | number)[]): Promise<[number, number, ...string[]]>;
  lifelineCacheBump(...args: (string | number)[]): Promise<string>;
  lifelineCacheRelease(key: string, token: string): Promise<number>;
  lifelineCacheServerInfo(key: string): Promise<string>;
};

export interface RedisStoreOptions {
  /** TEST ONLY: store entries without the fence check, to show the race tests catch stale write-backs. */
  unsafeSkipFence?: boolean;
  /** Tags per version bucket before it starts again from a floor (default MAX_TAGS_PER_BUCKET); small in tests. */
  maxTagsPerBucket?: number;
}

/**
 * A version bucket holds at most this many tags; the invalidation that would pass it starts the
 * bucket again from a floor at the current clock (every tag in it then reads as just invalidated:
 * some misses, never a stale read). Bounds the versions' memory at VERSION_BUCKETS times this.
 */
export const MAX_TAGS_PER_BUCKET = 16384;

// A name for a new epoch: time, this process, a counter. Never one used before, even by a
// Redis restored from an old snapshot or after the meta hash was evicted (a counter would restart).
const processId = randomBytes(4).toString('hex');
let epochCounter = 0;
const freshEpoch = () => `${Date.now().toString(36)}${processId}${(epochCounter = (epochCounter + 1) % 0xffffff).toString(36)}`;

export function createRedisStore(redis: Redis | Cluster, keys: Keyspace, options: RedisStoreOptions = {}): CacheStore {
  const client = redis as Scripted;
  if (!(client as unknown as Record<string, unknown>).lifelineCacheRead) {
    redis.defineCommand('lifelineCacheRead', { numberOfKeys: 1, lua: READ });
    redis.defineCommand('lifelineCacheWrite', { numberOfKeys: 1, lua: WRITE });
    redis.defineCommand('lifelineCacheInvalidate', { numberOfKeys: 1, lua: INVALIDATE });
    redis.defineCommand('lifelineCacheBump', { numberOfKeys: 1, lua: BUMP });
    redis.defineCommand('lifelineCacheRelease', { numberOfKeys: 1, lua: RELEASE });
    redis.defineCommand('lifelineCacheServerInfo', { numberOfKeys: 1, lua: SERVER_INFO });
  }

  return {
    async read(epoch, entryKeys, stampKeys): Promise<ReadResult> {
      // One script, one round trip; every key in one slot (keys.ts).
      const out = await client.lifelineCacheRead(keys.meta, keys.base, epoch, freshEpoch(), VERSION_TTL_MS, entryKeys.length, ...entryKeys, ...stampKeys);
      const str = (v: string | number | null | undefined) => (v === null || v === undefined ? null : String(v));
      return {
        epoch: String(out[0]),
        clock: Number(out[1]),
        values: entryKeys.map((_, i) => str(out[2 + i])),
        stamps: stampKeys.map((_, i) => str(out[2 + entryKeys.length + i]) || null),
      };
    },
    async write(epoch, items: WriteItem[], fence) {
      if (!items.length) return [];
      const args: (string | number)[] = [
        keys.meta,
        keys.base,
        epoch,
        options.unsafeSkipFence ? Number.MAX_SAFE_INTEGER : fence,
        items.length,
        freshEpoch(),
        VERSION_TTL_MS,
      ];
      for (const item of items) args.push(item.key, Math.max(1, Math.round(item.ttlMs)), item.value, item.commitVersion ?? '', item.tags.length, ...item.tags);
      const result = await client.lifelineCacheWrite(...args);
      return result.map((r) => r === 1);
    },
    async invalidate(tags, commits = []) {
      if (!tags.length) return { clock: 0, deleted: 0, dropped: [] };
      const marks = commits.flatMap((c) => [c.tag, c.commitVersion]);
      const [clock, deleted, ...dropped] = await client.lifelineCacheInvalidate(
        keys.meta,
        keys.base,
        VERSION_TTL_MS,
        freshEpoch(),
        options.maxTagsPerBucket ?? MAX_TAGS_PER_BUCKET,
        commits.length,
        ...marks,
        ...tags,
      );
      return { clock: Number(clock), deleted: Number(deleted), dropped: dropped.map(String) };
    },
    async tryLease(epoch, key, token, ttlMs) {
      return (await client.set(keys.lease(epoch, key), token, 'PX', ttlMs, 'NX')) === 'OK';
    },
    async releaseLease(epoch, key, token) {
      await client.lifelineCacheRelease(keys.lease(epoch, key), token);
    },
    async bumpEpoch() {
      // Unique, not a counter: a Redis restored from a snapshot could otherwise hand out an
      // epoch that was already used (and written under) before the restore. The clock goes on.
      return String(await client.lifelineCacheBump(keys.meta, keys.base, freshEpoch(), VERSION_TTL_MS));
    },
    async identity() {
      const info = await client.lifelineCacheServerInfo(keys.meta);
      return /run_id:(\w+)/.exec(info)?.[1] ?? null;
    },
  };
}

export interface EvictionPolicy {
  maxmemory: number | null;
  policy: string | null;
}

/**
 * Logs the memory limit and eviction policy of the cache's Redis at start-up (CONFIG GET; managed
 * Redis may refuse it, then it says so). The cache is correct under any policy; `noeviction`
 * without a limit only means it grows until Redis runs out of memory, and with a limit that
 * Redis refuses writes once full: both are warned about.
 */
export async function logEvictionPolicy(redis: Redis | Cluster, logger: Pick<Logger, 'info' | 'warn'>): Promise<EvictionPolicy> {
  const get = async (name: string): Promise<string | null> => {
    try {
      const reply = (await redis.config('GET', name)) as unknown as string[];
      return reply?.[1] ?? null;
    } catch {
      return null;
    }
  };
  const [maxmemory, policy] = await Promise.all([get('maxmemory'), get('maxmemory-policy')]);
  const result: EvictionPolicy = { maxmemory: maxmemory === null ? null : Number(maxmemory), policy };
  if (maxmemory === null || policy === null) {
    logger.info({ maxmemory: result.maxmemory, policy }, 'cache redis: CONFIG GET refused or failed, memory limit and eviction policy unknown (the cache is safe under any policy)');
  } else if (policy === 'noeviction' && result.maxmemory === 0) {
    logger.warn(
      { maxmemory: 0, policy },
      'cache redis: no maxmemory and policy noeviction: the cache grows until Redis runs out of memory and refuses writes; set maxmemory with allkeys-lru or volatile-lru (docs/eviction.md)',
    );
  } else if (policy === 'noeviction') {
    logger.warn({ maxmemory: result.maxmemory, policy }, 'cache redis: policy noeviction: once maxmemory is reached Redis refuses cache writes; allkeys-lru or volatile-lru is safe (docs/eviction.md)');
  } else {
    logger.info({ maxmemory: result.maxmemory, policy }, 'cache redis: memory limit and eviction policy (eviction only costs cache misses)');
  }
  return result;
}
