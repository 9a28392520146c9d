// Keeps the hot shared responses filled, so readers find them instead of each going to the
// database:
//  - warming: after the cache lost everything at once (a purge of everything, an epoch move
//    after a Redis restart or failover) one instance replays the hottest requests;
//  - refresh: when a write's invalidation deletes a response that was being read, it is
//    recomputed at once, by one instance of the deployment (a lease per response), instead of
//    by whichever reader comes next; readers arriving meanwhile wait for that one computation
//    (the response cache's single flight), and never get an answer older than the write,
//    since the replay starts after the invalidation and stores fenced like any miss.
// It knows nothing of GraphQL: it keeps opaque request descriptions with hit counts, and
// replays through an injected `execute`, which must go through the normal request path so what
// it stores is fenced under the current epoch like any client's miss (never a copy of an older
// answer).
import { LRUCache } from 'lru-cache';
import type { Logger } from '../observability/logger.js';

export interface WarmerOptions<R> {
  /** How many requests to remember and refill; 0 turns the warmer off. */
  top: number;
  /** Replays one request through the normal path; resolves true when it stored an entry. */
  execute: (request: R) => Promise<boolean>;
  /** Claims the refill of one epoch for this instance (a lease shared by every instance); false: another has it. */
  claim: (epoch: string) => Promise<boolean>;
  /** Called once per entry the warmer stored (metrics). */
  onWarmed?: () => void;
  logger: Logger;
  /** Replays at most this many at once. Default 2. */
  concurrency?: number;
  /** Starts at most this many replays per second (each may cost SQL). Default 10. */
  perSecond?: number;
  /** Waits this long after the epoch moved before claiming and refilling. Default 250 ms. */
  startDelayMs?: number;
  /** Forgets requests not served for this long. Default 10 minutes. */
  windowMs?: number;
  /**
   * Refresh on invalidation: claims the recomputation of one dropped response for this instance
   * (a short lease shared by every instance); false: another has it or the cache cannot say.
   * Unset: dropped responses are left to their next reader.
   */
  claimRefresh?: (key: string) => Promise<(() => Promise<void>) | false>;
  /** Called once per response refreshed and stored (metrics). */
  onRefreshed?: () => void;
}

interface Remembered<R> {
  request: R;
  hits: number;
  /** When it was last served (ms, Date.now). */
  lastAt: number;
}

/** How many requests are remembered at least, whatever `top`: refresh needs the hot set, not only the top. */
const MIN_REMEMBERED = 2_000;
/** A dropped response is refreshed only if it was served this recently. */
const REFRESH_IF_READ_WITHIN_MS = 30_000;
/** Refreshes running at once, per instance. */
const REFRESH_CONCURRENCY = 4;
/** Refreshes waiting to run at most; beyond it dropped responses wait for their next reader. */
const MAX_QUEUED_REFRESHES = 256;

export function createWarmer<R>(options: WarmerOptions<R>) {
  const top = options.top;
  const concurrency = Math.max(1, options.concurrency ?? 2);
  const intervalMs = 1000 / Math.max(0.1, options.perSecond ?? 10);
  const startDelayMs = options.startDelayMs ?? 250;
  // Several times `top`: a request must be counted for a while before it can rank among the hottest.
  const seen = top > 0 || options.claimRefresh ? new LRUCache<string, Remembered<R>>({ max: Math.max(top * 4, MIN_REMEMBERED), ttl: options.windowMs ?? 600_000 }) : null;
  // Bumped on every epoch move and on stop: a refill in progress ends when it no longer matches.
  let generation = 0;
  let lastEpoch: string | null = null;
  let stopped = false;
  const stats = { warmed: 0, runs: 0 };
  // Keys waiting to be refreshed (a Set: a key dropped twice before its turn is refreshed once).
  const queued = new Set<string>();
  let refreshing = 0;

  /** One replay; true when it stored an entry. A failed one is skipped (logged at debug). */
  const replay = (request: R, what: 'warming' | 'refreshing'): Promise<boolean> =>
    options.execute(request).catch((err: unknown) => {
      options.logger.debug({ err: (err as Error).message }, `${what} one request failed`);
      return false;
    });
  const refreshOne = async (key: string) => {
    const known = seen?.get(key);
    if (!known || !options.claimRefresh) return;
    const release = await options.claimRefresh(key).catch(() => false as const);
    if (!release) return;
    try {
      if (await replay(known.request, 'refreshing')) options.onRefreshed?.();
    } finally {
      await release();
    }
  };
  const pump = () => {
    while (refreshing < REFRESH_CONCURRENCY && queued.size && !stopped) {
      const key = queued.values().next().value!;
      queued.delete(key);
      refreshing++;
      void refreshOne(key).finally(() => {
        refreshing--;
        pump();
      });
    }
  };

  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

  const refill = async (epoch: string, mine: number) => {
    await sleep(startDelayMs);
    if (mine !== generation || stopped) return;
    if (!(await options.claim(epoch).catch(() => false))) return;
    const hottest = [...seen!.values()].sort((a, b) => b.hits - a.hits).slice(0, top).map((r) => r.request);
    if (!hottest.length || top === 0) return;
    stats.runs++;
    options.logger.info({ epoch, requests: hottest.length }, 'warming the cache after an epoch move');
    let next = 0;
    let nextStartAt = Date.now();
    const worker = async () => {
      while (next < hottest.length && mine === generation && !stopped) {
        const request = hottest[next++]!;
        // The rate is shared by every worker: each start takes the next slot.
        const wait = nextStartAt - Date.now();
        nextStartAt = Math.max(nextStartAt, Date.now()) + intervalMs;
        if (wait > 0) await sleep(wait);
        if (mine !== generation || stopped) return;
        if (await replay(request, 'warming')) {
          stats.warmed++;
          options.onWarmed?.();
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  };

  return {
    stats,
    /** Counts one served public response; `key` names it (e.g. its cache key). */
    remember(key: string, request: R) {
      if (!seen) return;
      const known = seen.get(key);
      const lastAt = Date.now();
      if (known) {
        known.hits++;
        known.lastAt = lastAt;
      } else seen.set(key, { request, hits: 1, lastAt });
    },
    /**
     * An invalidation deleted these shared responses (keys as `remember` named them): the ones
     * this instance served recently are recomputed, each by one instance, as soon as a slot is free.
     */
    dropped(keys: Iterable<string>) {
      if (!seen || !options.claimRefresh || stopped) return;
      const since = Date.now() - REFRESH_IF_READ_WITHIN_MS;
      for (const key of keys) {
        const known = seen.get(key);
        if (!known || known.lastAt < since) continue;
        if (queued.size < MAX_QUEUED_REFRESHES) queued.add(key);
      }
      pump();
    },
    /** The cache now reads and writes under `epoch`; refills once per new epoch. */
    epochMoved(epoch: string) {
      if (!seen || stopped || epoch === lastEpoch) return;
      const first = lastEpoch === null;
      lastEpoch = epoch;
      const mine = ++generation;
      // The first epoch an instance sees is the one it started in: nothing was lost.
      if (first) return;
      void refill(epoch, mine).catch((err: Error) => options.logger.warn({ err: err.message }, 'cache warming failed'));
    },
    stop() {
      stopped = true;
      queued.clear();
      generation++;
    },
  };
}

export type Warmer<R> = ReturnType<typeof createWarmer<R>>;
