// Relay connections with opaque cursors. A cursor is base64url of "<kind>:<key>";
// the kind stops a cursor of one list being replayed against another.
import { badInput } from './errors.js';

export interface ConnectionResult<T> {
  rows: T[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  cursorOf(row: T): string;
  totalCount(): Promise<number>;
}

export const MAX_PAGE_SIZE = 100;

export function encodeCursor(kind: string, key: string | number): string {
  return Buffer.from(`${kind}:${key}`, 'utf8').toString('base64url');
}

/** Decodes a cursor of the given kind into its integer key; BAD_USER_INPUT on anything else. */
export function decodeCursor(kind: string, cursor: string | null | undefined): number | null {
  if (cursor == null) return null;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const [k, key] = text.split(':');
  const n = Number(key);
  if (k !== kind || !Number.isSafeInteger(n) || n < 0) throw badInput(`"after" is not a valid ${kind} cursor.`, 'after');
  return n;
}

export function checkPageSize(first: number): number {
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE) {
    throw badInput(`"first" must be between 0 and ${MAX_PAGE_SIZE}, got ${first}.`, 'first');
  }
  return first;
}

/** Builds a connection from `limit + 1` fetched rows: the extra row only proves there is a next page. */
export function toConnection<T>(
  fetched: T[],
  limit: number,
  cursorOf: (row: T) => string,
  totalCount: () => Promise<number>,
  hasPreviousPage: boolean,
): ConnectionResult<T> {
  return {
    rows: fetched.slice(0, limit),
    hasNextPage: fetched.length > limit,
    hasPreviousPage,
    cursorOf,
    totalCount,
  };
}

/** Field resolvers shared by every *Connection type. */
export const connectionResolvers = {
  edges: <T>(c: ConnectionResult<T>) => c.rows.map((node) => ({ cursor: c.cursorOf(node), node })),
  nodes: <T>(c: ConnectionResult<T>) => c.rows,
  pageInfo: <T>(c: ConnectionResult<T>) => ({
    hasNextPage: c.hasNextPage,
    hasPreviousPage: c.hasPreviousPage,
    startCursor: c.rows.length ? c.cursorOf(c.rows[0]!) : null,
    endCursor: c.rows.length ? c.cursorOf(c.rows[c.rows.length - 1]!) : null,
  }),
  totalCount: <T>(c: ConnectionResult<T>) => c.totalCount(),
};
