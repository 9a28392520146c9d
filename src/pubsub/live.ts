// What a Subscription field's subscribe() works with. The WebSocket layer passes a LiveRoot as
// the operation's root value (graphql-ws `roots`, per operation): the engine and feeds shared by
// the instance, plus the delivery policy of the connection the subscription lives on. Resolvers
// therefore depend on an interface, not on the transport, and a subscription executed anywhere
// else fails with a clear message instead of silently never firing.
import { badInput } from '../graphql/errors.js';
import { ReplayUnavailable, subscribeTopic, type DeliveryPolicy } from './event-stream.js';
import { isEventId, type Envelope, type PubSub } from './pubsub.js';
import type { SnapshotFeed } from './snapshot-feed.js';
import type { SnapshotMap, Topic, TopicMap } from './topics.js';

/** Long-lived, one per instance. */
export interface LiveServices {
  pubsub: PubSub;
  feeds: { [T in keyof SnapshotMap]: SnapshotFeed<T, SnapshotMap[T]> };
}

export interface LiveRoot extends LiveServices {
  readonly [LIVE]: true;
  delivery: DeliveryPolicy;
}

const LIVE = Symbol('lifeline.live');

export function createLiveRoot(services: LiveServices, delivery: DeliveryPolicy): LiveRoot {
  return { ...services, delivery, [LIVE]: true };
}

export function liveRoot(root: unknown): LiveRoot {
  if (typeof root === 'object' && root !== null && LIVE in root) return root as LiveRoot;
  throw new Error('Subscriptions are served over WebSocket (graphql-transport-ws) only: no live root in this operation.');
}

// ---- event ids ---------------------------------------------------------------------------------
// Clients see `extensions.eventId`, opaque: base64url of "<topic>:<log id>". The topic inside
// lets us refuse an id from another subscription's stream instead of replaying the wrong window.

export function encodeEventId(topic: Topic, id: string): string {
  return Buffer.from(`${topic}:${id}`).toString('base64url');
}

/** The log id inside a client's `after`, or null without one; BAD_USER_INPUT when it is not one of ours. */
export function parseAfter(topic: Topic, after: string | null | undefined): string | null {
  if (after == null) return null;
  const text = /^[A-Za-z0-9_-]{1,128}$/.test(after) ? Buffer.from(after, 'base64url').toString() : '';
  const sep = text.lastIndexOf(':');
  const id = text.slice(sep + 1);
  if (sep < 0 || text.slice(0, sep) !== topic || !isEventId(id)) {
    throw badInput(`after must be an eventId received from ${topic} (extensions.eventId of a message).`, 'after');
  }
  return id;
}

/** The client's `after` has left the replay window. */
export function replayUnavailable(topic: Topic) {
  return badInput(
    `after: that event is no longer in ${topic}'s replay window; query the current state, then subscribe again without after.`,
    'after',
  );
}

/**
 * A subscription's events: the live root from the operation, `after` checked and decoded, the
 * filter applied on the server, the connection's delivery policy.
 */
export async function liveEvents<T extends Topic>(
  root: unknown,
  topic: T,
  after: string | null | undefined,
  filter: (payload: TopicMap[T]) => boolean,
): Promise<AsyncIterableIterator<Envelope<T>>> {
  const live = liveRoot(root);
  try {
    return await subscribeTopic(live.pubsub, topic, { ...live.delivery, after: parseAfter(topic, after), filter });
  } catch (err) {
    if (err instanceof ReplayUnavailable) throw replayUnavailable(topic);
    throw err;
  }
}
