// The cache core: L1 (in-process, bytes-bounded) over an L2 store (Redis or memory),
// fenced writes, invalidation by tag, epoch handling and degradation. It knows
// nothing of the domain: keys and tags are opaque strings.
import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../observability/logger.js';
import { decodeEntry, deserialize, encodeEntry, newStamp, serialize } from './codec.js';
import type { Sealer } from './seal.js';
import type { CacheStore, ReadResult } from './store.js';

export interface CacheOptions {
  store: CacheStore;
  logger: Logger;
  /** L1 size in bytes; 0 turns L1 off. Default 64 MiB. */
  l1MaxBytes?: number;
  /** How long an L1 copy is kept (it is still validated against L2 on every use). Default 60 s. */
  l1TtlMs?: number;
  /** Longest any cache call may take before the request goes on without the cache. Default 250 ms. */
  timeoutMs?: number;
  /** How often to retry after a failure (epoch bump and recovery). Default 500 ms. */
  recoveryIntervalMs?: number;
  /** TEST ONLY: serve L1 copies without checking L2's stamp, to show the tests catch it. */
  unsafeSkipL1Validation?: boolean;
  /** The clock soft expiry is judged by (ms). Injectable so stale-while-revalidate can be tested without sleeping. */
  now?: () => number;
  /** After a store failure, skip the store for this long before trying again (circuit breaker). Default 1,000 ms. */
  breakerCooldownMs?: number;
  /** Metrics hooks (observability/metrics.ts); unset = none. */
  observer?: CacheObserver;
  /**
   * Whether this instance may read (and write back to) the shared store right now, beyond the
   * store's own health: e.g. only while it holds a serving lease (see src/outbox.ts). Checked on
   * every read, so it must be cheap and synchronous. Unset = always.
   */
  canServe?: () => boolean;
  /**
   * Encrypts the payload of the entries it applies to (private responses) before they reach the
   * store, and opens them on the way back; one that does not open reads as a miss. L1 keeps the
   * opened value. Unset = every entry stored as is.
   */
  sealer?: Sealer;
}

/** Observability hooks, called where things happen; synchronous and must not throw. */
export interface CacheObserver {
  /** One get(): the keys asked, what was served, its duration in s (null when skipped: the cache was unusable). */
  read(keys: string[], hits: ReadonlyMap<string, Hit<unknown>>, seconds: number | null): void;
  /** A store call failed or timed out; the request went on without the cache. */
  failed(operation: string): void;
  /** An invalidation round trip ended (acknowledged or failed), in s. */
  invalidated(seconds: number): void;
}

/** Per-operation cache state: the fence, the epoch and the tags of everything read. */
export interface CacheScope {
  /** G as read before this operation's first database read; null until the first cache read. */
  fence: number | null;
  epoch: string;
  /** Tags of every entity, list and aggregate this operation's result contains. */
  tags: Set<string>;
  /**
   * False once the operation may hold data the fence does not cover: its first cache read
   * failed (so the fence would be taken after some database reads), or the epoch moved
   * under it. Such an operation reads from the database and writes nothing back.
   */
  writable: boolean;
  /**
   * The earliest soft expiry (cache clock, ms) of the cached entries this operation's result was
   * built from; Infinity while it used none. Whatever is built from them (a stored response, its
   * HTTP max-age, its stale grace) must not live past it: an entry's life is how long its data may
   * be trusted, and a copy of a copy would otherwise start that life afresh.
   */
  expiresAt: number;
  /**
   * How many times this operation's reads went to the source (the database) for what the cache
   * did not have; 0 means its result was assembled from cached entries alone.
   */
  fetches: number;
}

export interface Hit<T> {
  value: T;
  /** Past its soft expiry but within grace: serve while one caller refreshes. */
  stale: boolean;
  source: 'l1' | 'l2';
  /** Its soft expiry (cache clock, ms): the rest of its fresh life is expiresAt - now(). */
  expiresAt: number;
}

export interface StoreItem<T> {
  key: string;
  value: T;
  tags: string[];
  /** Fresh for this long. */
  ttlMs: number;
  /** Then servable as stale for this long (stale-while-revalidate / stale-if-error). Default 0. */
  graceMs?: number;
  /** A writer's own committed value: its commit order (see WriteItem.commitVersion in store.ts). */
  commitVersion?: string;
}

export interface CacheStats {
  hits: { l1: number; l2: number };
  misses: number;
  staleServed: number;
  writes: number;
  writesRefused: number;
  invalidations: number;
  /** L1 copies dropped on another instance's invalidation message. */
  l1Dropped: number;
  errors: number;
  /** The L1's size now and the entries it evicted to stay under its byte limit (metrics). */
  l1?: { readonly bytes: number; readonly entries: number; evictions: number };
}

interface L1Entry {
  stamp: string;
  softExpiresAt: number;
  value: unknown;
}

export interface Cache {
  newScope(): CacheScope;
  /** L1 copies (validated by stamp) and L2 entries for `keys` in one round trip; sets scope.fence. */
  get<T>(scope: CacheScope, keys: string[]): Promise<Map<string, Hit<T>>>;
  /** Fenced write-back: an entry is stored only if none of its tags was invalidated after scope.fence. True per item stored. */
  set<T>(scope: CacheScope, items: StoreItem<T>[]): Promise<boolean[]>;
  /** get, then `fetch` what missed, then set; the fetched values are returned whether stored or not. */
  readThrough<T>(
    scope: CacheScope,
    keys: string[],
    fetch: (missing: string[]) => Promise<Map<string, T>>,
    describe: (key: string, value: T) => Omit<StoreItem<T>, 'key' | 'value'>,
  ): Promise<Map<string, T>>;
  /** Deletes everything indexed under the tags and fences out older readers. Resolves when Redis acknowledged. */
  invalidate(tags: string[]): Promise<number>;
  /**
   * invalidate(), telling whether the store acknowledged it (false: it may not have happened; the
   * cache is then suspended). `fresh`: values the write committed, stored once it is
   * acknowledged, fenced at the invalidation itself (any later invalidation of their tags
   * refuses them), before anyone is told of it (so a refresh finds them).
   */
  tryInvalidate(tags: string[], fresh?: StoreItem<unknown>[]): Promise<boolean>;
  /**
   * Called after each successful invalidation (e.g. to tell other instances to drop L1 copies),
   * with the shared response keys it deleted (so hot ones can be recomputed once, at once).
   */
  onInvalidated?: (tags: string[], droppedResponses: string[]) => void;
  /** Drops everything: nothing written before is read again. */
  bumpEpoch(): Promise<void>;
  /** Called whenever this instance starts reading and writing under another epoch (its own purge or recovery, or one seen in a read), e.g. to warm the new one. */
  onEpochMoved?: (epoch: string) => void;
  /**
   * A short-lived lease so one caller recomputes a key while others wait or serve stale.
   * Returns the release function, 'held' when another caller holds it, or 'unavailable'
   * when the store cannot say (then nobody should wait for anybody).
   */
  tryLease(scope: CacheScope, key: string, ttlMs: number): Promise<(() => Promise<void>) | 'held' | 'unavailable'>;
  /** Whether the cache is being used; false while degraded (see reason). */
  health(): { usable: boolean; reason: string | null; state: 'ok' | 'circuit-open' | 'suspended' | 'reconnecting' };
  /**
   * Drops this instance's L1 copies of invalidated entries (told over Pub/Sub by the instance
   * that invalidated). Only memory hygiene: L1 copies are validated on every use anyway, since
   * a published message is not a delivered one.
   */
  dropLocal(tags: string[]): void;
  /** Call when the connection to the store dropped: nothing is read until onReconnect verified the dataset. */
  onDisconnect(): void;
  /** Call when the connection to the store was (re-)established: a new dataset identity moves the epoch. */
  onReconnect(): Promise<void>;
  /** The cache's clock (ms). */
  now(): number;
  stats: CacheStats;
  close(): void;
}

class Timeout extends Error {}

interface PendingRead {
  entryKeys: Set<string>;
  stampKeys: Set<string>;
  waiters: { entryKeys: string[]; stampKeys: string[]; resolve(result: ReadResult): void; reject(err: unknown): void }[];
}

export function createCache(options: CacheOptions): Cache {
  const { store, logger, sealer } = options;
  const timeoutMs = options.timeoutMs ?? 250;
  const clock = options.now ?? Date.now;
  const breakerCooldownMs = options.breakerCooldownMs ?? 1_000;
  // Open after a failure: calls skip the store (a miss) instead of each waiting out a timeout.
  let breakerOpenUntil = 0;
  const breakerOpen = () => Date.now() < breakerOpenUntil;
  const recoveryIntervalMs = options.recoveryIntervalMs ?? 500;
  const l1MaxBytes = options.l1MaxBytes ?? 64 * 1024 * 1024;
  const l1 =
    l1MaxBytes > 0
      ? new LRUCache<string, L1Entry>({
          maxSize: l1MaxBytes,
          sizeCalculation: (_v, k) => k.length + 64 + ((_v as L1Entry & { bytes?: number }).bytes ?? 256),
          ttl: options.l1TtlMs ?? 60_000,
          dispose: (_v, _k, reason) => {
            if (reason === 'evict') l1Stats.evictions++;
          },
        })
      : null;
  const l1Stats = {
    get bytes() {
      return l1?.calculatedSize ?? 0;
    },
    get entries() {
      return l1?.size ?? 0;
    },
    evictions: 0,
  };
  const stats: CacheStats = { hits: { l1: 0, l2: 0 }, misses: 0, staleServed: 0, writes: 0, writesRefused: 0, invalidations: 0, l1Dropped: 0, errors: 0, l1: l1Stats };

  let epoch = '0';
  let identity: string | null = null;
  // Set when an invalidation may have been lost: the cache is not read again until
  // the epoch has moved on (entries that missed the invalidation become unreachable).
  let suspect: string | null = null;
  // Between a dropped connection and the identity check after reconnecting, the server may
  // be a different dataset (restart from an old snapshot, failover): read nothing meanwhile.
  let unverified = false;
  let recovery: NodeJS.Timeout | null = null;
  let closed = false;

  const withTimeout = <T>(p: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout;
    return Promise.race([
      p,
      new Promise<never>((_, reject) => {
        // Behind a busy event loop the timer can fire late, while the answer already waits in the
        // socket: timers run before this turn's I/O, setImmediate after it, so the answer wins if
        // it is there. Otherwise a CPU-bound instance would time out every read, open the breaker
        // and fall back to the database, making itself busier still.
        timer = setTimeout(() => setImmediate(() => reject(new Timeout(`cache store did not answer within ${timeoutMs} ms`))), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  };

  const canServe = options.canServe ?? (() => true);

  const fail = (operation: string, err: unknown) => {
    stats.errors++;
    options.observer?.failed(operation);
    breakerOpenUntil = Date.now() + breakerCooldownMs;
    logger.warn({ operation, err: (err as Error).message }, 'cache store failed; serving from the database');
  };

  // Bumped by every new reason for suspicion: a recovery that began before it must not clear it.
  let suspectGeneration = 0;
  const markSuspect = (reason: string) => {
    if (!suspect) logger.warn({ reason }, 'cache suspended until the epoch moves on');
    suspect = reason;
    suspectGeneration++;
    l1?.clear();
    scheduleRecovery();
  };

  const scheduleRecovery = () => {
    if (recovery || closed) return;
    recovery = setTimeout(async () => {
      recovery = null;
      const generation = suspectGeneration;
      try {
        epoch = await withTimeout(store.bumpEpoch());
        identity = await withTimeout(store.identity()).catch(() => identity);
        if (generation !== suspectGeneration) return scheduleRecovery();
        logger.info({ epoch }, 'cache resumed under a new epoch');
        suspect = null;
        cache.onEpochMoved?.(epoch);
      } catch {
        scheduleRecovery();
      }
    }, recoveryIntervalMs);
    recovery.unref();
  };

  const retryBriefly = async <T>(fn: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (attempt >= 3) throw err;
        await new Promise((r) => setTimeout(r, 50 * attempt));
      }
    }
  };

  // Reads issued while handling one batch of socket events go to the store together, after
  // the batch (setImmediate): one round trip and one syscall instead of one per request, and a
  // hot key's stamp is read once for all of them. Every caller in a batch started before the
  // batch was sent, so the shared answer is at least as new as each one's own read would be.
  let pendingReads: Map<string, PendingRead> | null = null;
  const flushReads = () => {
    const batches = pendingReads!;
    pendingReads = null;
    for (const [batchEpoch, batch] of batches) {
      const entryKeys = [...batch.entryKeys];
      const stampKeys = [...batch.stampKeys];
      store.read(batchEpoch, entryKeys, stampKeys).then(
        (result) => {
          const valueOf = new Map(entryKeys.map((k, i) => [k, result.values[i] ?? null]));
          const stampOf = new Map(stampKeys.map((k, i) => [k, result.stamps[i] ?? null]));
          for (const w of batch.waiters) {
            w.resolve({ clock: result.clock, epoch: result.epoch, values: w.entryKeys.map((k) => valueOf.get(k)!), stamps: w.stampKeys.map((k) => stampOf.get(k)!) });
          }
        },
        (err: unknown) => {
          for (const w of batch.waiters) w.reject(err);
        },
      );
    }
  };
  const batchedRead = (readEpoch: string, entryKeys: string[], stampKeys: string[]) =>
    new Promise<ReadResult>((resolve, reject) => {
      if (!pendingReads) {
        pendingReads = new Map();
        setImmediate(flushReads);
      }
      let batch = pendingReads.get(readEpoch);
      if (!batch) pendingReads.set(readEpoch, (batch = { entryKeys: new Set(), stampKeys: new Set(), waiters: [] }));
      for (const k of entryKeys) batch.entryKeys.add(k);
      for (const k of stampKeys) batch.stampKeys.add(k);
      batch.waiters.push({ entryKeys, stampKeys, resolve, reject });
    });

  const invalidateTags = async (tags: string[], fresh: StoreItem<unknown>[] = []): Promise<{ ok: boolean; deleted: number }> => {
    if (!tags.length) return { ok: true, deleted: 0 };
    stats.invalidations++;
    const started = performance.now(); // metrics
    // Tried even while the breaker is open, and retried briefly (a connection that was just
    // reset refuses commands until it reconnects): a lost invalidation costs the whole cache.
    try {
      // Each written-through value's commit, recorded for its entity's tag by this invalidation.
      const commits = fresh.flatMap((f) => (f.commitVersion !== undefined ? [{ tag: f.tags[0]!, commitVersion: f.commitVersion }] : []));
      const { deleted, dropped, clock: fence } = await retryBriefly(() => withTimeout(store.invalidate(tags, commits)));
      options.observer?.invalidated((performance.now() - started) / 1000);
      if (fresh.length) await cache.set({ ...cache.newScope(), fence }, fresh);
      cache.onInvalidated?.(tags, dropped);
      return { ok: true, deleted };
    } catch (err) {
      options.observer?.invalidated((performance.now() - started) / 1000);
      fail('invalidate', err);
      // The entries may still be there, unaware of this change: stop trusting them.
      markSuspect(`invalidation of ${tags.length} tags failed: ${(err as Error).message}`);
      return { ok: false, deleted: 0 };
    }
  };

  const cache: Cache = {
    stats,
    now: clock,
    newScope: () => ({ fence: null, epoch, tags: new Set(), writable: true, expiresAt: Infinity, fetches: 0 }),

    async get<T>(scope: CacheScope, keys: string[], retried = false) {
      const hits = new Map<string, Hit<T>>();
      // Metrics: what this read served and how long it took (every return goes through done).
      const started = performance.now();
      const done = (skipped = false) => {
        options.observer?.read(keys, hits, skipped ? null : (performance.now() - started) / 1000);
        return hits;
      };
      if (!keys.length) return done(true);
      if (suspect || unverified || breakerOpen() || !canServe()) {
        if (scope.fence === null) scope.writable = false;
        return done(true);
      }
      const now = clock();
      const fromL1: [string, L1Entry][] = [];
      const fromL2: string[] = [];
      for (const key of keys) {
        const local = l1?.get(`${scope.epoch}:${key}`);
        if (local) fromL1.push([key, local]);
        else fromL2.push(key);
      }
      let result;
      try {
        result = await withTimeout(batchedRead(scope.epoch, fromL2, fromL1.map(([k]) => k)));
      } catch (err) {
        fail('read', err);
        if (scope.fence === null) scope.writable = false;
        return done();
      }
      // Reading before any database read makes this the operation's fence.
      const hadFence = scope.fence !== null;
      if (!hadFence) scope.fence = result.clock;
      if (result.epoch !== scope.epoch) {
        // What this operation read before the move belongs to the old epoch: never write it into the new one.
        if (hadFence) scope.writable = false;
        // The epoch moved (purge or recovery elsewhere): everything read under the old one is void.
        epoch = result.epoch;
        scope.epoch = result.epoch;
        l1?.clear();
        cache.onEpochMoved?.(epoch);
        // An operation that had read nothing yet (say, an instance's first request) asks once more
        // under the current epoch: nothing was read before this fence, so a later one is as good.
        if (!hadFence && !retried) {
          scope.fence = null;
          return (cache.get as (s: CacheScope, k: string[], r: boolean) => Promise<Map<string, Hit<T>>>)(scope, keys, true);
        }
        stats.misses += keys.length;
        return done();
      }
      // L1 copies replaced in L2 by a newer write (a refresh, another instance's miss): their new
      // value is read in a second round trip rather than counted as a miss and recomputed.
      const replaced: string[] = [];
      fromL1.forEach(([key, local], i) => {
        // An L1 copy is current only while L2 still holds the very write it came from:
        // an invalidation deletes that entry, a newer write changes its stamp.
        if ((options.unsafeSkipL1Validation || result.stamps[i] === local.stamp) && now < local.softExpiresAt) {
          hits.set(key, { value: local.value as T, stale: false, source: 'l1', expiresAt: local.softExpiresAt });
          stats.hits.l1++;
        } else {
          l1?.delete(`${scope.epoch}:${key}`);
          if (result.stamps[i]) replaced.push(key);
          else stats.misses++;
        }
      });
      if (replaced.length) {
        try {
          const again = await withTimeout(batchedRead(scope.epoch, replaced, []));
          // Under another epoch now: those values are not this operation's to use.
          if (again.epoch === scope.epoch) {
            fromL2.push(...replaced);
            result.values.push(...again.values);
          } else stats.misses += replaced.length;
        } catch (err) {
          fail('read', err);
          stats.misses += replaced.length;
        }
      }
      fromL2.forEach((key, i) => {
        const entry = decodeEntry(result.values[i]);
        // A sealed entry that does not open (another key's bytes, an older epoch's, tampered) is a miss.
        const payload = entry && sealer?.applies(key) ? sealer.open(scope.epoch, key, entry.payload) : entry?.payload;
        if (!entry || payload == null) {
          stats.misses++;
          return;
        }
        const value = deserialize<T>(payload);
        const stale = now >= entry.softExpiresAt;
        if (stale) stats.staleServed++;
        else {
          stats.hits.l2++;
          l1?.set(`${scope.epoch}:${key}`, { stamp: entry.stamp, softExpiresAt: entry.softExpiresAt, value, bytes: payload.length } as L1Entry);
        }
        hits.set(key, { value, stale, source: 'l2', expiresAt: entry.softExpiresAt });
      });
      return done();
    },

    async set<T>(scope: CacheScope, items: StoreItem<T>[]) {
      if (suspect || unverified || breakerOpen() || !canServe() || !scope.writable || scope.fence === null || !items.length) return items.map(() => false);
      const now = clock();
      const encoded = items.map((item) => {
        const stamp = newStamp(scope.fence!);
        const plain = serialize(item.value);
        const payload = sealer?.applies(item.key) ? sealer.seal(scope.epoch, item.key, item.tags, plain) : plain;
        return { item, stamp, payload, value: encodeEntry(stamp, now + item.ttlMs, payload) };
      });
      try {
        const stored = await withTimeout(
          store.write(
            scope.epoch,
            encoded.map(({ item, value }) => ({
              key: item.key,
              value,
              tags: item.tags,
              ttlMs: item.ttlMs + (item.graceMs ?? 0),
              ...(item.commitVersion !== undefined ? { commitVersion: item.commitVersion } : {}),
            })),
            scope.fence,
          ),
        );
        stored.forEach((ok) => {
          if (ok) stats.writes++;
          else stats.writesRefused++;
        });
        return stored;
      } catch (err) {
        fail('write', err);
        return items.map(() => false);
      }
    },

    async readThrough<T>(
      scope: CacheScope,
      keys: string[],
      fetch: (missing: string[]) => Promise<Map<string, T>>,
      describe: (key: string, value: T) => Omit<StoreItem<T>, 'key' | 'value'>,
    ) {
      const hits = await cache.get<T>(scope, keys);
      const out = new Map<string, T>();
      const missing: string[] = [];
      for (const key of keys) {
        const hit = hits.get(key);
        if (hit && !hit.stale) {
          out.set(key, hit.value);
          // What is built from this hit may live only as long as it (rows fetched below are fresh: no bound).
          scope.expiresAt = Math.min(scope.expiresAt, hit.expiresAt);
        } else missing.push(key);
      }
      if (missing.length) {
        scope.fetches++;
        const fetched = await fetch(missing);
        const items: StoreItem<T>[] = [];
        for (const [key, value] of fetched) {
          out.set(key, value);
          items.push({ key, value, ...describe(key, value) });
        }
        // Awaited (bounded by the timeout) so the caller's next request finds what this one loaded;
        // the fence would keep a late write safe, but a late write is a needless miss.
        await cache.set(scope, items);
      }
      return out;
    },

    async invalidate(tags) {
      return (await invalidateTags(tags)).deleted;
    },

    async tryInvalidate(tags, fresh) {
      return (await invalidateTags(tags, fresh)).ok;
    },

    async bumpEpoch() {
      epoch = await withTimeout(store.bumpEpoch());
      l1?.clear();
      cache.onEpochMoved?.(epoch);
    },

    async tryLease(scope, key, ttlMs) {
      if (suspect || unverified || breakerOpen() || !canServe()) return 'unavailable';
      const token = randomBytes(8).toString('hex');
      try {
        const ok = await withTimeout(store.tryLease(scope.epoch, key, token, ttlMs));
        return ok ? () => store.releaseLease(scope.epoch, key, token).catch(() => {}) : 'held';
      } catch (err) {
        fail('lease', err);
        return 'unavailable';
      }
    },

    health: () => {
      const lapsed = !canServe();
      return {
        usable: !suspect && !unverified && !breakerOpen() && !lapsed,
        reason:
          suspect ??
          (unverified ? 'reconnecting to the cache store' : breakerOpen() ? 'cache store failing (circuit open)' : lapsed ? 'not cleared to serve (no serving lease)' : null),
      // For the lifeline_cache_state gauge.
        state: suspect || lapsed ? 'suspended' : unverified ? 'reconnecting' : breakerOpen() ? 'circuit-open' : 'ok',
      };
    },

    dropLocal(tags) {
      // Entity entries are keyed by their own tag (Type:id).
      for (const tag of tags) if (l1?.delete(`${epoch}:${tag}`)) stats.l1Dropped++;
    },

    onDisconnect() {
      unverified = true;
    },

    async onReconnect() {
      try {
        const current = await withTimeout(store.identity());
        if (identity !== null && current !== identity) {
          // A restarted or failed-over Redis may have lost invalidations (or resurrected
          // deleted entries from a snapshot): nothing from the old epoch may be read again.
          markSuspect(`redis dataset changed (run_id ${identity} → ${current})`);
        }
        identity = current;
        unverified = false;
      } catch (err) {
        fail('identity', err);
        // Not verified yet: keep the cache off and try again shortly.
        if (unverified && !closed) setTimeout(() => void cache.onReconnect(), recoveryIntervalMs).unref();
      }
    },

    close() {
      closed = true;
      if (recovery) clearTimeout(recovery);
    },
  };
  return cache;
}
