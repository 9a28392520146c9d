// A coalesced feed of snapshots: the topic's events only say "something changed"; the feed
// recomputes the snapshot ONCE per push for every local subscriber, at most once per interval,
// however many events arrive. A burst of 1,000 writes gives about burst-duration / interval
// pushes per instance, each with the state as of its computation.
//
// Timing: the first event after a quiet period is pushed at once (leading edge); events during a
// push or within the interval after its start mark the feed dirty and give one more push when the
// interval has passed (trailing edge), so the last push always starts after the last event was
// received, i.e. after its commit: it shows the final totals.
//
// Each subscriber holds at most ONE undelivered snapshot: a newer one replaces it (a slow client
// skips intermediate totals, it never falls behind nor grows a buffer).
import type { Logger } from '../observability/logger.js';
import { compareIds, type PubSub } from './pubsub.js';
import type { Topic } from './topics.js';

export interface Snapshot<T extends Topic, S> {
  /** Log id of the newest event this snapshot reflects (at least): the client's `after` to resume. */
  id: string;
  topic: T;
  payload: S;
}

export interface SnapshotFeedOptions<T extends Topic, S> {
  pubsub: PubSub;
  /** Its events trigger a recomputation. */
  topic: T;
  compute(): Promise<S>;
  /** Minimum time between the starts of two pushes, in ms. Default 250. */
  intervalMs?: number;
  logger: Logger;
  /** Clock, epoch ms. Default Date.now. */
  now?: () => number;
}

export interface SnapshotFeedStats {
  subscribers: number;
  /** Computations started (one per push). */
  computations: number;
}

export interface SnapshotFeed<T extends Topic, S> {
  /**
   * Pushes from now on. With `after` (the id of a snapshot the client saw): if anything happened
   * since, a push with the current state comes at once (within the interval).
   */
  subscribe(options: { after?: string | null }): Promise<AsyncIterableIterator<Snapshot<T, S>>>;
  stats(): SnapshotFeedStats;
  close(): void;
}

export function createSnapshotFeed<T extends Topic, S>(options: SnapshotFeedOptions<T, S>): SnapshotFeed<T, S> {
  const { pubsub, topic, compute, logger } = options;
  const intervalMs = options.intervalMs ?? 250;
  const now = options.now ?? Date.now;
  const slots = new Set<Slot<Snapshot<T, S>>>();
  let unlisten: (() => void) | null = null;
  /** Newest event id received. */
  let latestId: string | null = null;
  let dirty = false;
  let computing = false;
  let lastStart = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  let computations = 0;
  let closed = false;

  const noteEvent = (id: string) => {
    if (latestId === null || compareIds(id, latestId) > 0) latestId = id;
    dirty = true;
    schedule();
  };

  function schedule(): void {
    if (timer || computing || closed || slots.size === 0) return;
    timer = setTimeout(() => void push(), Math.max(0, lastStart + intervalMs - now()));
  }

  async function push(): Promise<void> {
    timer = undefined;
    if (!dirty || slots.size === 0 || closed) return;
    dirty = false;
    computing = true;
    lastStart = now();
    const id = latestId!;
    computations++;
    try {
      const payload = await compute();
      const snapshot: Snapshot<T, S> = { id, topic, payload };
      for (const slot of slots) slot.offer(snapshot);
    } catch (err) {
      logger.error({ topic, err: (err as Error).message }, 'snapshot feed: computation failed; retrying');
      dirty = true;
    } finally {
      computing = false;
      if (dirty) schedule();
    }
  }

  const remove = (slot: Slot<Snapshot<T, S>>) => {
    slots.delete(slot);
    if (slots.size === 0) {
      unlisten?.();
      unlisten = null;
      clearTimeout(timer);
      timer = undefined;
    }
  };

  return {
    async subscribe({ after }) {
      if (closed) throw new Error('snapshot feed is closed');
      const slot = new Slot<Snapshot<T, S>>(remove);
      slots.add(slot);
      unlisten ??= pubsub.listen(topic, (event) => noteEvent(event.id));
      if (after) {
        try {
          const missed = await pubsub.history(topic, after, 1);
          // Gone from the window (null) or something newer: either way the client is behind.
          if (missed === null || missed.length > 0) noteEvent(missed?.[0]?.id ?? after);
        } catch (err) {
          slot.return();
          throw err;
        }
      }
      return slot;
    },
    stats: () => ({ subscribers: slots.size, computations }),
    close() {
      closed = true;
      for (const slot of [...slots]) slot.return();
    },
  };
}

/** A one-value mailbox: a newer value replaces an undelivered one. */
class Slot<V> implements AsyncIterableIterator<V> {
  private value: V | undefined;
  private has = false;
  private waiting: ((result: IteratorResult<V>) => void) | null = null;
  private done = false;

  constructor(private readonly onDone: (slot: Slot<V>) => void) {}

  offer(value: V): void {
    if (this.done) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value, done: false });
    } else {
      this.value = value;
      this.has = true;
    }
  }

  async next(): Promise<IteratorResult<V>> {
    if (this.has) {
      const value = this.value!;
      this.value = undefined;
      this.has = false;
      return { value, done: false };
    }
    if (this.done) return { value: undefined, done: true };
    return new Promise((resolve) => (this.waiting = resolve));
  }

  async return(): Promise<IteratorResult<V>> {
    if (!this.done) {
      this.done = true;
      this.value = undefined;
      this.has = false;
      this.onDone(this);
      const resolve = this.waiting;
      this.waiting = null;
      resolve?.({ value: undefined, done: true });
    }
    return { value: undefined, done: true };
  }

  async throw(err: unknown): Promise<IteratorResult<V>> {
    await this.return();
    throw err;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
