// Operation limits: depth, cost, aliases, batching, body size, CSRF, and
// introspection / landing page off in production. Each refused request leaves the server answering.
import { createHash } from 'node:crypto';
import { startInstance, type Instance } from '../helpers/app.js';
import { useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql, type GqlResponse } from '../helpers/graphql.js';

const db = useSeededDatabase();
let dev: Instance;

beforeAll(async () => {
  // In-process cache: the response cache is on, so hit paths are covered too.
  dev = await startInstance({ databaseUrl: db().url });
});

const errorOf = (res: GqlResponse) => res.body?.errors?.[0];

/** A limit's refusal is a validation failure: as application/json (these requests' format) a GraphQL result with status 200. */
function expectLimit(res: GqlResponse, limit: string) {
  expect(res.status).toBe(200);
  const err = res.body.errors?.find((e) => e.extensions?.limit === limit);
  expect(err?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  expect(err?.message).toMatch(/at most/);
  expect(res.body.data ?? null).toBeNull();
}

async function stillAnswers(url = dev.url) {
  expectNoErrors(await gql(url, '{ hospital(id: "1") { id } }'));
}

/** `{ donor { donations { nodes { donor { ... } } } } }` nested `levels` times. */
function nested(levels: number): string {
  let inner = 'id';
  for (let i = 0; i < levels; i++) inner = `donations(first: 1) { nodes { donor { ${inner} } } }`;
  return `{ donor(id: "1") { ${inner} } }`;
}

describe('depth', () => {
  test('a legitimate nested query passes (SPEC §6.1)', async () => {
    const data = expectNoErrors(await gql(dev.url, '{ donors(first: 50) { nodes { donations(first: 5) { nodes { hospital { name } } } } } }'));
    expect(data.donors.nodes.length).toBe(50);
  });
  test('past the maximum depth: refused before execution', async () => {
    expectNoErrors(await gql(dev.url, nested(2))); // depth 8
    expectLimit(await gql(dev.url, nested(3)), 'depth'); // depth 11
    await stillAnswers();
  });
  test('through fragments too', async () => {
    const q = `query { donor(id: "1") { ...A } }
      fragment A on Donor { donations(first: 1) { nodes { donor { ...B } } } }
      fragment B on Donor { donations(first: 1) { nodes { donor { ...C } } } }
      fragment C on Donor { donations(first: 1) { nodes { donor { id } } } }`;
    expectLimit(await gql(dev.url, q), 'depth');
  });
  test('a fragment cycle is refused, not a hang', async () => {
    const res = await gql(dev.url, 'query { donor(id: "1") { ...A } } fragment A on Donor { donations { nodes { donor { ...A } } } }');
    expect(res.status).toBe(200);
    expect(errorOf(res)?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});

describe('cost', () => {
  const PAGES = 'query($n: Int, $m: Int) { donors(first: $n) { nodes { id donations(first: $m) { nodes { id } } } } }';

  test('lists multiply: 100 donors × 100 donations each is refused, literal or by variables', async () => {
    expectLimit(await gql(dev.url, '{ donors(first: 100) { nodes { id donations(first: 100) { nodes { id } } } } }'), 'cost');
    const res = await gql(dev.url, PAGES, { n: 100, m: 100 });
    expectLimit(res, 'cost');
    expect(errorOf(res)?.extensions?.actual).toBeGreaterThan(10_000);
    await stillAnswers();
  });

  test('the same document with small pages runs, is cached, and the big variables stay refused after', async () => {
    const small = await gql(dev.url, PAGES, { n: 5, m: 5 });
    expect(expectNoErrors(small).donors.nodes).toHaveLength(5);
    expect((await gql(dev.url, PAGES, { n: 5, m: 5 })).headers.get('x-cache')).toBe('HIT');
    expectLimit(await gql(dev.url, PAGES, { n: 100, m: 100 }), 'cost');
  });

  test('many root fields add up', async () => {
    const fields = Array.from({ length: 25 }, (_, i) => `d${i}: donors(first: 100) { nodes { id name city region } }`).join(' ');
    expectLimit(await gql(dev.url, `{ ${fields} }`), 'cost');
  });
});

test('aliases: at most 30', async () => {
  const aliased = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `h${i}: hospital(id: "1") { id }`).join(' ')} }`;
  expectNoErrors(await gql(dev.url, aliased(30)));
  expectLimit(await gql(dev.url, aliased(31)), 'aliases');
  await stillAnswers();
});

test('batched operations (a JSON array) are refused clearly', async () => {
  const res = await fetch(`${dev.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([{ query: '{ hospital(id: "1") { id } }' }, { query: '{ hospital(id: "2") { id } }' }]),
  });
  expect(res.status).toBe(400);
  const body = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
  expect(body.errors[0]!.extensions.code).toBe('BAD_REQUEST');
  expect(body.errors[0]!.message).toMatch(/batch/i);
  await stillAnswers();
});

describe('body size', () => {
  const big = JSON.stringify({ query: `{ hospital(id: "1") { id } } # ${'x'.repeat(1024 * 1024)}` });

  test('a declared Content-Length past MAX_BODY_BYTES: 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await fetch(`${dev.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('PAYLOAD_TOO_LARGE');
    await stillAnswers();
  });

  test('a chunked body with no declared length is refused at the limit too', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 40) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await fetch(`${dev.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    await stillAnswers();
  });
});

describe('CSRF prevention', () => {
  const Q = '{ hospitals { id } }';

  test('a simple GET (no preflight header) is refused, even when the response is cached', async () => {
    const withHeader = await gql(dev.url, Q, undefined, { method: 'GET' });
    expectNoErrors(withHeader);
    expect((await gql(dev.url, Q, undefined, { method: 'GET' })).headers.get('x-cache')).toBe('HIT');
    const simple = await fetch(`${dev.url}/graphql?${new URLSearchParams({ query: Q })}`);
    expect(simple.status).toBe(400);
    const body = (await simple.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe('BAD_REQUEST');
    expect(body.errors[0]!.message).toMatch(/Cross-Site Request Forgery/);
  });

  test('a simple POST (text/plain, form) is refused', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      const res = await fetch(`${dev.url}/graphql`, { method: 'POST', headers: { 'content-type': type }, body: JSON.stringify({ query: Q }) });
      expect(res.status).toBe(400);
    }
  });

  test('mutations over GET are refused', async () => {
    const res = await gql(dev.url, 'mutation { logout }', undefined, { method: 'GET' });
    expect(res.status).toBe(405);
  });
});

describe('production', () => {
  let prod: Instance;
  beforeAll(async () => {
    prod = await startInstance({ databaseUrl: db().url, env: { NODE_ENV: 'production' } });
  });
  const INTROSPECTION = '{ __schema { queryType { name } types { name } } }';
  const landing = (url: string) => fetch(`${url}/graphql`, { headers: { accept: 'text/html' } });

  test('introspection is refused in production, on outside it', async () => {
    expect(expectNoErrors(await gql(dev.url, INTROSPECTION)).__schema.queryType.name).toBe('Query');
    // A validation failure: status 200 as application/json, 400 as application/graphql-response+json.
    const res = await gql(prod.url, INTROSPECTION);
    expect(res.status).toBe(200);
    expect((await gql(prod.url, INTROSPECTION, undefined, { headers: { accept: 'application/graphql-response+json' } })).status).toBe(400);
    expect(errorOf(res)?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(errorOf(res)?.message).toMatch(/introspection/i);
    // Also as an APQ and over GET (no bypass through another door).
    const hash = createHash('sha256').update(INTROSPECTION).digest('hex');
    const apq = await fetch(`${prod.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: INTROSPECTION, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } }),
    });
    expect(apq.status).toBe(200);
    expect(((await apq.json()) as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const overGet = await gql(prod.url, INTROSPECTION, undefined, { method: 'GET' });
    expect(overGet.status).toBe(200);
    expect(errorOf(overGet)?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    await stillAnswers(prod.url);
  });

  test('the Sandbox landing page is served outside production only', async () => {
    const page = await landing(dev.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);
    const none = await landing(prod.url);
    expect(none.status).not.toBe(200);
    expect(await none.text()).not.toMatch(/<html/i);
  });

  test('unexpected errors are masked in production', async () => {
    // A malformed cursor is BAD_USER_INPUT (kept); the point is that no stack trace is ever sent.
    const res = await gql(prod.url, '{ donors(first: 1, after: "!!!") { nodes { id } } }');
    expect(JSON.stringify(res.body)).not.toMatch(/stacktrace|at .*\.ts:\d+/);
  });
});
