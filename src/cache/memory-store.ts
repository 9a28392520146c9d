// The in-process engine for a single instance without Redis: the same contract,
// the same fencing, so code above it cannot tell the difference.
import { STAMP_LENGTH } from './codec.js';
import { publicResponseKey } from './keys.js';
import { MAX_DROPPED_REPORTED, VERSION_TTL_MS, type CacheStore, type WriteItem } from './store.js';

interface Slot<T> {
  value: T;
  expiresAt: number;
}

export interface MemoryStoreOptions {
  /** Entries kept at most; the oldest go first. Default 50,000. */
  maxEntries?: number;
  now?: () => number;
  /** TEST ONLY: store entries without the fence check, to show the race tests catch stale write-backs. */
  unsafeSkipFence?: boolean;
}

export function createMemoryStore(options: MemoryStoreOptions = {}): CacheStore {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 50_000;
  const entries = new Map<string, Slot<string>>();
  const indexes = new Map<string, Slot<Set<string>>>();
  const versions = new Map<string, Slot<number>>();
  const leases = new Map<string, Slot<string>>();
  /** The highest commit version an invalidation recorded per tag (see WriteItem.commitVersion). */
  const committed = new Map<string, Slot<string>>();
  let clock = 0;
  let epoch = 0;

  const live = <T>(map: Map<string, Slot<T>>, key: string): T | undefined => {
    const slot = map.get(key);
    if (!slot) return undefined;
    if (slot.expiresAt <= now()) {
      map.delete(key);
      return undefined;
    }
    return slot.value;
  };
  const full = (e: string, key: string) => `${e}:${key}`;

  return {
    async read(e, keys, stampKeys) {
      return {
        clock,
        epoch: String(epoch),
        values: keys.map((k) => live(entries, full(e, k)) ?? null),
        stamps: stampKeys.map((k) => live(entries, full(e, k))?.slice(0, STAMP_LENGTH) ?? null),
      };
    },
    async write(e, items: WriteItem[], fence) {
      return items.map((item) => {
        if (e !== String(epoch)) return false;
        if (!options.unsafeSkipFence && item.tags.some((t) => (live(versions, t) ?? 0) > fence)) return false;
        if (item.commitVersion !== undefined) {
          // See WriteItem.commitVersion: the writer's own invalidation must still be the latest.
          const tag = item.tags[0]!;
          if (live(versions, tag) !== fence || live(committed, tag) !== item.commitVersion) return false;
        }
        const key = full(e, item.key);
        entries.delete(key);
        entries.set(key, { value: item.value, expiresAt: now() + item.ttlMs });
        while (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
        for (const tag of item.tags) {
          const idxKey = full(e, tag);
          const idx = live(indexes, idxKey);
          const expiresAt = Math.max(now() + item.ttlMs, indexes.get(idxKey)?.expiresAt ?? 0);
          indexes.set(idxKey, { value: (idx ?? new Set()).add(key), expiresAt });
        }
        return true;
      });
    },
    async invalidate(tags, commits = []) {
      for (const { tag, commitVersion } of commits) {
        const last = live(committed, tag);
        if (last === undefined || compareDecimal(last, commitVersion) < 0) committed.set(tag, { value: commitVersion, expiresAt: now() + VERSION_TTL_MS });
      }
      const g = ++clock;
      let deleted = 0;
      const dropped = new Set<string>();
      const responsePrefix = full(String(epoch), publicResponseKey(''));
      for (const tag of tags) {
        versions.set(tag, { value: g, expiresAt: now() + VERSION_TTL_MS });
        const idxKey = full(String(epoch), tag);
        for (const key of live(indexes, idxKey) ?? []) {
          if (!entries.delete(key)) continue;
          deleted++;
          if (key.startsWith(responsePrefix) && dropped.size < MAX_DROPPED_REPORTED) dropped.add(key.slice(String(epoch).length + 1));
        }
        indexes.delete(idxKey);
      }
      return { clock: g, deleted, dropped: [...dropped] };
    },
    async tryLease(e, key, token, ttlMs) {
      const k = full(e, key);
      if (live(leases, k) !== undefined) return false;
      leases.set(k, { value: token, expiresAt: now() + ttlMs });
      return true;
    },
    async releaseLease(e, key, token) {
      const k = full(e, key);
      if (live(leases, k) === token) leases.delete(k);
    },
    async bumpEpoch() {
      epoch++;
      return String(epoch);
    },
    async identity() {
      return 'memory';
    },
  };
}

/** Compares decimal strings of any length (commit positions exceed 2^53). */
function compareDecimal(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}
