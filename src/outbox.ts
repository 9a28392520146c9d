// The invalidation outbox: what makes an invalidation survive a crash or a partition.
//
// Every write records what it changed in `cache_invalidations` atomically with the write: a
// one-statement write inserts the changes of its declared entities (before and after, as JSON)
// in the statement itself (recordChanges()), a transaction its precomputed tags (record(): one
// INSERT in the transaction). So a commit without its invalidation record cannot exist. The
// relay derives a stored change's tags through the same declarations and function as the
// writer did (tagsOfChanges), so both invalidate the same tags.
// After the commit the writer invalidates the tags itself, as before; this module makes sure
// that an invalidation the writer could NOT make (cut off from the cache store, or killed
// between its commit and its invalidation) still reaches every instance that serves from the
// shared cache, and that no writer answers success while one may still serve the old data.
//
// Three parts:
//  - the relay (every instance with a cache): a bounded poll, woken at once by NOTIFY, applies
//    outstanding rows of its keyspace to the cache and marks them applied; applied rows are
//    pruned after a while;
//  - the serving lease (`cache_leases`): an instance reads the shared cache only while it holds
//    an unexpired lease, and renews it only after a relay round that reached the store and left
//    nothing it saw unapplied. Cut off from the store (or from PostgreSQL), its lease lapses
//    and it stops serving its cache, by its own clock, before PostgreSQL's clock says so;
//  - settle(): a writer whose own invalidation failed wakes the relays (NOTIFY) and waits,
//    bounded, until its row is applied by someone or no other instance holds a lease. Past
//    the bound the caller answers an error saying the change is committed and when it will
//    be visible, never plain success.
//
// The relay's statements run on a connection pool of their own (not the app's counted pool):
// the app's per-request statement counts, and the statements-per-write budget, cover only
// what a request itself sends.
import { randomBytes } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import { rows, type Database, type Executor } from './db/client.js';
import { parseJson } from './db/row-json.js';
import type { Logger } from './observability/logger.js';

export interface OutboxOptions {
  /** The app's database: record() runs in the write's transaction on it. */
  database: Database;
  /** Where the relay, the leases and settle() run: a pool of its own (may be `database` with PGlite). */
  relayDatabase: Database;
  /** The cache keyspace (CACHE_PREFIX): instances of one deployment share it and relay only its rows. */
  keyspace: string;
  /** Applies tags to the cache; false when the store did not acknowledge it. */
  apply(tags: string[]): Promise<boolean>;
  /** The tags of stored changes (the `changes` column): the write path derives its own with the same function. */
  tagsOfChanges(stored: unknown): string[];
  /** Throws unless the cache store answers now (a round with nothing to apply must still prove it). */
  probe(): Promise<void>;
  logger: Logger;
  /** How often the relay polls. Default 500 ms. */
  pollMs?: number;
  /** Lease length. Default 3,000 ms. */
  leaseMs?: number;
  /** A row younger than this is left to its writer by the routine poll. Default 2,000 ms. */
  graceMs?: number;
  /** How long settle() waits before giving up. Default leaseMs + 1,500 ms. */
  settleMs?: number;
  /** Applied rows are deleted this long after being applied. Default 60 s. */
  keepAppliedMs?: number;
  /** LISTEN for writers' NOTIFY (default true). Off only in tests that need a relay that does not wake early. */
  listen?: boolean;
}

export interface OutboxStats {
  /** Rounds that reached the store and applied what they saw. */
  rounds: number;
  failedRounds: number;
  /** Rows this instance applied for another writer (or for its own writer after a failure). */
  relayed: number;
  /** Writes whose own invalidation failed and that waited in settle(). */
  settles: number;
  /** settle() calls that gave up (the mutation answered INVALIDATION_PENDING). */
  unsettled: number;
}

export type Settled = { ok: true } | { ok: false; visibleBy: Date };

export interface Outbox {
  /** The one INSERT, inside the write's transaction. Returns the row id. */
  record(tx: Executor, tags: string[]): Promise<number>;
  /**
   * The INSERT of a write statement's changes, as the body of one of its CTEs: `changes` is a
   * query yielding a `changes` jsonb column (no row when nothing changed); RETURNING id.
   */
  recordChanges(changes: SQL): SQL;
  /** The writer invalidated its row itself: marked applied in the relay's next round (no statement of its own). */
  applied(id: number): void;
  /** The writer's own invalidation failed: see the header. */
  settle(id: number): Promise<Settled>;
  /** Whether this instance holds a fresh lease (the cache core's canServe hook). */
  canServe(): boolean;
  /** Runs the first round (bounded) so a started instance serves its cache at once, then polls. */
  start(): Promise<void>;
  /** Marks what is still unmarked, drops the lease, stops polling. */
  stop(): Promise<void>;
  stats: OutboxStats;
}

/** text[] literal for a bound parameter: independent of driver array support and type discovery. */
function textArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}

const idList = (ids: readonly number[]) => `{${ids.join(',')}}`;

/** One pg_notify channel per database: the payload names the keyspace. */
const CHANNEL = 'lifeline_cache_invalidations';
/** Rows read (and applied) per statement: bounds a round's size after a long outage. */
const BATCH = 500;
/** Stop serving a little before the lease ends: a read that began just before must still finish inside it. */
const MARGIN_MS = 250;
/** Unapplied rows older than the longest-lived cache entry (plus grace) can no longer matter. */
const ABANDONED_AFTER = '3 hours';

class StoreDown extends Error {}

interface Row {
  id: string | number;
  tags: string[] | string | null;
  changes?: unknown;
  renewed?: number | null;
}

export function createOutbox(options: OutboxOptions): Outbox {
  const { database, relayDatabase, keyspace, logger } = options;
  const db = relayDatabase.db;
  const pollMs = options.pollMs ?? 500;
  const leaseMs = options.leaseMs ?? 3_000;
  const graceMs = options.graceMs ?? 2_000;
  const settleMs = options.settleMs ?? leaseMs + 1_500;
  const keepAppliedMs = options.keepAppliedMs ?? 60_000;
  const instanceId = `${process.pid}-${randomBytes(6).toString('hex')}`;
  const stats: OutboxStats = { rounds: 0, failedRounds: 0, relayed: 0, settles: 0, unsettled: 0 };

  // Lease state. `deadline` is on the monotonic clock: past it this instance does not serve,
  // whatever PostgreSQL says. It is always computed from a moment BEFORE the statement that set
  // the lease was sent, so it ends no later than the lease does by PostgreSQL's clock.
  let holding = false;
  let deadline = 0;
  // Whether the last round reached the store and applied all it saw: only then is the lease
  // extended, so a writer whose invalidation failed waits only for instances that can apply it.
  let lastOk = false;
  // Set by NOTIFY or a failed round: the next round applies every outstanding row, not only
  // those past the grace (which exists only so the poll does not redo a live writer's work).
  let urgent = false;
  let toMark: number[] = [];
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  let unlisten: (() => Promise<void>) | null = null;
  let lastPrune = 0;

  const now = () => performance.now();
  const canServe = () => holding && now() < deadline;

  const parseTags = (tags: Row['tags']): string[] => (tags == null ? [] : parseJson<string[]>(tags));

  /**
   * A row's change tags. A change this version cannot decode (an entity type it does not declare,
   * written by a newer version during a rolling deploy) still moves its whole type: the type tag
   * is on every entry holding a value of it.
   */
  const changeTags = (row: Row): string[] => {
    if (row.changes == null) return [];
    try {
      return options.tagsOfChanges(row.changes);
    } catch (err) {
      logger.error({ err: (err as Error).message, id: row.id }, 'outbox row with changes this version cannot decode: invalidating their types');
      const stored = parseJson<{ entity?: unknown }[]>(row.changes);
      return [...new Set(stored.map((c) => String(c.entity)))];
    }
  };

  const probe = () =>
    options.probe().catch((err: unknown) => {
      throw new StoreDown((err as Error).message);
    });

  /**
   * The store failed: this instance cannot serve from it anyway, so it stops serving first and
   * then gives its lease up, so writers whose invalidation failed too need not wait for the lease
   * to run out (Redis down for everyone: writes answer within a round, not a lease). Best effort:
   * the lease lapses by itself otherwise. (PostgreSQL unreachable is different: the cache may go
   * on serving until the lease's end, which is what the lease is for.)
   */
  const release = async () => {
    holding = false;
    deadline = 0;
    await rows(db, sql`/* lifeline relay */ UPDATE cache_leases SET expires_at = now() WHERE instance_id = ${instanceId} AND expires_at > now()`).catch(
      () => {},
    );
  };

  /** Applies rows (one invalidation for all of them: one round trip). */
  const applyRows = async (found: Row[]): Promise<boolean> => {
    if (!found.length) {
      await probe();
      return true;
    }
    const tags = [...new Set(found.flatMap((r) => [...parseTags(r.tags), ...changeTags(r)]))];
    const ok = await options.apply(tags);
    if (ok) {
      stats.relayed += found.length;
      toMark.push(...found.map((r) => Number(r.id)));
    }
    return ok;
  };

  // The rows still to apply, never including those being marked in the same statement (a
  // statement's CTEs and its SELECT share one snapshot: the SELECT would still see them).
  const outstanding = (marks: number[], grace: number) => sql`
    SELECT id, to_json(tags) AS tags, changes FROM cache_invalidations
    WHERE keyspace = ${keyspace} AND applied_at IS NULL
      AND id <> ALL (${idList(marks)}::bigint[])
      AND created_at < now() - make_interval(secs => ${grace / 1000})
    ORDER BY id LIMIT ${BATCH}`;
  const mark = (marks: number[]) => sql`
    UPDATE cache_invalidations SET applied_at = now()
    WHERE id = ANY (${idList(marks)}::bigint[]) AND applied_at IS NULL`;

  /**
   * A round while holding the lease: one statement marks what was applied, extends the lease
   * (only if the previous round reached the store and applied all it saw) and reads what is
   * outstanding. Extending after applying, never before: the extension is what tells writers
   * "this instance is serving and applies your row".
   */
  const continuousRound = async (started: number, grace: number, extend: boolean): Promise<boolean> => {
    const marks = toMark;
    toMark = [];
    let found: Row[];
    try {
      found = await rows<Row>(
        db,
        sql`/* lifeline relay */ WITH marked AS (${mark(marks)} RETURNING 1),
        renewed AS (
          UPDATE cache_leases SET expires_at = now() + make_interval(secs => ${leaseMs / 1000})
          WHERE ${sql.raw(extend ? 'true' : 'false')} AND instance_id = ${instanceId} AND expires_at > now() RETURNING 1)
        SELECT (SELECT count(*)::int FROM renewed) AS renewed, (SELECT count(*)::int FROM marked) AS marked, o.id, o.tags, o.changes
        FROM (SELECT 1) one LEFT JOIN LATERAL (${outstanding(marks, grace)}) o ON true`,
      );
    } catch (err) {
      toMark.push(...marks);
      throw err;
    }
    // Continuous only if the extension took effect while the lease was unexpired in PostgreSQL AND
    // its answer came back before the local deadline: otherwise a writer may have found the lease
    // lapsed meanwhile, and this instance must start over (fresh round) before serving again.
    if (!extend) {
      // Not extended (the store was unreachable last round): serve on until the deadline, no longer.
    } else if (Number(found[0]?.renewed) === 1 && now() < deadline) deadline = started + leaseMs - MARGIN_MS;
    else {
      holding = false;
      deadline = 0;
    }
    return applyRows(found.filter((r) => r.id !== null));
  };

  /**
   * A round without a lease, in this order:
   * 1. the store answers (else a lease would only make writers wait for an instance that cannot apply);
   * 2. take the lease (committed): from now on a writer whose invalidation fails waits for us;
   * 3. read EVERY outstanding row in a NEW snapshot: it includes every write whose writer found
   *    no lease of ours before step 2 (so may have answered success), grace or not;
   * 4. apply them; only then serve, until `started + lease`.
   */
  const freshRound = async (): Promise<boolean> => {
    await probe();
    const started = now();
    await rows(
      db,
      sql`/* lifeline relay */ INSERT INTO cache_leases (instance_id, keyspace, expires_at)
      VALUES (${instanceId}, ${keyspace}, now() + make_interval(secs => ${leaseMs / 1000}))
      ON CONFLICT (instance_id) DO UPDATE SET expires_at = EXCLUDED.expires_at`,
    );
    for (let batch = 0; batch < 1000; batch++) {
      const marks = toMark;
      toMark = [];
      let found: Row[];
      try {
        found = await rows<Row>(db, sql`/* lifeline relay */ WITH marked AS (${mark(marks)} RETURNING 1) SELECT * FROM (${outstanding(marks, 0)}) o`);
      } catch (err) {
        toMark.push(...marks);
        throw err;
      }
      if (!(await applyRows(found))) return false;
      if (found.length < BATCH) break;
    }
    holding = true;
    deadline = started + leaseMs - MARGIN_MS;
    return true;
  };

  const prune = async () => {
    lastPrune = Date.now();
    await rows(
      db,
      sql`/* lifeline relay */ WITH a AS (
        DELETE FROM cache_invalidations
        WHERE applied_at < now() - make_interval(secs => ${keepAppliedMs / 1000})
           OR created_at < now() - interval '${sql.raw(ABANDONED_AFTER)}' RETURNING 1)
      DELETE FROM cache_leases WHERE expires_at < now() - interval '1 hour'`,
    );
  };

  const round = async () => {
    const started = now();
    const grace = urgent || !lastOk ? 0 : graceMs;
    urgent = false;
    try {
      const ok = await (canServe() ? continuousRound(started, grace, lastOk) : freshRound()).catch((err: unknown) => {
        if (err instanceof StoreDown) return false;
        throw err;
      });
      lastOk = ok;
      if (ok) stats.rounds++;
      else {
        stats.failedRounds++;
        urgent = true;
        await release();
      }
      if (ok && Date.now() - lastPrune > keepAppliedMs / 2) await prune();
    } catch (err) {
      lastOk = false;
      urgent = true;
      stats.failedRounds++;
      logger.debug({ err: (err as Error).message }, 'invalidation relay round failed');
    }
  };

  /** Runs a round now, or right after the one in progress. */
  const runRound = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await round();
        } while (again && !stopped);
      } finally {
        running = null;
      }
    })();
    return running;
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      void runRound().finally(schedule);
    }, pollMs);
    timer.unref();
  };

  const wake = () => {
    if (stopped) return;
    urgent = true;
    void runRound();
  };

  return {
    stats,
    canServe,

    async record(tx, tags) {
      const [row] = await rows<{ id: string | number }>(
        tx,
        sql`INSERT INTO cache_invalidations (keyspace, tags) VALUES (${keyspace}, ${textArray(tags)}::text[]) RETURNING id`,
      );
      return Number(row!.id);
    },

    recordChanges(changes) {
      return sql`INSERT INTO cache_invalidations (keyspace, tags, changes) SELECT ${keyspace}::text, '{}'::text[], c.changes FROM (${changes}) c RETURNING id`;
    },

    applied(id) {
      toMark.push(id);
    },

    async settle(id) {
      stats.settles++;
      const started = Date.now();
      let heldUntil: Date | null = null;
      // Wake every relay of the keyspace (ours too) at once instead of at their next poll.
      await rows(db, sql`/* lifeline relay */ SELECT pg_notify(${CHANNEL}, ${keyspace})`).catch(() => {});
      for (let attempt = 0; attempt < 1000; attempt++) {
        try {
          const [state] = await rows<{ applied: boolean; held_until: Date | string | null }>(
            db,
            sql`/* lifeline relay */ SELECT (SELECT applied_at IS NOT NULL FROM cache_invalidations WHERE id = ${id}) AS applied,
              (SELECT max(expires_at) FROM cache_leases
               WHERE keyspace = ${keyspace} AND instance_id <> ${instanceId} AND expires_at > now()) AS held_until`,
          );
          // Applied by a relay, or nobody else is serving from the shared cache: anyone who
          // serves again first applies every outstanding row (freshRound), this one included.
          // (A missing row reads as not applied: it is deleted only long after being applied.)
          if (state?.applied || state?.held_until == null) return { ok: true };
          heldUntil = new Date(state.held_until);
        } catch {
          // PostgreSQL unreachable: unknown; keep trying within the bound.
        }
        if (Date.now() - started >= settleMs) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      stats.unsettled++;
      // Every other instance either applies the row within its next rounds or stops serving when
      // its lease ends; a lease seen now can be extended only by a round that applied the row.
      return { ok: false, visibleBy: heldUntil ?? new Date(Date.now() + leaseMs) };
    },

    async start() {
      if (options.listen !== false) {
        try {
          unlisten = await relayDatabase.listen(
            CHANNEL,
            (payload) => {
              if (payload === keyspace) wake();
            },
            // (Re)connected: notifications sent while the listener was away are lost.
            () => wake(),
          );
        } catch (err) {
          logger.warn({ err: (err as Error).message }, 'cache invalidation LISTEN unavailable; relaying by polling only');
        }
      }
      // The first round, bounded: an instance whose store is down starts without its cache.
      let bound: NodeJS.Timeout | undefined;
      await Promise.race([runRound(), new Promise<void>((r) => (bound = setTimeout(r, 3_000)))]);
      clearTimeout(bound);
      schedule();
    },

    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => {});
      holding = false;
      deadline = 0;
      await unlisten?.().catch(() => {});
      const marks = toMark;
      toMark = [];
      await rows(
        db,
        sql`/* lifeline relay */ WITH m AS (${mark(marks)} RETURNING 1) DELETE FROM cache_leases WHERE instance_id = ${instanceId}`,
      ).catch(() => {});
    },
  };
}
