// Redis engine: every event is appended to a bounded Redis Stream per topic and PUBLISHed on the
// topic's channel by ONE Lua script, so the log order and the broadcast order are the same and
// the broadcast carries the event's stream id. Each instance SUBSCRIBEs (on its own connection)
// and dispatches locally.
//
// Why our own thin layer rather than graphql-redis-subscriptions: that library is PUBLISH/
// SUBSCRIBE plus JSON and an async iterator. It has no log, so it cannot replay what a client
// missed (`after`), and it cannot notice that its own subscriber connection dropped messages
// during a reconnect. Both need every event to have a position, i.e. the stream id, known to the
// publisher and the receivers alike: that is the Lua script below, about 20 lines, plus the
// resync in this file. Everything else it would give us (the async iterator, filtering) lives in
// event-stream.ts anyway, with the bounded buffers and replay it lacks.
//
// Keys (under the configured prefix; the `{…}` hash tag puts a topic's keys in one Cluster slot):
//   {events:<topic>}              STREAM, field d = encoded payload; MAXLEN ~ maxEvents, MINID ~ now - maxAge,
//                                 and the key expires maxAge after the last event
//   {events:<topic>}:v:<entity>   last published version of one entity (see EntityOrder), TTL maxAge
// Channel: <prefix>events:<topic>, message "<stream id> <previous stream id> <encoded payload>".
//
// Exactly once, in order, on every instance, across subscriber reconnects: live messages carry
// their stream id; while the subscriber connection is down (and until it has caught up) live
// messages are held; on (re)connection the instance reads the stream from the last id it
// dispatched (XRANGE exclusive), dispatches that, then the held messages; LocalDispatcher skips
// any id it has already dispatched. So a message lost by Pub/Sub during an outage is recovered
// from the stream, and one seen both ways is dispatched once.
//
// A drop is not always reported: on Redis Cluster the client's subscriber connection moves to
// another node when its node fails, and the client as a whole never closes. So each message also
// names the stream entry before it: a message whose predecessor is newer than the last id this
// instance dispatched proves that something was missed, however it was lost, and starts the same
// hold-and-catch-up as a reconnection (the message itself is held, so nothing is dispatched out of
// order). A lost message is thus recovered at the latest when the topic's next event arrives.
// The last message before a quiet spell has no successor to reveal it, so every checkIntervalMs
// the instance also reads each stream's last id: one that stays ahead of what was dispatched over
// two checks in a row (not merely in flight) starts the same catch-up.
//
// Redis Cluster: the stream and version keys of a topic share the `{events:<topic>}` hash tag, so
// the script runs on one slot; the topics spread over the masters. The broadcast is classic
// PUBLISH, which a cluster forwards to every node over its bus, so the subscriber connection may
// sit on any node (see docs/runbook.md, "Redis Cluster", for why not sharded pub/sub).
import type { Logger } from '../observability/logger.js';
import type { RedisClient } from '../redis/client.js';
import {
  DEFAULT_RETENTION,
  LocalDispatcher,
  compareIds,
  isEventId,
  type Envelope,
  type PubSub,
  type RetentionOptions,
} from './pubsub.js';
import { TOPICS, decodePayload, encodePayload, type Topic, type TopicMap } from './topics.js';

export interface RedisPubSubOptions extends RetentionOptions {
  /** Runs the publish script and reads the streams. Should fail fast: a publish never waits out an outage. */
  publishClient: RedisClient;
  /** Used for SUBSCRIBE only. Must NOT fail fast (offline queue on), so it resubscribes after an outage. */
  subscribeClient: RedisClient;
  /** Key and channel prefix (CACHE_PREFIX); instances sharing it share events. */
  prefix: string;
  logger: Logger;
  /** Events read per XRANGE while catching up. Default 1,000. */
  pageSize?: number;
  /** How often the streams' last ids are compared with what was dispatched (see "the last message" above). Default 5,000 ms. */
  checkIntervalMs?: number;
}

// KEYS[1] stream, KEYS[2] (optional) entity version key.
// ARGV: channel, payload, maxEvents, max age ms, version.
// The broadcast carries the new id and the id of the entry before it ('0-0' for none).
// The version check, append, trim and broadcast are one atomic step. The age bound is taken
// from Redis' own clock, the one stream ids come from (no skew with the app servers').
const PUBLISH_SCRIPT = `
local maxAge = tonumber(ARGV[4])
if #KEYS > 1 then
  local last = redis.call('GET', KEYS[2])
  local v = ARGV[5]
  if last and (#last > #v or (#last == #v and last >= v)) then return false end
  redis.call('SET', KEYS[2], v, 'PX', maxAge)
end
local before = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local prev = before[1] and before[1][1] or '0-0'
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'd', ARGV[2])
local now = redis.call('TIME')
local minId = math.max(0, tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - maxAge)
redis.call('XTRIM', KEYS[1], 'MINID', '~', string.format('%d', minId))
redis.call('PEXPIRE', KEYS[1], maxAge)
redis.call('PUBLISH', ARGV[1], id .. ' ' .. prev .. ' ' .. ARGV[2])
return id
`;

interface WithPublishScript {
  lifelinePublish(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<string | null>;
}

type StreamEntry = [id: string, fields: string[]];

export interface RedisPubSub extends PubSub {
  /** Resolves once this instance is subscribed and caught up (first sync). */
  ready(): Promise<void>;
  /** Live messages that revealed missed ones (each started a catch-up from the streams). */
  gapsDetected(): number;
}

export function createRedisPubSub(options: RedisPubSubOptions): RedisPubSub {
  const { publishClient, subscribeClient, prefix, logger } = options;
  const { maxEvents, maxAgeMs } = {
    maxEvents: options.maxEvents ?? DEFAULT_RETENTION.maxEvents,
    maxAgeMs: options.maxAgeMs ?? DEFAULT_RETENTION.maxAgeMs,
  };
  const pageSize = options.pageSize ?? 1000;
  const dispatcher = new LocalDispatcher(logger);
  const streamKey = (topic: Topic) => `${prefix}{events:${topic}}`;
  const channelOf = (topic: Topic) => `${prefix}events:${topic}`;
  const topicOfChannel = new Map(TOPICS.map((t) => [channelOf(t), t]));

  if (!('lifelinePublish' in publishClient)) publishClient.defineCommand('lifelinePublish', { lua: PUBLISH_SCRIPT });
  const scripted = publishClient as unknown as WithPublishScript;

  let published = 0;
  /** Times a live message showed that earlier ones were missed (see the note at the top). */
  let gaps = 0;
  let superseded = 0;
  let closed = false;
  /** Live messages held while the subscriber is (re)connecting and catching up; null = dispatch at once. */
  let held: [Topic, string, string][] | null = [];
  /** Where dispatch starts on first sync, per topic: the stream's last id before we subscribed. */
  let baselined = false;
  let syncing: Promise<void> | null = null;
  let retryTimer: NodeJS.Timeout | undefined;
  const onClose = new Set<() => void>();
  let firstSync!: () => void;
  const firstSynced = new Promise<void>((resolve) => (firstSync = resolve));

  const onMessage = (channel: string, message: string) => {
    const topic = topicOfChannel.get(channel);
    if (!topic || closed) return;
    const space = message.indexOf(' ');
    const space2 = message.indexOf(' ', space + 1);
    if (space < 0 || space2 < 0) return;
    const id = message.slice(0, space);
    const prev = message.slice(space + 1, space2);
    const data = message.slice(space2 + 1);
    if (held) return void held.push([topic, id, data]);
    const last = dispatcher.last(topic);
    if (last !== undefined && isEventId(prev) && compareIds(prev, last) > 0) {
      // Its predecessor never reached us: hold this one and catch up from the stream.
      gaps++;
      logger.warn({ topic, missed: prev, last }, 'pubsub: missed events detected; catching up from the stream');
      held = [[topic, id, data]];
      void sync();
      return;
    }
    dispatcher.accept(topic, id, data);
  };
  // From the moment the connection drops, hold live messages: dispatching one would move the
  // "last dispatched" id past the ones lost during the outage, and the resync would skip them.
  const onDisconnect = () => {
    held ??= [];
  };
  const onReady = () => void sync();
  subscribeClient.on('message', onMessage);
  subscribeClient.on('close', onDisconnect);
  subscribeClient.on('ready', onReady);

  /** Resolves when the publish client is ready or the engine closes; rejects after 5 s (sync retries). */
  function untilPublisherReady(): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        publishClient.off('ready', onReady);
        onClose.delete(onClosed);
        if (err) reject(err);
        else resolve();
      };
      const onReady = () => done();
      const onClosed = () => done(new Error('pubsub closed'));
      const timer = setTimeout(() => done(new Error('Redis (publish connection) not ready within 5000 ms')), 5000);
      publishClient.on('ready', onReady);
      onClose.add(onClosed);
    });
  }

  async function readRange(topic: Topic, start: string, count: number): Promise<StreamEntry[]> {
    return (await publishClient.xrange(streamKey(topic), start, '+', 'COUNT', count)) as StreamEntry[];
  }

  async function catchUp(): Promise<void> {
    // The publish client fails fast: let it (re)connect before asking it anything.
    if (publishClient.status !== 'ready') await untilPublisherReady();
    // Baselines before SUBSCRIBE: anything logged after them reaches us by the stream or live.
    if (!baselined) {
      for (const topic of TOPICS) {
        const [last] = (await publishClient.xrevrange(streamKey(topic), '+', '-', 'COUNT', 1)) as StreamEntry[];
        dispatcher.setBaseline(topic, last ? last[0] : '0-0');
      }
      baselined = true;
    }
    // Bounded: a SUBSCRIBE queued on a connection that is being replaced (a cluster client moving
    // its subscriber to another node) may never be answered; the retry sends it again.
    await bounded(subscribeClient.subscribe(...TOPICS.map(channelOf)), 5000, 'SUBSCRIBE');
    for (const topic of TOPICS) {
      for (;;) {
        const entries = await readRange(topic, `(${dispatcher.last(topic)}`, pageSize);
        for (const [id, fields] of entries) dispatcher.accept(topic, id, fieldValue(fields));
        if (entries.length < pageSize || closed) break;
      }
    }
  }

  function sync(): Promise<void> {
    if (closed) return Promise.resolve();
    syncing ??= (async () => {
      held ??= [];
      try {
        await catchUp();
        // Held messages after the stream: LocalDispatcher skips what catchUp already dispatched.
        const pending = held;
        held = null;
        for (const [topic, id, data] of pending) dispatcher.accept(topic, id, data);
        firstSync();
      } catch (err) {
        if (closed) return;
        logger.warn({ err: (err as Error).message }, 'pubsub: cannot catch up with the event streams; retrying');
        clearTimeout(retryTimer);
        retryTimer = setTimeout(() => void sync(), 1000);
      } finally {
        syncing = null;
      }
    })();
    return syncing;
  }
  void sync();

  // See the note at the top: the last id of each stream, if still undispatched at the next check.
  const behind = new Map<Topic, string>();
  const checkTimer = setInterval(() => void checkTails(), options.checkIntervalMs ?? 5000);
  checkTimer.unref();
  async function checkTails(): Promise<void> {
    if (closed || held || publishClient.status !== 'ready') return;
    let missed = false;
    // One command per topic: on a cluster the streams live in different slots.
    const tails = await Promise.all(
      TOPICS.map(async (topic) => [topic, ((await publishClient.xrevrange(streamKey(topic), '+', '-', 'COUNT', 1)) as StreamEntry[])[0]?.[0]] as const),
    ).catch(() => []);
    for (const [topic, tail] of tails) {
      const last = dispatcher.last(topic);
      if (!tail || last === undefined || compareIds(tail, last) <= 0) {
        behind.delete(topic);
        continue;
      }
      if (behind.get(topic) !== undefined && compareIds(behind.get(topic)!, last) > 0) missed = true;
      behind.set(topic, tail);
    }
    if (missed && !held && !closed) {
      gaps++;
      logger.warn('pubsub: a stream is ahead of what this instance received; catching up');
      behind.clear();
      void sync();
    }
  }

  return {
    kind: 'redis',

    ready: () => firstSynced,

    gapsDetected: () => gaps,

    async publish(topic, payload, order) {
      if (closed) throw new Error('pubsub is closed');
      const keys = order ? [streamKey(topic), `${streamKey(topic)}:v:${order.entity}`] : [streamKey(topic)];
      const id = await scripted.lifelinePublish(
        keys.length,
        ...keys,
        channelOf(topic),
        encodePayload(payload),
        maxEvents,
        maxAgeMs,
        order?.version ?? '',
      );
      if (id === null) {
        superseded++;
        logger.warn({ topic, entity: order?.entity, version: order?.version }, 'pubsub: superseded event not published');
        return null;
      }
      published++;
      return id;
    },

    listen(topic, listener) {
      return dispatcher.add(topic, listener);
    },

    async history<T extends Topic>(topic: T, after: string, limit: number) {
      // Inclusive start: the first entry must be `after` itself, proving nothing between it and
      // the rest was trimmed away.
      const entries = await readRange(topic, after, limit + 1);
      if (entries[0]?.[0] !== after) return null;
      return entries.slice(1).map(([id, fields]): Envelope<T> => ({ id, topic, payload: decodePayload<TopicMap[T]>(fieldValue(fields)) }));
    },

    stats: () => ({ listeners: dispatcher.listenerCount, published, superseded, gapsRecovered: gaps }),

    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(retryTimer);
      clearInterval(checkTimer);
      for (const fn of [...onClose]) fn();
      subscribeClient.off('message', onMessage);
      subscribeClient.off('close', onDisconnect);
      subscribeClient.off('ready', onReady);
      dispatcher.clear();
      firstSync();
    },
  };
}

/** `promise`, or a rejection after `ms` (the timer never holds the process open). */
function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} not answered within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The `d` field of a stream entry's [field, value, ...] list. */
function fieldValue(fields: string[]): string {
  const i = fields.indexOf('d');
  return i >= 0 && i % 2 === 0 ? fields[i + 1]! : '';
}
