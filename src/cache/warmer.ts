// Refills the hottest shared responses after the cache lost everything at once (a purge of
// everything, an epoch move after a Redis restart or failover). It knows nothing of GraphQL:
// it keeps opaque request descriptions with hit counts, and replays the hottest through an
// injected `execute`, which must go through the normal request path so what it stores is
// fenced under the current epoch like any client's miss (never a copy of an older answer).
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
}

interface Remembered<R> {
  request: R;
  hits: number;
}

export function createWarmer<R>(options: WarmerOptions<R>) {
  const top = options.top;
  const concurrency = Math.max(1, options.concurrency ?? 2);
  const intervalMs = 1000 / Math.max(0.1, options.perSecond ?? 10);
  const startDelayMs = options.startDelayMs ?? 250;
  // Several times `top`: a request must be counted for a while before it can rank among the hottest.
  const seen = top > 0 ? new LRUCache<string, Remembered<R>>({ max: top * 4, ttl: options.windowMs ?? 600_000 }) : null;
  // Bumped on every epoch move and on stop: a refill in progress ends when it no longer matches.
  let generation = 0;
  let lastEpoch: string | null = null;
  let stopped = false;
  const stats = { warmed: 0, runs: 0 };

  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

  const refill = async (epoch: string, mine: number) => {
    await sleep(startDelayMs);
    if (mine !== generation || stopped) return;
    if (!(await options.claim(epoch).catch(() => false))) return;
    const hottest = [...seen!.values()].sort((a, b) => b.hits - a.hits).slice(0, top).map((r) => r.request);
    if (!hottest.length) return;
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
        try {
          if (await options.execute(request)) {
            stats.warmed++;
            options.onWarmed?.();
          }
        } catch (err) {
          options.logger.debug({ err: (err as Error).message }, 'warming one request failed');
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
      if (known) known.hits++;
      else seen.set(key, { request, hits: 1 });
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
      generation++;
    },
  };
}

export type Warmer<R> = ReturnType<typeof createWarmer<R>>;
