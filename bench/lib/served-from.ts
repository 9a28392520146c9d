// Where a read's answer came from, as the server says per response, for the mixed scenario's
// hit ratios:
//   x-cache: HIT                       served by the response cache;
//   Server-Timing: sql;desc="0"        the request made no database fetch (answered from the
//                                      entity cache, or from Redis/L1 without a stored response);
//   Cache-Status: ...; collapsed       the request waited for another request's computation
//                                      instead of computing (RFC 9211's `collapsed` parameter).
// "Served without PostgreSQL" is a response-cache HIT, or no database fetch by a request that
// did not wait for another's fill: a collapsed reader rode on someone else's SQL, so it is not
// a hit. A server without the `sql` metric leaves only x-cache HIT to count.

/** One member of a comma-separated header list: its name and its `;` parameters (bare keys are `true`). */
export interface ListMember {
  name: string;
  params: Map<string, string | true>;
}

/**
 * Parses `name;key=value;key="quoted, value", name2;flag` (the shape of both Server-Timing and
 * Cache-Status): commas and semicolons inside quoted strings do not split, and `\"` escapes.
 * Lenient: a malformed member is kept as far as it parsed.
 */
export function parseHeaderList(header: string | null | undefined): ListMember[] {
  const members: ListMember[] = [];
  if (!header) return members;
  let i = 0;
  const n = header.length;
  const skipSpace = () => {
    while (i < n && (header[i] === ' ' || header[i] === '\t')) i++;
  };
  const token = () => {
    const start = i;
    while (i < n && !',;="'.includes(header[i]!) && header[i] !== ' ' && header[i] !== '\t') i++;
    return header.slice(start, i);
  };
  const value = (): string => {
    if (header[i] !== '"') return token();
    i++;
    let out = '';
    while (i < n && header[i] !== '"') {
      if (header[i] === '\\' && i + 1 < n) i++;
      out += header[i++];
    }
    i++; // the closing quote (or past the end)
    return out;
  };
  while (i < n) {
    skipSpace();
    const name = header[i] === '"' ? value() : token();
    const params = new Map<string, string | true>();
    for (;;) {
      skipSpace();
      if (header[i] !== ';') break;
      i++;
      skipSpace();
      const key = token().toLowerCase();
      skipSpace();
      if (header[i] === '=') {
        i++;
        skipSpace();
        params.set(key, value());
      } else if (key) params.set(key, true);
    }
    if (name) members.push({ name, params });
    // Whatever is left of a malformed member, up to the next comma.
    while (i < n && header[i] !== ',') {
      if (header[i] === '"') value();
      else i++;
    }
    i++;
  }
  return members;
}

/**
 * - `hit`: x-cache HIT;
 * - `no-sql`: not a HIT, but the `sql` metric says no database fetch, and not collapsed;
 * - `collapsed`: no database fetch of its own, because it waited for another request's fill;
 * - `sql`: the `sql` metric says it fetched from the database;
 * - `unknown`: not a HIT and no `sql` metric (a server without it): counted as not served without SQL.
 */
export type ReadOrigin = 'hit' | 'no-sql' | 'collapsed' | 'sql' | 'unknown';

/** The `desc` of the `sql` metric in Server-Timing; null when there is no such metric (or it has no desc). */
export function sqlFetches(serverTiming: string | null | undefined): string | null {
  const metric = parseHeaderList(serverTiming).find((m) => m.name.toLowerCase() === 'sql');
  const desc = metric?.params.get('desc');
  return typeof desc === 'string' ? desc.trim() : null;
}

/** Whether any member of Cache-Status carries `collapsed` (a bare key, or any value but the boolean false `?0`). */
export function isCollapsed(cacheStatus: string | null | undefined): boolean {
  return parseHeaderList(cacheStatus).some((m) => {
    const v = m.params.get('collapsed');
    return v !== undefined && v !== '?0';
  });
}

export function readOrigin(res: { xCache: string; cacheStatus: string | null; serverTiming: string | null }): ReadOrigin {
  if (res.xCache === 'HIT') return 'hit';
  // A reader that waited for another's computation, whatever that computation cost.
  if (isCollapsed(res.cacheStatus)) return 'collapsed';
  const fetches = sqlFetches(res.serverTiming);
  if (fetches === null) return 'unknown';
  return fetches !== '0' ? 'sql' : 'no-sql';
}

/** Reads served without PostgreSQL: response-cache hits plus uncollapsed reads that fetched nothing. */
export const servedWithoutSql = (origins: Partial<Record<ReadOrigin, number>>): number => (origins.hit ?? 0) + (origins['no-sql'] ?? 0);
