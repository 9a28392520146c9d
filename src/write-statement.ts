// A write as ONE statement: its lookups, checks and writes as data-modifying CTEs, the change of
// every declared entity row it wrote as JSON, the outbox row holding those changes, and the
// commit-order position, all in one round trip and one implicit transaction. A statement is
// atomic on its own, so no BEGIN and COMMIT are needed: either all of it happens or none does.
//
// What each write statement must do itself (the write path cannot check SQL):
//  - lock the rows it will change with SELECT ... FOR UPDATE in a CTE and read their "before"
//    values from that CTE: under READ COMMITTED, that is the version the UPDATE then replaces
//    (the UPDATE re-checks the row, finds it locked by this statement, and updates exactly that
//    version), whereas a plain subquery's snapshot may be older;
//  - make every write conditional on every check, so a refusal writes nothing; the outbox row
//    is inserted only when some change was written, so a refusal leaves none either.
import { sql, type SQL } from 'drizzle-orm';
import type { EntityDecl } from './cache/declare.js';

/** Where one declared entity's change comes from in a write statement. */
export interface ChangeSource {
  entity: EntityDecl<never>;
  /** A FROM clause over the statement's CTEs: one row per changed value, none when nothing was written. */
  from: SQL;
  /** The value before (null: created) and after (null: deleted) as jsonb: see rowJson. */
  before: SQL | null;
  after: SQL | null;
}

export interface WriteStatement {
  /** The CTEs that lock, check and write (the text after WITH), each write gated on every check. */
  with: SQL;
  changes: ChangeSource[];
  /** What the write reads back besides (refusal facts, the value, event rows): a select list over the CTEs. */
  select: SQL;
}

const SQL_NAME = /^[a-z_][a-z0-9_]*$/;
const literal = (name: string) => {
  if (!SQL_NAME.test(name)) throw new TypeError(`${JSON.stringify(name)} is not a plain SQL name`);
  return sql.raw(`'${name}'`);
};

/**
 * The row `alias` of a write statement as its entity's value, jsonb: the row's columns under
 * their SQL names (what decodeRow reads), without the columns the entity withholds from shared
 * caches, plus values joined in (a hospital's region) under their own names.
 */
export function rowJson(entity: ChangeSource['entity'], alias: string, joined: Record<string, SQL> = {}): SQL {
  const parts = [sql`to_jsonb(${sql.identifier(alias)})`];
  for (const column of entity.withheld) parts.push(sql` - ${literal(column)}::text`);
  const extra = Object.entries(joined);
  if (extra.length) {
    parts.push(sql` || jsonb_build_object(${sql.join(extra.map(([k, v]) => sql`${literal(k)}::text, ${v}`), sql`, `)})`);
  }
  return sql`(${sql.join(parts, sql``)})`;
}

/**
 * The statement: the write's CTEs, then its changes, then (when `recordChanges` is given) the
 * outbox INSERT of those changes, then the commit-order position, read after every write of the
 * statement has taken its row locks: the aggregate over the changes consumes every write CTE
 * before the position is read (see commitOrder in after-commit.ts for why that orders commits).
 */
export function composeWriteStatement(statement: WriteStatement, recordChanges: ((changes: SQL) => SQL) | null): SQL {
  const sources = statement.changes.map(
    (c) =>
      sql`SELECT jsonb_build_object('entity', ${literalType(c.entity.type)}::text, 'before', ${c.before ?? sql`NULL::jsonb`}, 'after', ${c.after ?? sql`NULL::jsonb`}) AS change FROM ${c.from}`,
  );
  const changes = sources.length
    ? sql`SELECT coalesce(jsonb_agg(c.change), '[]'::jsonb) AS changes FROM (${sql.join(sources, sql` UNION ALL `)}) c`
    : sql`SELECT '[]'::jsonb AS changes`;
  const outbox = recordChanges ? sql`, lifeline_outbox AS (${recordChanges(sql`SELECT changes FROM lifeline_changes WHERE changes <> '[]'::jsonb`)})` : sql``;
  const outboxId = recordChanges ? sql`(SELECT id FROM lifeline_outbox)` : sql`NULL::bigint`;
  return sql`WITH ${statement.with},
    lifeline_changes AS (${changes})${outbox},
    lifeline_order AS (SELECT (pg_current_wal_insert_lsn() - '0/0')::text AS lsn FROM lifeline_changes)
    SELECT ${outboxId} AS lifeline_outbox_id, (SELECT changes FROM lifeline_changes) AS lifeline_changes,
      (SELECT lsn FROM lifeline_order) AS lifeline_order, ${statement.select}`;
}

const TYPE = /^[A-Z][A-Za-z0-9]*$/;
function literalType(type: string): SQL {
  if (!TYPE.test(type)) throw new TypeError(`${JSON.stringify(type)} is not an entity type`);
  return sql.raw(`'${type}'`);
}
