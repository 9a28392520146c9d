// What a committed write changed, as data: the cache tags and the domain events. Writes
// describe their effects; write.ts (the one write path) records, invalidates and publishes
// them after the commit. Writes never touch caches or pub/sub themselves.
import { sql } from 'drizzle-orm';
import type { Change } from './cache/declare.js';
import { rows, type Executor } from './db/client.js';
import type { BloodRequestRow, DonationRow, DonorProfile, HospitalRow, InventoryRow } from './db/schema.js';

/** What a committed write changed. */
export interface WriteEffects {
  /** Cache tags: `Type:id` of each changed entity plus list and aggregate tags. */
  tags: string[];
  /**
   * Each declared entity value the write changed, before and after (as shared caches may hold
   * it: withheld columns absent), for steps that write fresh values through to the cache.
   */
  changes: Change<never>[];
  /** Domain events for subscriptions, in commit order. */
  events: DomainEvent[];
}

/**
 * What subscribers are told. Events carry the rows as of commit (what the subscription's
 * selection resolves from, so no subscriber reads a later state by accident) and, for
 * entities that change more than once, the commit order of the change (see commitOrder).
 */
export type DomainEvent =
  | { topic: 'inventoryChanged'; item: InventoryRow; hospital: HospitalRow; version: string }
  | { topic: 'bloodRequestChanged'; request: BloodRequestRow; hospital: HospitalRow; version: string }
  /** Donations never change once written: one event per entity, nothing to order. */
  | { topic: 'donationRecorded'; donation: DonationRow; donor: DonorProfile; hospital: HospitalRow }
  /** A signal only: the dashboard recomputes its totals (coalesced) when it arrives. */
  | { topic: 'dashboardStatsUpdated' }
  /** A session was signed out: its open WebSocket subscriptions close on every instance. */
  | { topic: 'sessionRevoked'; sessionId: string };

/**
 * The commit order of a transaction's changes, per entity: PostgreSQL's WAL insert position,
 * read inside the transaction AFTER its last row lock was taken. (A single-statement write reads
 * it in the statement itself: see write-statement.ts.)
 *
 * Why this orders commits of one entity: a second transaction writing the same row waits
 * on the first one's row lock until the first COMMITs, and that commit appends its commit
 * record to the WAL, moving the insert position forward. So the second transaction reads a
 * strictly greater position than the first. (Transactions on different rows get unrelated
 * positions, which is fine: order is only promised per entity.) The WAL position never goes
 * backwards, unlike a clock. A decimal string: byte offsets exceed 2^53 on long-lived servers.
 *
 * Publishing uses it to refuse an event that arrives after a later version of its entity was
 * already published (two after-commit steps racing on two instances): see pubsub/pubsub.ts.
 */
export async function commitOrder(tx: Executor): Promise<string> {
  const [row] = await rows<{ lsn: string }>(tx, sql`SELECT (pg_current_wal_insert_lsn() - '0/0')::text AS lsn`);
  return row!.lsn;
}

/** A step run after a write's commit (publishing its events); write.ts runs it after the invalidation. */
export interface AfterCommitStep {
  name: string;
  run(effects: WriteEffects): Promise<void>;
}

export function mergeEffects(...all: WriteEffects[]): WriteEffects {
  return { tags: [...new Set(all.flatMap((e) => e.tags))], changes: all.flatMap((e) => e.changes), events: all.flatMap((e) => e.events) };
}
