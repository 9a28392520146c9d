// In-process engine: one instance, no Redis. The same contract as the Redis engine (the
// contract suite in test/subscriptions/pubsub.contract.ts runs against both): a bounded log per
// topic for replay, per-entity version checks, ids in Redis Stream form. Payloads are encoded on
// publish exactly as for Redis, so rows are copied (no subscriber shares the writer's objects)
// and Dates survive the same way in both engines.
import type { Logger } from '../observability/logger.js';
import {
  DEFAULT_RETENTION,
  LocalDispatcher,
  compareIds,
  compareVersions,
  type EntityOrder,
  type Envelope,
  type PubSub,
  type RetentionOptions,
} from './pubsub.js';
import { decodePayload, encodePayload, type Topic, type TopicMap } from './topics.js';

export interface MemoryPubSubOptions extends RetentionOptions {
  logger: Logger;
  /** Clock, epoch ms. Default Date.now. */
  now?: () => number;
}

interface Entry {
  id: string;
  at: number;
  data: string;
}

/** Entities whose last version is remembered; beyond this the oldest are forgotten. */
const MAX_VERSIONS = 100_000;

export function createMemoryPubSub(options: MemoryPubSubOptions): PubSub {
  const { logger } = options;
  const now = options.now ?? Date.now;
  const { maxEvents, maxAgeMs } = { ...DEFAULT_RETENTION, ...stripUndefined(options) };
  const dispatcher = new LocalDispatcher(logger);
  const logs = new Map<Topic, Entry[]>();
  /** `${topic} ${entity}` → last published version; insertion order = age (Map order). */
  const versions = new Map<string, { version: string; at: number }>();
  let lastMs = 0;
  let seq = 0;
  let published = 0;
  let superseded = 0;
  let closed = false;

  const logOf = (topic: Topic) => {
    let log = logs.get(topic);
    if (!log) logs.set(topic, (log = []));
    return log;
  };

  /** Ids like Redis Streams: `<ms>-<seq>`, the ms never going backwards. */
  const nextId = () => {
    const ms = Math.max(now(), lastMs);
    seq = ms === lastMs ? seq + 1 : 0;
    lastMs = ms;
    return `${ms}-${seq}`;
  };

  const trim = (log: Entry[]) => {
    const cutoff = now() - maxAgeMs;
    let drop = Math.max(0, log.length - maxEvents);
    while (drop < log.length && log[drop]!.at < cutoff) drop++;
    if (drop > 0) log.splice(0, drop);
  };

  /** The version check and the append happen in one synchronous step: nothing can interleave. */
  const admit = (topic: Topic, order: EntityOrder | undefined): boolean => {
    if (!order) return true;
    const key = `${topic} ${order.entity}`;
    const last = versions.get(key);
    if (last && last.at >= now() - maxAgeMs && compareVersions(last.version, order.version) >= 0) return false;
    versions.delete(key);
    versions.set(key, { version: order.version, at: now() });
    if (versions.size > MAX_VERSIONS) versions.delete(versions.keys().next().value!);
    return true;
  };

  return {
    kind: 'memory',

    async publish(topic, payload, order) {
      if (closed) throw new Error('pubsub is closed');
      if (!admit(topic, order)) {
        superseded++;
        logger.warn({ topic, entity: order!.entity, version: order!.version }, 'pubsub: superseded event not published');
        return null;
      }
      const entry: Entry = { id: nextId(), at: now(), data: encodePayload(payload) };
      const log = logOf(topic);
      log.push(entry);
      trim(log);
      published++;
      dispatcher.accept(topic, entry.id, entry.data);
      return entry.id;
    },

    listen(topic, listener) {
      return dispatcher.add(topic, listener);
    },

    async history<T extends Topic>(topic: T, after: string, limit: number) {
      const log = logOf(topic);
      trim(log);
      const at = findIndex(log, after);
      if (at < 0) return null;
      return log.slice(at + 1, at + 1 + limit).map(
        (e): Envelope<T> => ({ id: e.id, topic, payload: decodePayload<TopicMap[T]>(e.data) }),
      );
    },

    // In process nothing is ever missed.
    stats: () => ({ listeners: dispatcher.listenerCount, published, superseded, gapsRecovered: 0 }),

    async close() {
      closed = true;
      dispatcher.clear();
      logs.clear();
      versions.clear();
    },
  };
}

/** Binary search for an id in a log (ids increase); -1 when absent. */
function findIndex(log: Entry[], id: string): number {
  let lo = 0;
  let hi = log.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = compareIds(log[mid]!.id, id);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
