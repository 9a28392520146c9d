// Cache declarations: the one place that knows how cache keys and tags are spelled. A module
// declares each cached type (defineEntity), each cached aggregate (defineAggregate) and each
// cached list (defineList) once; entity keys, list keys, the tags a read stores and the tags a
// write invalidates, the response taggers, what purgeCache accepts and the metrics labels all
// derive from those declarations. Nothing here knows the domain.
//
// Spelling (every name is checked when declared, so the forms cannot overlap):
//   entity key / tag   Type:id            (Donor:42, InventoryItem:3:O_NEG; ids are integers or words)
//   type tag           Type               (in every entry holding a value of the type)
//   aggregate key/tag  Type               (DashboardStats)
//   list key           name?p=v&p=v       (every declared parameter, in declared order)
//   count key          name.count?f=v     (the list's filters only)
//   list tag           name[f=v&f=*]      (filters only; * = unset, the list of every value)
// where v is encodeValue(value): a type letter, then the value, with every character outside
// [A-Za-z0-9_.-] percent-escaped. See docs/cache-declarations.md for why that is injective.
import type { Table } from 'drizzle-orm';
import { columnNames, decodeRow, parseJson, type JsonRow } from '../db/row-json.js';

/** What a key parameter may be. `undefined` (absent) is a value of its own. */
export type KeyValue = string | number | boolean | null | undefined;
type IdPart = string | number;

const NAME = /^[A-Za-z][A-Za-z0-9]*$/;
const TYPE_NAME = /^[A-Z][A-Za-z0-9]*$/;
const ID_WORD = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const PLAIN = /^[A-Za-z0-9_.-]$/;

/** Percent-escapes every UTF-16 code unit outside [A-Za-z0-9_.-]: %XX below 0x100, %uXXXX above. */
function escapeText(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (PLAIN.test(ch)) {
      out += ch;
      continue;
    }
    const code = text.charCodeAt(i);
    out += code < 0x100 ? `%${code.toString(16).toUpperCase().padStart(2, '0')}` : `%u${code.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return out;
}

/**
 * One parameter value as key text: its type, then the value. Absent, null, false, 0 and ""
 * are all different (u, n, f, i0, s); a number and its digits as a string are different (i0, s0);
 * no encoded value contains a separator (& = ? : * [ ] , or space), so key texts split back
 * into exactly the values they were made from.
 */
export function encodeValue(value: KeyValue): string {
  switch (typeof value) {
    case 'undefined':
      return 'u';
    case 'boolean':
      return value ? 't' : 'f';
    case 'number':
      return `i${Object.is(value, -0) ? '-0' : String(value)}`;
    case 'string':
      return `s${escapeText(value)}`;
    default:
      if (value === null) return 'n';
      throw new TypeError(`a cache key parameter must be a string, number, boolean, null or absent, not ${typeof value}`);
  }
}

function idText(part: IdPart, type: string): string {
  if (typeof part === 'number' && Number.isSafeInteger(part) && part >= 0) return String(part);
  if (typeof part === 'string' && ID_WORD.test(part)) return part;
  throw new TypeError(`${type} id part ${JSON.stringify(part)} is neither a non-negative integer nor a word`);
}

/** The label a cache key counts under in metrics: its type or list name (`resp:` keys are responses). */
export function keyLabel(key: string): string {
  if (key.startsWith('resp:')) return 'response';
  const end = key.search(/[?:]/);
  return end >= 0 ? key.slice(0, end) : key;
}

// ---- declarations --------------------------------------------------------------------------

export interface EntityDecl<R> {
  readonly kind: 'entity';
  /** The GraphQL type: its @cacheControl maxAge is the entries' TTL. */
  readonly type: string;
  /** The fields that name one value, in key order (['id'] unless declared). */
  readonly idFields: readonly string[];
  /** The entity key and tag of the value with this id (`Type:id`). */
  key(id: IdPart | readonly IdPart[]): string;
  /** The entity key and tag of a value (only its id fields are read). */
  tag(row: Partial<R>): string;
  /** What an entry holding this value is tagged with: its entity tag and its type's tag. */
  readTags(row: Partial<R>): string[];
  /** Everything a write of this row moves: the entity, every list it is (or, per `before`, was) in, the aggregates built from it. */
  tagsOf(row: R, before?: R): string[];
  /** The entity tag for an id as text (`42`, `3:O_NEG`); null when it cannot be an id of this type. */
  tagOfIdText(text: string): string | null;
  /** The id parts an entity key names (the inverse of `key`); null for a key of another type. */
  idOfKey(key: string): IdPart[] | null;
  /** The table a value's row lives in, when the value is a row of one (changes need it). */
  readonly table: Table | null;
  /** Whether a write stores its committed value as this entity's entry (see defineEntity). */
  readonly writeThrough: boolean;
  /** SQL names of the table's columns a shared cache must never hold (private fields): left out of changes. */
  readonly withheld: readonly string[];
  /** A value as JSON (`to_jsonb` of its row, withheld columns removed, joined values added) decoded: an R. */
  decode(json: JsonRow): unknown;
  readonly lists: ListDecl<R, unknown>[];
  readonly aggregates: AggregateDecl[];
}

export interface AggregateDecl {
  readonly kind: 'aggregate';
  readonly type: string;
  /** Its key and its tag. */
  readonly key: string;
  readonly tag: string;
}

export interface FilterSpec<R> {
  /** The list argument. */
  name: string;
  /** The row's value the argument is compared with (equality). */
  of(row: R): KeyValue;
  /** Unset (absent, null or "") keeps every row, as the repositories treat it; required filters always select. */
  optional?: boolean;
}

export type Params = Record<string, KeyValue>;

export interface ListDecl<R, E = R> {
  readonly kind: 'list';
  readonly name: string;
  /** The type whose TTL the entries get (the rows' type). */
  readonly type: string;
  readonly entity: EntityDecl<R>;
  readonly filters: readonly FilterSpec<R>[];
  /** Parameters that shape a page but not which rows belong (limit, cursor, ...). */
  readonly params: readonly string[];
  /** The key of one read: every filter and parameter, absent ones included. */
  key(values: Params): string;
  /** The key of the list's count (filters only). */
  countKey(values: Params): string;
  /** The tag of the list these filter values select. */
  tag(values: Params): string;
  /** The tags of every list (every filter combination) the row belongs to. */
  rowTags(row: R): string[];
  /** The tags an entry holding these elements carries besides the list's own. */
  elementTags(element: E): string[];
  /**
   * Set when the list is cached as membership only: the entity keys of its rows, without their
   * values and without order, so a write that leaves membership alone (a stock count changing)
   * keeps the entry, and a read assembles the rows from their own entity entries.
   */
  readonly members: MembershipSpec<R> | null;
}

/** How a membership-only list is assembled and when a write moves it. */
export interface MembershipSpec<R> {
  /** Besides the filters, whether a row belongs (e.g. only rows with stock). Default: every row. */
  where(row: R): boolean;
  /** The list's order, applied when it is assembled. */
  order(a: R, b: R): number;
  /** Whether a row (present before and after a write) may have entered or left some list of this declaration. */
  moved(before: R, after: R): boolean;
  /** Whether a row belongs to the list these filter values select (filters and `where`). */
  matches(row: R, values: Params): boolean;
}

export type CacheDeclaration = EntityDecl<never> | AggregateDecl | ListDecl<never, never>;

const ANY = '*';
/** Entities whose every list and aggregate is known (see cacheRegistry). */
const registered = new WeakSet<object>();
const unset = (v: KeyValue) => v === undefined || v === null || v === '';

export function defineEntity<R>(spec: {
  type: string;
  id?: readonly (keyof R & string)[];
  /** The table its rows live in. */
  table?: Table;
  /** Columns (TypeScript keys) of the table that are not part of the cached value. */
  withhold?: readonly string[];
  /**
   * A write stores the value it committed as the entity's entry (fenced at its own
   * invalidation), so the next read needs no database. Only where a change's `after` is exactly
   * what the entity's loader caches (the same columns, joined values included).
   */
  writeThrough?: boolean;
}): EntityDecl<R> {
  const { type } = spec;
  if (!TYPE_NAME.test(type)) throw new TypeError(`entity type ${JSON.stringify(type)} must match ${TYPE_NAME}`);
  const idFields = spec.id ?? (['id'] as never as readonly (keyof R & string)[]);
  if (!idFields.length) throw new TypeError(`${type} needs at least one id field`);
  const key = (id: IdPart | readonly IdPart[]) => {
    const parts = Array.isArray(id) ? (id as readonly IdPart[]) : [id as IdPart];
    if (parts.length !== idFields.length) throw new TypeError(`${type} ids have ${idFields.length} parts, got ${parts.length}`);
    return `${type}:${parts.map((p) => idText(p, type)).join(':')}`;
  };
  const tag = (row: Partial<R>) => key(idFields.map((f) => row[f] as IdPart));
  const entity: EntityDecl<R> = {
    kind: 'entity',
    type,
    idFields,
    key,
    tag,
    readTags: (row) => [tag(row), type],
    tagsOf(row, before) {
      // Lists and aggregates of this type may be declared in other modules: only once every
      // declaration is registered (cacheRegistry) is the set of tags a write moves complete.
      if (!registered.has(entity)) throw new Error(`${type}: tagsOf before its declarations were registered (cacheRegistry)`);
      const tags = new Set<string>([tag(row)]);
      for (const r of before === undefined ? [row] : [row, before]) {
        tags.add(tag(r));
        for (const list of entity.lists) {
          // A list cached as membership only (which rows, not their values) is moved only by a
          // write that can change which rows belong: a new or deleted row, or one whose filter
          // values or `where` changed. Its rows' values are read through their own entries.
          if (list.members && before !== undefined && !list.members.moved(before, row)) continue;
          for (const t of list.rowTags(r)) tags.add(t);
        }
      }
      for (const agg of entity.aggregates) tags.add(agg.tag);
      return [...tags];
    },
    idOfKey(k) {
      if (!k.startsWith(`${type}:`)) return null;
      const parts = k.slice(type.length + 1).split(':');
      if (parts.length !== idFields.length) return null;
      const ids = parts.map((p) => (/^\d{1,15}$/.test(p) ? Number(p) : p));
      try {
        return key(ids) === k ? ids : null;
      } catch {
        return null;
      }
    },
    tagOfIdText(text) {
      const parts = text.split(':');
      if (parts.length !== idFields.length) return null;
      const ids = parts.map((p) => (/^\d{1,15}$/.test(p) ? Number(p) : p));
      try {
        return key(ids);
      } catch {
        return null;
      }
    },
    table: spec.table ?? null,
    withheld: spec.table ? columnNames(spec.table, spec.withhold ?? []) : [],
    writeThrough: spec.writeThrough ?? false,
    decode(json) {
      if (!spec.table) throw new TypeError(`${type} declares no table: its changes cannot be decoded`);
      return decodeRow(spec.table, json);
    },
    lists: [],
    aggregates: [],
  };
  return entity;
}

// ---- changes --------------------------------------------------------------------------------

/**
 * One declared entity's value before and after a write (null before: created; null after:
 * deleted; before absent: a write of several statements that changed the row without reading it).
 */
export interface Change<R = unknown> {
  entity: EntityDecl<R>;
  before?: R | null;
  after: R | null;
}


/** A change as a statement builds it and the outbox stores it: the entity's type and its rows as JSON. */
export interface StoredChange {
  entity: string;
  before: JsonRow | null;
  after: JsonRow | null;
}

/**
 * Every tag the changes move, through each entity's one declaration. The writer and the outbox
 * relay both call this on the same decoded changes, so they cannot disagree about the tags.
 */
export function tagsOfChanges(changes: readonly Change<never>[]): string[] {
  const tags = new Set<string>();
  for (const { entity, before, after } of changes) {
    const row = after ?? before;
    if (row == null) continue;
    for (const t of entity.tagsOf(row, after !== null && before != null ? before : undefined)) tags.add(t);
  }
  return [...tags];
}

/** A single cached value built from rows of other types (a dashboard): any write of one of them moves it. */
export function defineAggregate(spec: { type: string; from: readonly EntityDecl<never>[] }): AggregateDecl {
  if (!TYPE_NAME.test(spec.type)) throw new TypeError(`aggregate type ${JSON.stringify(spec.type)} must match ${TYPE_NAME}`);
  const agg: AggregateDecl = { kind: 'aggregate', type: spec.type, key: spec.type, tag: spec.type };
  for (const e of spec.from) if (registered.has(e)) throw new Error(`${spec.type}: ${e.type} is already registered; declare before cacheRegistry`);
  for (const e of spec.from) (e.aggregates as AggregateDecl[]).push(agg);
  return agg;
}

export function defineList<R, E = R>(spec: {
  name: string;
  of: EntityDecl<R>;
  filters: readonly FilterSpec<R>[];
  params?: readonly string[];
  /** Tags of one element of a cached page; default: the element's entity tag and type tag. */
  elementTags?: (element: E) => string[];
  /**
   * Cache membership only (see ListDecl.members). Only for lists read whole (no paging
   * parameters): the order is applied to the assembled rows.
   */
  members?: { where?: (row: R) => boolean; order: (a: R, b: R) => number };
}): ListDecl<R, E> {
  const { name, of: entity, filters } = spec;
  if (registered.has(entity)) throw new Error(`${name}: ${entity.type} is already registered; declare before cacheRegistry`);
  const params = spec.params ?? [];
  if (!NAME.test(name)) throw new TypeError(`list name ${JSON.stringify(name)} must match ${NAME}`);
  const all = [...filters.map((f) => f.name), ...params];
  for (const p of all) if (!NAME.test(p)) throw new TypeError(`${name}: parameter ${JSON.stringify(p)} must match ${NAME}`);
  if (new Set(all).size !== all.length) throw new TypeError(`${name}: a parameter is declared twice`);
  const filterNames = filters.map((f) => f.name);
  const encode = (names: readonly string[], values: Params, what: string) => {
    for (const k of Object.keys(values)) {
      if (!names.includes(k)) throw new TypeError(`${name}: ${JSON.stringify(k)} is not a declared ${what} (${names.join(', ')})`);
    }
    return names.map((k) => `${k}=${encodeValue(values[k])}`).join('&');
  };
  const tagOf = (values: Params) =>
    `${name}[${filters.map((f) => `${f.name}=${f.optional && unset(values[f.name]) ? ANY : encodeValue(values[f.name])}`).join('&')}]`;
  const list: ListDecl<R, E> = {
    kind: 'list',
    name,
    type: entity.type,
    entity,
    filters,
    params,
    key: (values) => `${name}?${encode(all, values, 'parameter')}`,
    countKey: (values) => `${name}.count?${encode(filterNames, values, 'filter')}`,
    tag: (values) => {
      for (const k of Object.keys(values)) if (!all.includes(k)) throw new TypeError(`${name}: ${JSON.stringify(k)} is not a declared parameter`);
      return tagOf(values);
    },
    rowTags(row) {
      // Each filter either names the row's value or is unset: the product of those choices.
      let combos: Params[] = [{}];
      for (const f of filters) {
        const v = f.of(row);
        const choices: KeyValue[] = [];
        if (!unset(v) || !f.optional) choices.push(v);
        if (f.optional) choices.push(null);
        combos = combos.flatMap((c) => choices.map((choice) => ({ ...c, [f.name]: choice })));
      }
      return combos.map(tagOf);
    },
    elementTags: spec.elementTags ?? ((element: E) => entity.readTags(element as unknown as R)),
    members: spec.members ? membershipOf(spec.members, filters) : null,
  };
  if (spec.members && params.length) throw new TypeError(`${name}: a membership-only list is read whole; it cannot have paging parameters (${params.join(', ')})`);
  (entity.lists as ListDecl<R, unknown>[]).push(list as ListDecl<R, unknown>);
  return list;
}

function membershipOf<R>(spec: { where?: (row: R) => boolean; order: (a: R, b: R) => number }, filters: readonly FilterSpec<R>[]): MembershipSpec<R> {
  const where = spec.where ?? (() => true);
  // Compared as key text: the same encoding that tells values apart in keys (0 vs "0" vs null).
  const same = (a: KeyValue, b: KeyValue) => encodeValue(a) === encodeValue(b);
  return {
    where,
    order: spec.order,
    moved: (before, after) => where(before) !== where(after) || filters.some((f) => !same(f.of(before), f.of(after))),
    matches: (row, values) =>
      where(row) && filters.every((f) => (f.optional && unset(values[f.name]) ? true : same(f.of(row), values[f.name]))),
  };
}

// ---- the registry of every declaration ------------------------------------------------------

export interface CacheRegistry {
  /** Types purgeCache accepts, in declaration order. */
  readonly types: string[];
  /** Per GraphQL type: the tags a resolved value adds to a response (entity and type tags). */
  readonly taggers: Record<string, (value: never) => string[]>;
  /** The tags purgeCache(type, id) invalidates, or why it cannot. */
  purgeTags(type: string, id: string | null): { tags: string[] } | { error: string; field: 'type' | 'id' };
  /** Every list declared, for tests and docs. */
  readonly lists: ListDecl<never, never>[];
  /** Stored changes (JSON, or its text) decoded through their entities' declarations; throws on a type not declared. */
  decodeChanges(stored: unknown): Change<never>[];
}

export function cacheRegistry(declarations: readonly CacheDeclaration[]): CacheRegistry {
  const entities = new Map<string, EntityDecl<never>>();
  const aggregates = new Map<string, AggregateDecl>();
  const lists = new Map<string, ListDecl<never, never>>();
  for (const d of declarations) {
    const name = d.kind === 'list' ? d.name : d.type;
    if (entities.has(name) || aggregates.has(name) || lists.has(name)) throw new TypeError(`cache declaration ${name} is declared twice`);
    if (d.kind === 'entity') entities.set(name, d);
    else if (d.kind === 'aggregate') aggregates.set(name, d);
    else lists.set(name, d);
  }
  for (const l of lists.values()) {
    if (!entities.has(l.entity.type)) throw new TypeError(`list ${l.name} is of ${l.entity.type}, which is not declared`);
  }
  for (const e of entities.values()) registered.add(e);
  const types = [...entities.keys(), ...aggregates.keys()];
  const taggers: Record<string, (value: never) => string[]> = {};
  for (const e of entities.values()) taggers[e.type] = (value: never) => e.readTags(value);
  for (const a of aggregates.values()) taggers[a.type] = () => [a.tag];
  return {
    types,
    taggers,
    lists: [...lists.values()],
    decodeChanges(stored) {
      return (parseJson<StoredChange[] | null>(stored) ?? []).map((c) => {
        const entity = entities.get(c.entity);
        if (!entity) throw new Error(`a change of ${JSON.stringify(c.entity)}, which is not a declared entity`);
        return { entity, before: c.before && (entity.decode(c.before) as never), after: c.after && (entity.decode(c.after) as never) };
      });
    },
    purgeTags(type, id) {
      const entity = entities.get(type);
      const aggregate = aggregates.get(type);
      if (!entity && !aggregate) return { error: `type must be "*" (everything) or one of ${types.join(', ')}.`, field: 'type' };
      if (id === null) return { tags: [type] };
      if (!entity) return { error: `${type} has no ids: purge it without one.`, field: 'id' };
      const tag = entity.tagOfIdText(id);
      return tag ? { tags: [tag] } : { error: `id is not a valid ${type} id (${entity.idFields.join(':')}).`, field: 'id' };
    },
  };
}
