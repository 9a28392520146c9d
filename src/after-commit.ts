// The one place a write's side effects run, after its transaction committed:
// invalidate what it changed, then publish its events. Writes describe their
// effects as data; they never touch caches or pub/sub themselves.

/** What a committed write changed. */
export interface WriteEffects {
  /** Cache tags: `Type:id` of each changed entity plus list and aggregate tags. */
  tags: string[];
  /** Domain events for subscriptions, in commit order. */
  events: DomainEvent[];
}

export type DomainEvent =
  | { topic: 'inventoryChanged'; hospitalId: number; bloodGroup: string }
  | { topic: 'bloodRequestChanged'; requestId: number }
  | { topic: 'donationRecorded'; donationId: number }
  | { topic: 'dashboardStatsUpdated' };

export interface AfterCommitStep {
  name: string;
  run(effects: WriteEffects): Promise<void>;
}

export interface AfterCommit {
  /** Runs every step in order; resolves once all have finished, so the mutation answers only after. */
  (effects: WriteEffects): Promise<void>;
}

export function createAfterCommit(steps: AfterCommitStep[]): AfterCommit {
  return async (effects) => {
    // Order matters: invalidation completes before events go out, and both before
    // the mutation's response is sent (a client must never read what it just replaced).
    for (const step of steps) await step.run(effects);
  };
}

export function mergeEffects(...all: WriteEffects[]): WriteEffects {
  return { tags: [...new Set(all.flatMap((e) => e.tags))], events: all.flatMap((e) => e.events) };
}
