import { badInput } from './errors.js';

const MAX_INT4 = 2_147_483_647;

/**
 * Parses a GraphQL ID into a database id. Malformed ids are BAD_USER_INPUT;
 * well-formed ids beyond the id range cannot exist, so they map to 0 (never a row).
 */
export function parseId(type: string, id: string, field = 'id'): number {
  if (typeof id !== 'string' || !/^\d{1,20}$/.test(id)) {
    throw badInput(`${field} must be a ${type} id (a positive integer), got ${JSON.stringify(id)}.`, field);
  }
  const n = Number(id);
  return n >= 1 && n <= MAX_INT4 ? n : 0;
}

export function parseOptionalId(type: string, id: string | null | undefined, field = 'id'): number | null {
  return id == null ? null : parseId(type, id, field);
}
