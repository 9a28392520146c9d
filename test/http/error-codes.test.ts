// Every error a frontend can meet has a code it can switch on, on HTTP and over graphql-ws alike
// (one preparation: graphql/prepare.ts): parse, validation, the limits, variables; a 5,000-level
// selection set is the depth limit's error, not the parser's stack; an APQ hash that does not
// match its query is a client error with its own code, also when the query's answer is cached;
// stack traces only when INCLUDE_STACKTRACE=1 asks, not even in development.
import { createHash } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { createLogger } from '../../src/observability/logger.js';
import { startInstance, type Instance } from '../helpers/app.js';
import { useSeededDatabase } from '../helpers/fixtures.js';
import { gql } from '../helpers/graphql.js';
import { testRedisUrl } from '../helpers/redis.js';

const db = useSeededDatabase();
let dev: Instance; // NODE_ENV=development, Redis: the response cache on
let traced: Instance; // INCLUDE_STACKTRACE=1
let ws: Client;
/** What `dev` logged at warn and above. */
const logged: string[] = [];

beforeAll(async () => {
  [dev, traced] = await Promise.all([
    startInstance({
      databaseUrl: db().url,
      redisUrl: testRedisUrl(),
      env: { NODE_ENV: 'development' },
      appOptions: { logger: createLogger('warn', {}, { write: (line: string) => void logged.push(line) }) },
    }),
    startInstance({ databaseUrl: db().url, env: { NODE_ENV: 'development', INCLUDE_STACKTRACE: '1' } }),
  ]);
  ws = createClient({ url: dev.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
}, 60_000);
afterAll(() => ws?.dispose());

/** The errors graphql-ws delivers for one operation (as an `error` message or in a result). */
function overWs(query: string, variables?: Record<string, unknown>): Promise<{ message: string; extensions?: Record<string, unknown> }[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer over the WebSocket within 10 s')), 10_000);
    const done = (errors: unknown) => {
      clearTimeout(timer);
      resolve(errors as { message: string; extensions?: Record<string, unknown> }[]);
    };
    ws.subscribe({ query, variables }, { next: (r) => done(r.errors ?? []), error: (e) => done(Array.isArray(e) ? e : [{ message: String(e) }]), complete: () => done([]) });
  });
}

const deep = (levels: number) => `{ ${'hospitals { '.repeat(levels)}id${' }'.repeat(levels)} }`;

const CASES: [string, string, Record<string, unknown> | undefined, string][] = [
  ['a parse error', '{ hospitals { id ', undefined, 'GRAPHQL_PARSE_FAILED'],
  ['an unknown field', '{ hospitals { nope } }', undefined, 'GRAPHQL_VALIDATION_FAILED'],
  ['the depth limit', deep(12), undefined, 'GRAPHQL_VALIDATION_FAILED'],
  ['the alias limit', `{ ${Array.from({ length: 31 }, (_, i) => `a${i}: hospitals { id }`).join(' ')} }`, undefined, 'GRAPHQL_VALIDATION_FAILED'],
  ['the cost limit', '{ donors(first: 100) { nodes { donations(first: 100) { nodes { donor { donations(first: 100) { nodes { id } } } } } } } }', undefined, 'GRAPHQL_VALIDATION_FAILED'],
  ['a variable of the wrong type', 'query($g: BloodGroup!) { availability(bloodGroup: $g) { id } }', { g: 'Z_POS' }, 'BAD_USER_INPUT'],
  ['a 5,000-level selection set', deep(5000), undefined, 'GRAPHQL_VALIDATION_FAILED'],
  ['two operations, none named', 'query A { hospitals { id } } query B { hospitals { name } }', undefined, 'OPERATION_RESOLUTION_FAILURE'],
];

test.each(CASES)('%s has the same code over HTTP and graphql-ws', async (_what, query, variables, code) => {
  // As application/json a request error is a 200 (GraphQL over HTTP), except when no operation
  // could be chosen; as application/graphql-response+json every one of them is a 400.
  const http = await gql(dev.url, query, variables);
  expect(http.status).toBe(code === 'OPERATION_RESOLUTION_FAILURE' ? 400 : 200);
  const strict = await gql(dev.url, query, variables, { headers: { accept: 'application/graphql-response+json' } });
  expect(strict.status).toBe(400);
  for (const answer of [http, strict]) {
    expect(answer.body.errors?.length).toBeGreaterThan(0);
    for (const e of answer.body.errors!) expect(e.extensions?.code).toBe(code);
  }
  const viaWs = await overWs(query, variables);
  expect(viaWs.length).toBeGreaterThan(0);
  for (const e of viaWs) expect(e.extensions?.code).toBe(code);
  for (const e of [...http.body.errors!, ...viaWs]) expect(e.message).not.toMatch(/call stack/);
});

test('a 5,000-level selection set is the depth limit, on both transports', async () => {
  const http = await gql(dev.url, deep(5000));
  expect(http.body.errors?.[0]?.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'depth', max: 10 });
  expect((await overWs(deep(5000)))[0]?.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'depth' });
  expect((await gql(dev.url, '{ hospitals { id } }')).status).toBe(200); // and the server still answers
});

test('anonymous me is null over the WebSocket too', async () => {
  const result = await new Promise<unknown>((resolve, reject) => {
    ws.subscribe({ query: '{ me { id } }' }, { next: resolve, error: reject, complete: () => {} });
  });
  expect(result).toEqual({ data: { me: null } });
});

describe('stack traces', () => {
  const BAD = '{ donor(id: "not-a-number") { id } }';
  test('never by default, not even in development', async () => {
    const res = await gql(dev.url, BAD);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.text).not.toMatch(/stacktrace|\.ts:\d+|node_modules/);
    const unauthenticated = await gql(dev.url, 'mutation { logout }');
    expect(unauthenticated.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(unauthenticated.text).not.toMatch(/stacktrace/);
  });
  test('with INCLUDE_STACKTRACE=1', async () => {
    const res = await gql(traced.url, BAD);
    expect(res.body.errors?.[0]?.extensions?.stacktrace).toEqual(expect.any(Array));
  });
});

describe('APQ hash mismatch', () => {
  const query = '{ hospitals { id name region } }';
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');
  const post = (url: string, hash: string) =>
    fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } }),
    }).then(async (r) => ({ status: r.status, xCache: r.headers.get('x-cache'), body: (await r.json()) as { errors?: { extensions?: { code?: string } }[] } }));

  test('is a 400 with its own code, and stays one when the query answer is cached', async () => {
    const wrong = sha('something else');
    const first = await post(dev.url, wrong);
    expect(first.status).toBe(400);
    expect(first.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_HASH_MISMATCH');
    // Register it properly, then see it served from the cache.
    expect((await post(dev.url, sha(query))).status).toBe(200);
    expect((await post(dev.url, sha(query))).xCache).toBe('HIT');
    const again = await post(dev.url, wrong);
    expect(again.status).toBe(400);
    expect(again.xCache).not.toBe('HIT');
    expect(again.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_HASH_MISMATCH');
    // A client's mistake: nothing logged as an unexpected error.
    expect(logged.filter((l) => /unexpected|"level":50/.test(l))).toEqual([]);
  });
});
