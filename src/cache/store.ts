// The storage contract of the cache core, with Redis and in-process engines.
// Keys given here are opaque entry keys; the store adds prefix and epoch.
// Three operations carry the consistency design (a global invalidation clock, fenced write-back, invalidation by tag):
//  - read: one round trip returning the clock G (the caller's fence), the epoch,
//    entries, and the stamps of L1 copies to validate;
//  - write: stores each entry only if none of its tags was invalidated after the
//    fence (a reader that loaded data before an invalidation cannot store it after);
//  - invalidate: bumps G, records it as every tag's version, deletes indexed entries.

export interface ReadResult {
  clock: number;
  epoch: string;
  /** Full encoded entries for `keys`, null when absent or no longer current (a tag invalidated after it was written). */
  values: (string | null)[];
  /** The stamp prefix of each `stampKeys` entry, null when absent or no longer current. */
  stamps: (string | null)[];
}

/** A committed write's order, recorded for a tag by its invalidation: the highest per tag is kept (see WriteItem.commitVersion). */
export interface CommitMark {
  tag: string;
  commitVersion: string;
}

export interface WriteItem {
  key: string;
  value: string;
  tags: string[];
  ttlMs: number;
  /**
   * Set on a writer's own committed value (write-through, fenced at its own invalidation): the
   * commit's order (a decimal string, increasing per row in commit order), which its invalidation
   * recorded for the first tag (see CacheStore.invalidate). Stored only while that invalidation is
   * still the tag's latest and no later commit of the row has invalidated it: two writers of one
   * row may invalidate in the opposite order to their commits, and only the later commit's value
   * may then be kept.
   */
  commitVersion?: string;
}

export interface CacheStore {
  read(epoch: string, keys: string[], stampKeys: string[]): Promise<ReadResult>;
  /** true per item that was stored; false when its tags moved past the fence or the epoch changed. */
  write(epoch: string, items: WriteItem[], fence: number): Promise<boolean[]>;
  /**
   * `dropped`: the shared (public) response keys among the deleted entries, at most
   * MAX_DROPPED_REPORTED of them: what a refresher may recompute at once instead of leaving
   * each to its next reader.
   */
  invalidate(tags: string[], commits?: readonly CommitMark[]): Promise<{ clock: number; deleted: number; dropped: string[] }>;
  /** SET NX PX: true when this caller now holds the lease on `key`. */
  tryLease(epoch: string, key: string, token: string, ttlMs: number): Promise<boolean>;
  releaseLease(epoch: string, key: string, token: string): Promise<void>;
  /** Moves to a new epoch: nothing written under the old one is read again. */
  bumpEpoch(): Promise<string>;
  /** Identity of the server's dataset (Redis run_id); a change means writes may have been lost. */
  identity(): Promise<string | null>;
}

/**
 * Versions must outlive any request that could still hold an older fence. (On Redis a version that
 * is gone anyway, evicted or expired, reads as invalidated: see docs/eviction.md.)
 */
export const VERSION_TTL_MS = 2 * 60 * 60 * 1000;

/** How many dropped shared response keys one invalidation reports (see CacheStore.invalidate). */
export const MAX_DROPPED_REPORTED = 256;
