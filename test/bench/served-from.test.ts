// The mixed benchmark's hit ratio reads where each answer came from out of its headers: these
// are the cases it must tell apart (bench/lib/served-from.ts).
import { isCollapsed, parseHeaderList, readOrigin, servedWithoutSql, sqlFetches } from '../../bench/lib/served-from.js';

const res = (xCache: string, cacheStatus: string | null, serverTiming: string | null) => ({ xCache, cacheStatus, serverTiming });

test('Server-Timing: the sql metric, quoted or not, among others and with commas inside quotes', () => {
  expect(sqlFetches('sql;desc="0"')).toBe('0');
  expect(sqlFetches('total;dur=3.5, sql;dur=1.2;desc="3"')).toBe('3');
  expect(sqlFetches('cache;desc="a, b; c", SQL ; desc=0')).toBe('0');
  expect(sqlFetches('sqlx;desc="0"')).toBeNull();
  expect(sqlFetches('sql;dur=2')).toBeNull();
  expect(sqlFetches(null)).toBeNull();
  expect(parseHeaderList('a;x="q\\"uote";flag, b').map((m) => [m.name, Object.fromEntries(m.params)])).toEqual([
    ['a', { x: 'q"uote', flag: true }],
    ['b', {}],
  ]);
});

test('Cache-Status: collapsed as a bare key or a true boolean, in any member', () => {
  expect(isCollapsed('Lifeline; fwd=uri-miss; collapsed; stored; ttl=10')).toBe(true);
  expect(isCollapsed('CDN; hit, Lifeline; fwd=uri-miss; collapsed=?1')).toBe(true);
  expect(isCollapsed('Lifeline; fwd=uri-miss; collapsed=?0; stored')).toBe(false);
  expect(isCollapsed('Lifeline; fwd=uri-miss; stored; ttl=10')).toBe(false);
  expect(isCollapsed('Lifeline; detail="collapsed"')).toBe(false);
});

test('a read is served without PostgreSQL when it is a HIT, or fetched nothing without waiting for another fill', () => {
  expect(readOrigin(res('HIT', 'Lifeline; hit; ttl=5', null))).toBe('hit');
  expect(readOrigin(res('MISS', 'Lifeline; fwd=uri-miss; stored', 'sql;desc="0"'))).toBe('no-sql');
  expect(readOrigin(res('MISS', 'Lifeline; fwd=uri-miss; collapsed; stored', 'sql;desc="0"'))).toBe('collapsed');
  expect(readOrigin(res('BYPASS', 'Lifeline; fwd=bypass; detail=off', 'sql;desc="2"'))).toBe('sql');
  // A server without the metric: only x-cache HIT can count.
  expect(readOrigin(res('MISS', 'Lifeline; fwd=uri-miss; stored', null))).toBe('unknown');
  expect(servedWithoutSql({ hit: 80, 'no-sql': 5, collapsed: 3, sql: 10, unknown: 2 })).toBe(85);
});
