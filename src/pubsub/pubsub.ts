// One PubSub interface, two engines: Redis (pubsub/redis.ts, every instance) and in-process
// (pubsub/memory.ts, one instance without REDIS_URL). Both keep a bounded log per topic so a
// subscriber that reconnects can ask for what it missed (event-stream.ts does the replay).
//
// Guarantees, for both engines:
//   - every listener on every instance sees each published event once, in the topic's log
//     order (local dispatch skips ids it has already dispatched: see LocalDispatcher);
//   - per entity, the log order is commit order: publish() refuses an event whose entity has
//     already been published at a later version (see EntityOrder);
//   - ids increase along a topic's log, so "after <id>" is well defined.
import type { Logger } from '../observability/logger.js';
import { decodePayload, type Topic, type TopicMap } from './topics.js';

export interface Envelope<T extends Topic = Topic> {
  /** Position in the topic's log, `<ms>-<seq>` (a Redis Stream id), increasing. */
  id: string;
  topic: T;
  payload: TopicMap[T];
}

/**
 * Per-entity ordering of a topic's events. Two transactions on one row commit in lock order,
 * but their after-commit publishes race (they may run on two instances). The version (see
 * commitOrder in after-commit.ts) is strictly increasing per entity in commit order, so the
 * engine can refuse an event that arrives after a later version of its entity was published:
 * a subscriber then never sees an entity go back in time. The refused event was superseded
 * before anyone could see it (its successor carries the newer row); this is counted and logged.
 * A repeated publish of the same version (a retried command) is refused too: no duplicates.
 */
export interface EntityOrder {
  /** The entity within its topic, e.g. `12:O_NEG` for a hospital's stock of one group. */
  entity: string;
  /** Decimal string, strictly increasing per entity in commit order. */
  version: string;
}

export interface PubSubStats {
  /** Local listeners, all topics (each open subscription is one). */
  listeners: number;
  /** Events published by this instance. */
  published: number;
  /** Events this instance refused to publish because a later version was already out. */
  superseded: number;
  /** Broadcasts this instance found it had missed (a gap before a message, or a stream ahead of it) and recovered from the log. */
  gapsRecovered: number;
}

export interface PubSub {
  readonly kind: 'redis' | 'memory';
  /**
   * Appends the event to its topic's log and broadcasts it to every instance, atomically
   * (log order = broadcast order). Resolves with the event's id once the engine has it, or
   * null when refused as superseded (see EntityOrder).
   */
  publish<T extends Topic>(topic: T, payload: TopicMap[T], order?: EntityOrder): Promise<string | null>;
  /** Calls listener for each event of the topic this instance receives from now on, in order. Returns an unsubscribe. */
  listen<T extends Topic>(topic: T, listener: (event: Envelope<T>) => void): () => void;
  /**
   * Up to `limit` events logged after the event `after`, oldest first; null when `after` is no
   * longer in the log (it left the retention window, or never was): the caller cannot know what
   * it missed.
   */
  history<T extends Topic>(topic: T, after: string, limit: number): Promise<Envelope<T>[] | null>;
  stats(): PubSubStats;
  /** Stops receiving and drops listeners. Idempotent. */
  close(): Promise<void>;
}

/** Retention shared by both engines. */
export interface RetentionOptions {
  /** Events kept per topic for replay. Default 10,000 (Redis trims approximately: at least this many). */
  maxEvents?: number;
  /** How long events are kept for replay, in ms. Default 10 minutes. */
  maxAgeMs?: number;
}

export const DEFAULT_RETENTION: Required<RetentionOptions> = Object.freeze({ maxEvents: 10_000, maxAgeMs: 10 * 60_000 });

// ---- ids -------------------------------------------------------------------------------------

const ID = /^(\d{1,16})-(\d{1,16})$/;

export const isEventId = (id: string): boolean => ID.test(id);

/** Orders two log ids (`<ms>-<seq>`); negative when a comes first. */
export function compareIds(a: string, b: string): number {
  const [, am, as] = ID.exec(a) ?? [];
  const [, bm, bs] = ID.exec(b) ?? [];
  if (am === undefined || bm === undefined) throw new Error(`not an event id: ${ID.test(a) ? b : a}`);
  return Number(am) - Number(bm) || Number(as) - Number(bs);
}

/** Compares two decimal version strings without losing precision. */
export function compareVersions(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

// ---- local dispatch (shared by both engines) -------------------------------------------------

/**
 * Listeners of this instance, and the last id dispatched per topic. An id at or before the last
 * one dispatched is skipped, so an event that reaches us twice (live and again by a resync after
 * a reconnect) is still dispatched once. Each event is decoded once and the same envelope object
 * goes to every listener (they must not mutate it).
 */
export class LocalDispatcher {
  private readonly listeners = new Map<Topic, Set<(event: Envelope) => void>>();
  private readonly lastId = new Map<Topic, string>();
  private count = 0;

  constructor(private readonly logger: Logger) {}

  get listenerCount(): number {
    return this.count;
  }

  last(topic: Topic): string | undefined {
    return this.lastId.get(topic);
  }

  /** Sets where dispatch starts (ids at or before it are treated as already dispatched). */
  setBaseline(topic: Topic, id: string): void {
    const last = this.lastId.get(topic);
    if (last === undefined || compareIds(id, last) > 0) this.lastId.set(topic, id);
  }

  add<T extends Topic>(topic: T, listener: (event: Envelope<T>) => void): () => void {
    let set = this.listeners.get(topic);
    if (!set) this.listeners.set(topic, (set = new Set()));
    const fn = listener as (event: Envelope) => void;
    set.add(fn);
    this.count++;
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      set.delete(fn);
      this.count--;
    };
  }

  /** Dispatches a logged event (raw payload text) unless it was dispatched already. */
  accept(topic: Topic, id: string, data: string): void {
    const last = this.lastId.get(topic);
    if (last !== undefined && compareIds(id, last) <= 0) return;
    this.lastId.set(topic, id);
    const set = this.listeners.get(topic);
    if (!set?.size) return;
    let event: Envelope;
    try {
      event = { id, topic, payload: decodePayload(data) };
    } catch (err) {
      this.logger.error({ topic, id, err: (err as Error).message }, 'pubsub: undecodable event dropped');
      return;
    }
    // A copy: a listener may unsubscribe (or subscribe others) while we iterate.
    for (const listener of [...set]) {
      try {
        listener(event);
      } catch (err) {
        this.logger.error({ topic, id, err: (err as Error).message }, 'pubsub: listener failed');
      }
    }
  }

  clear(): void {
    this.listeners.clear();
    this.count = 0;
  }
}
