// The after-commit step that publishes a write's events. It runs after the cache invalidation
// step (app.ts keeps the order "invalidate, then publish"): a subscriber that reacts to an event
// by querying must not read what the write replaced. The mutation answers only after this step,
// so by the time a client has the acknowledgement, the event is in Redis and on its way.
import type { AfterCommitStep, DomainEvent } from '../after-commit.js';
import type { Logger } from '../observability/logger.js';
import type { PubSub } from './pubsub.js';

export function createPublishStep(pubsub: PubSub, logger: Logger): AfterCommitStep {
  return {
    name: 'publish',
    async run({ events }) {
      // Every publish is issued at once, in event order (one connection keeps that order).
      const list = [...coalesce(events)];
      const results = await Promise.allSettled(list.map((event) => publishEvent(pubsub, event)));
      // The transaction has committed: failing the mutation now would tell the client its write
      // did not happen. Subscribers miss these events (Redis unreachable); they are logged.
      results.forEach((r, i) => {
        if (r.status === 'rejected') {
          logger.error({ topic: list[i]!.topic, err: (r.reason as Error)?.message }, 'publish after commit failed; event lost');
        }
      });
    },
  };
}

/** One dashboard signal per write is enough: it only says "recompute". */
function* coalesce(events: DomainEvent[]): Iterable<DomainEvent> {
  let dashboard = false;
  for (const event of events) {
    if (event.topic !== 'dashboardStatsUpdated') yield event;
    else dashboard = true;
  }
  if (dashboard) yield { topic: 'dashboardStatsUpdated' };
}

function publishEvent(pubsub: PubSub, event: DomainEvent): Promise<unknown> {
  switch (event.topic) {
    case 'inventoryChanged': {
      const { item, hospital, version } = event;
      return pubsub.publish('inventoryChanged', { item, hospital }, { entity: `${item.hospitalId}:${item.bloodGroup}`, version });
    }
    case 'bloodRequestChanged': {
      const { request, hospital, version } = event;
      return pubsub.publish('bloodRequestChanged', { request, hospital }, { entity: String(request.id), version });
    }
    case 'donationRecorded': {
      const { donation, hospital } = event;
      // Streams are shared by every subscriber: the donor's contact fields stay out of them.
      const { email: _email, phone: _phone, ...donor } = event.donor;
      // Immutable entity, one version: the check only turns a retried publish into a no-op.
      return pubsub.publish('donationRecorded', { donation, donor, hospital }, { entity: String(donation.id), version: '0' });
    }
    case 'dashboardStatsUpdated':
      return pubsub.publish('dashboardStatsUpdated', {});
    case 'sessionRevoked':
      return pubsub.publish('sessionRevoked', { sessionId: event.sessionId });
  }
}
