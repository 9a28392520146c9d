// The one write path. A mutation hands write() a function of a transaction; write() runs it,
// records the cache tags it changed in the invalidation outbox inside that same transaction,
// commits, invalidates, publishes the events, and only then returns the value. Refusals (a
// business rule said no) roll the transaction back and become a GraphQLError with a code.
//
// Write functions (modules' writes.ts) take a WriteTx, which only write() creates: code that
// changes cached data cannot commit without going through here, so cannot skip invalidation.
import type { GraphQLError } from 'graphql';
import type { AfterCommitStep, DomainEvent, WriteEffects } from './after-commit.js';
import type { Cache } from './cache/cache.js';
import type { Database, Tx } from './db/client.js';
import { invalidationPending, refusalError } from './graphql/outcome.js';
import type { Logger } from './observability/logger.js';
import type { Outbox } from './outbox.js';

declare const writeTxBrand: unique symbol;
/** A transaction opened by write(): the only handle write functions accept. */
export type WriteTx = Tx & { readonly [writeTxBrand]: true };

/** Why a write refused: one set for every module. NOT_FOUND for 'not-found', BAD_USER_INPUT for the rest. */
export type RefusalReason =
  | 'not-found'
  | 'not-open'
  | 'too-many'
  | 'insufficient-stock'
  | 'not-eligible'
  | 'wrong-campaign'
  | 'campaign-inactive'
  | 'already-exists';

export interface Refusal {
  ok: false;
  reason: RefusalReason;
  message: string;
  /** Extra extensions for the client (e.g. the missing entity's type and id). */
  extensions?: Record<string, unknown>;
}

/** The one result shape of a write function. */
export type WriteOutcome<T> = { ok: true; value: T; effects: WriteEffects } | Refusal;

export const refuse = (reason: RefusalReason, message: string, extensions?: Record<string, unknown>): Refusal => ({
  ok: false,
  reason,
  message,
  ...(extensions ? { extensions } : {}),
});

/** Thrown from anywhere inside a write function: rolls back and answers the refusal. */
export class Refused extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusal.message);
  }
}

export interface WriteOptions {
  /** The input field a BAD_USER_INPUT refusal points at, per reason or for all. */
  field?: string | ((reason: RefusalReason) => string | undefined);
}

export interface Write {
  /** Runs `fn` in a transaction and everything after its commit; resolves to its value, or throws a GraphQLError. */
  <T>(fn: (tx: WriteTx) => Promise<WriteOutcome<T>>, options?: WriteOptions): Promise<T>;
}

export interface WritePathOptions {
  database: Database;
  /** null: no cache (CACHE_MODE=off), nothing to invalidate. */
  cache: Cache | null;
  /** null with no cache. */
  outbox: Outbox | null;
  /** Publishes a committed write's events (after its invalidation). */
  publish: AfterCommitStep;
  logger: Logger;
  /** TEST ONLY: neither record nor apply invalidations, to show the tests catch the stale read. */
  unsafeSkipInvalidation?: boolean;
  /** TEST ONLY: the process dies (SIGKILL) right after a commit, before invalidating anything. */
  dieAfterCommit?: boolean;
}

export function createWritePath(options: WritePathOptions): { write: Write; publish(events: DomainEvent[]): Promise<void> } {
  const { database, cache, outbox, logger } = options;
  const invalidating = cache !== null && !options.unsafeSkipInvalidation;

  const write: Write = async <T>(fn: (tx: WriteTx) => Promise<WriteOutcome<T>>, writeOptions: WriteOptions = {}): Promise<T> => {
    let committed: { value: T; effects: WriteEffects; outboxId: number | null };
    try {
      committed = await database.db.transaction(async (tx) => {
        const outcome = await fn(tx as WriteTx);
        // A refusal rolls back whatever the function did before deciding.
        if (!outcome.ok) throw new Refused(outcome);
        const { tags } = outcome.effects;
        // Recorded in the write's own transaction: the commit and its invalidation record are
        // one atomic fact, so no crash or partition after this point can lose the invalidation.
        // The one statement this path adds to a write.
        const outboxId = invalidating && outbox && tags.length ? await outbox.record(tx, tags) : null;
        return { value: outcome.value, effects: outcome.effects, outboxId };
      });
    } catch (err) {
      if (err instanceof Refused) throw toError(err.refusal, writeOptions);
      throw err;
    }
    if (options.dieAfterCommit) process.kill(process.pid, 'SIGKILL');
    const pending = invalidating ? await invalidate(committed.effects.tags, committed.outboxId) : null;
    // Events go out after the invalidation (a subscriber that queries on an event must not read
    // what the write replaced), and even when the invalidation is still pending: the change
    // is committed, and events carry their rows, not cached data.
    await options.publish.run(committed.effects);
    if (pending) throw pending;
    return committed.value;
  };

  /**
   * Invalidates after the commit, before the answer. Resolves to the error to answer instead of
   * success when other instances may still serve the old data, else null.
   */
  const invalidate = async (tags: string[], outboxId: number | null): Promise<GraphQLError | null> => {
    if (!tags.length || !cache) return null;
    if (await cache.tryInvalidate(tags)) {
      // Marked applied by the relay's next round (batched, off the response's path); if this
      // process dies first, the row is simply applied again by someone after the grace.
      if (outboxId !== null) outbox!.applied(outboxId);
      return null;
    }
    // The store did not acknowledge it: this instance's cache is suspended (cache core), and
    // the others must apply the row or stop serving before this write may answer success.
    if (outboxId === null || !outbox) return null;
    const settled = await outbox.settle(outboxId);
    if (settled.ok) return null;
    logger.warn({ outboxId, visibleBy: settled.visibleBy }, 'write committed but its invalidation is still pending on other instances');
    return invalidationPending(settled.visibleBy);
  };

  return {
    write,
    // Events of something that is not a database write (a sign-out): nothing to invalidate.
    publish: (events) => options.publish.run({ tags: [], events }),
  };
}

function toError(refusal: Refusal, options: WriteOptions): GraphQLError {
  const field = typeof options.field === 'function' ? options.field(refusal.reason) : options.field;
  return refusalError(refusal, field);
}
