// The one write path, in two forms:
//  - write.one(statement): a write that is ONE statement (write-statement.ts). write() adds the
//    outbox INSERT of the statement's changes and the commit-order position to the statement
//    itself, sends it without a transaction (a statement is atomic), derives the tags from the
//    changes it returns, invalidates, publishes the events, and only then returns the value;
//  - write(fn): a write of several statements. write() runs fn in a transaction, records the
//    tags it changed in the outbox inside that same transaction, commits, and goes on as above.
// Refusals (a business rule said no) write nothing and become a GraphQLError with a code.
//
// Write functions (modules' writes.ts) take a WriteTx, which only write() creates, or hand
// write.one a statement it completes: code that changes cached data cannot commit without
// going through here, so cannot skip invalidation.
import type { GraphQLError } from 'graphql';
import type { AfterCommitStep, DomainEvent, WriteEffects } from './after-commit.js';
import type { Cache, StoreItem } from './cache/cache.js';
import { tagsOfChanges, type Change } from './cache/declare.js';
import { rows, type Database, type Tx } from './db/client.js';
import type { JsonRow } from './db/row-json.js';
import { invalidationPending, refusalError } from './graphql/outcome.js';
import type { Logger } from './observability/logger.js';
import type { Outbox } from './outbox.js';
import { composeWriteStatement, type WriteStatement } from './write-statement.js';

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

/** What a one-statement write makes of its statement's result. */
export type Decision<T> = { ok: true; value: T; events: DomainEvent[] } | Refusal | typeof retry;

/**
 * The statement wrote nothing and could not tell why (it lost a race it cannot wait for inside
 * itself, such as a concurrent insert of the row it meant to insert): send it again.
 */
export const retry = { ok: 'retry' } as const;

export interface StatementResult {
  /** The statement's select list, by column name. */
  row: JsonRow;
  /** What it wrote, decoded through the entities' declarations (empty when it wrote nothing). */
  changes: Change<never>[];
  /** The commit-order position of its changes (see commitOrder in after-commit.ts). */
  commitOrder: string;
}

export interface OneWrite<T> extends WriteStatement {
  decide(result: StatementResult): Decision<T>;
  /**
   * What a unique-index violation means (two writes racing to create one thing, the later one
   * failing on the index): the statement failed whole, so nothing was written; it is answered
   * as this refusal. Unset: such an error propagates.
   */
  uniqueViolation?: Refusal | typeof retry;
}

export interface Write {
  /** Runs `fn` in a transaction and everything after its commit; resolves to its value, or throws a GraphQLError. */
  <T>(fn: (tx: WriteTx) => Promise<WriteOutcome<T>>, options?: WriteOptions): Promise<T>;
  /** Sends the write as one statement (outbox row included) and does everything after it; as above. */
  one<T>(write: OneWrite<T>, options?: WriteOptions): Promise<T>;
}

/** A statement that keeps losing its race is sent at most this often before the write fails. */
const MAX_ATTEMPTS = 3;

export interface WritePathOptions {
  database: Database;
  /** null: no cache (CACHE_MODE=off), nothing to invalidate. */
  cache: Cache | null;
  /** null with no cache. */
  outbox: Outbox | null;
  /** Publishes a committed write's events (after its invalidation). */
  publish: AfterCommitStep;
  logger: Logger;
  /** Fresh lifetime of a cached value of a GraphQL type (its @cacheControl maxAge), for write-through entries. */
  ttlMs: (type: string) => number;
  /** Decodes the changes a write statement returns (the cache registry's): the outbox relay decodes stored ones the same way. */
  declarations: { decodeChanges(stored: unknown): Change<never>[] };
  /** TEST ONLY: neither record nor apply invalidations, to show the tests catch the stale read. */
  unsafeSkipInvalidation?: boolean;
  /** TEST ONLY: the process dies (SIGKILL) right after a commit, before invalidating anything. */
  dieAfterCommit?: boolean;
}

export function createWritePath(options: WritePathOptions): { write: Write; publish(events: DomainEvent[]): Promise<void> } {
  const { database, cache, outbox, logger } = options;
  const invalidating = cache !== null && !options.unsafeSkipInvalidation;

  const transactional = async <T>(fn: (tx: WriteTx) => Promise<WriteOutcome<T>>, writeOptions: WriteOptions = {}): Promise<T> => {
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
    return afterCommit(committed.value, committed.effects, committed.outboxId, null);
  };

  // The outbox INSERT only when this instance invalidates: with no cache there is nothing to relay.
  const recordChanges = invalidating && outbox ? outbox.recordChanges : null;

  const one = async <T>(statement: OneWrite<T>, writeOptions: WriteOptions = {}): Promise<T> => {
    const query = composeWriteStatement(statement, recordChanges);
    for (let attempt = 1; ; attempt++) {
      let row: JsonRow | undefined;
      try {
        [row] = await rows<JsonRow>(database.db, query);
      } catch (err) {
        const onViolation = statement.uniqueViolation;
        if (!onViolation || (err as { code?: unknown }).code !== '23505') throw err;
        if (onViolation.ok !== 'retry') throw toError(onViolation, writeOptions);
        if (attempt >= MAX_ATTEMPTS) throw new Error(`a write statement lost its race ${attempt} times`);
        continue;
      }
      const changes = options.declarations.decodeChanges(row!.lifeline_changes);
      const outboxId = row!.lifeline_outbox_id == null ? null : Number(row!.lifeline_outbox_id);
      const decision = statement.decide({ row: row!, changes, commitOrder: String(row!.lifeline_order) });
      // The tags come from the very changes the outbox row holds, through the same function the relay uses.
      const effects: WriteEffects = { tags: tagsOfChanges(changes), changes, events: decision.ok === true ? decision.events : [] };
      if (decision.ok === true) return afterCommit(decision.value, effects, outboxId, String(row!.lifeline_order));
      if (changes.length) {
        // A statement that wrote and then said no is a bug in it; what it wrote is committed, so
        // it is invalidated like any write before the error is reported.
        await afterCommit(null, effects, outboxId, null).catch(() => {});
        throw new Error(`a write statement ${decision.ok === false ? `refused (${decision.reason})` : 'asked to be retried'} after writing ${changes.length} change(s)`);
      }
      if (decision.ok === false) throw toError(decision, writeOptions);
      if (attempt >= MAX_ATTEMPTS) throw new Error(`a write statement lost its race ${attempt} times`);
    }
  };

  const write: Write = Object.assign(transactional, { one });

  /**
   * The committed values of write-through entities, as entries (the last change of a key wins),
   * carrying the statement's commit order so an older commit never replaces a newer one. Only
   * one-statement writes have that order for every change they made.
   */
  const freshValues = (changes: Change<never>[], commitVersion: string | null): StoreItem<unknown>[] => {
    if (commitVersion === null) return [];
    const byKey = new Map<string, StoreItem<unknown>>();
    for (const { entity, after } of changes) {
      if (!entity.writeThrough || after == null) continue;
      const ttlMs = options.ttlMs(entity.type);
      // The entity's own tag first: the store checks the writer's invalidation of it.
      if (ttlMs > 0) byKey.set(entity.tag(after), { key: entity.tag(after), value: after, tags: entity.readTags(after), ttlMs, commitVersion });
    }
    return [...byKey.values()];
  };

  /** Everything after a commit, in order: invalidate (awaited), publish, answer. */
  const afterCommit = async <T>(value: T, effects: WriteEffects, outboxId: number | null, commitVersion: string | null): Promise<T> => {
    if (options.dieAfterCommit) process.kill(process.pid, 'SIGKILL');
    const pending = invalidating ? await invalidate(effects.tags, outboxId, freshValues(effects.changes, commitVersion)) : null;
    // Events go out after the invalidation (a subscriber that queries on an event must not read
    // what the write replaced), and even when the invalidation is still pending: the change
    // is committed, and events carry their rows, not cached data.
    await options.publish.run(effects);
    if (pending) throw pending;
    return value;
  };

  /**
   * Invalidates after the commit, before the answer. Resolves to the error to answer instead of
   * success when other instances may still serve the old data, else null.
   */
  const invalidate = async (tags: string[], outboxId: number | null, fresh: StoreItem<unknown>[]): Promise<GraphQLError | null> => {
    if (!tags.length || !cache) return null;
    if (await cache.tryInvalidate(tags, fresh)) {
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
    publish: (events) => options.publish.run({ tags: [], changes: [], events }),
  };
}

function toError(refusal: Refusal, options: WriteOptions): GraphQLError {
  const field = typeof options.field === 'function' ? options.field(refusal.reason) : options.field;
  return refusalError(refusal, field);
}
