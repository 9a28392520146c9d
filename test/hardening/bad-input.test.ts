// Bad input at the transport level: one table of malformed requests, each
// answered with a clear status and extensions.code, none crashing the server, none writing a
// row. test/modules/mutations.test.ts covers each mutation's own rules with literals; this file
// covers what arrives before or around them: bodies, content types, variables and their
// coercion, sizes and shapes.
import { startInstance, type Instance } from '../helpers/app.js';
import { databaseDigest } from '../helpers/db-digest.js';
import { demoTokens, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';

const db = useSeededDatabase();
let instance: Instance;
let staff: string;

beforeAll(async () => {
  instance = await startInstance({ databaseUrl: db().url });
  staff = (await demoTokens(instance.url)).staff;
});

interface Case {
  name: string;
  /** A raw request: POST body (string) with a content type, or a GET query string. */
  method?: 'GET' | 'POST';
  contentType?: string;
  body?: string;
  search?: string;
  /** Send the staff token (mutations that would otherwise stop at UNAUTHENTICATED). */
  asStaff?: boolean;
  status: number;
  code: string;
  /** The error message must say this much (clarity, not just a code). */
  message?: RegExp;
}

const json = (v: unknown) => JSON.stringify(v);
const op = (query: string, variables?: unknown, extra: Record<string, unknown> = {}) => json({ query, variables, ...extra });
const nestedBraces = (n: number) => `{ ${'donor(id: "1") { '.repeat(n)}id${' }'.repeat(n)} }`;
const REGISTER = 'mutation($i: RegisterInput!) { register(input: $i) { accessToken } }';
const registerInput = (over: Record<string, unknown>) => ({
  email: 'new.person@example.org',
  password: 'a-good-password',
  name: 'New Person',
  bloodGroup: 'O_POS',
  region: 'North',
  city: 'Northville',
  ...over,
});

const CASES: Case[] = [
  // ---- the body itself
  { name: 'malformed JSON', body: '{"query": "{ hospitals { id } }"', status: 400, code: 'BAD_REQUEST', message: /not valid JSON/ },
  { name: 'JSON that is a string, not an object', body: '"{ hospitals { id } }"', status: 400, code: 'BAD_REQUEST' },
  { name: 'JSON null', body: 'null', status: 400, code: 'BAD_REQUEST' },
  { name: 'empty JSON body', body: '', status: 400, code: 'BAD_REQUEST' },
  { name: 'empty JSON object', body: '{}', status: 400, code: 'BAD_REQUEST' },
  { name: 'query is not a string', body: json({ query: 42 }), status: 400, code: 'BAD_REQUEST' },
  { name: 'variables is not an object', body: json({ query: '{ hospitals { id } }', variables: 'x' }), status: 400, code: 'BAD_REQUEST' },
  { name: 'deeply nested JSON (200,000 levels)', body: `{"query":"{ hospitals { id } }","variables":{"a":${'['.repeat(200_000)}${']'.repeat(200_000)}}}`, status: 400, code: 'BAD_REQUEST', message: /deeper/ },
  // ---- content types
  { name: 'wrong content type (application/xml)', contentType: 'application/xml', body: '<query/>', status: 400, code: 'BAD_REQUEST' },
  { name: 'no content type', contentType: '', body: op('{ hospitals { id } }'), status: 400, code: 'BAD_REQUEST' },
  { name: 'GET with variables that are not JSON', method: 'GET', search: `query=${encodeURIComponent('query($id: ID!) { hospital(id: $id) { id } }')}&variables=%7Bnope`, status: 400, code: 'BAD_REQUEST' },
  { name: 'GET with variables nested 1,000 deep', method: 'GET', search: `query=${encodeURIComponent('{ hospitals { id } }')}&variables=${encodeURIComponent(`{"a":${'['.repeat(1000)}${']'.repeat(1000)}}`)}`, status: 400, code: 'BAD_REQUEST', message: /deeper/ },
  { name: 'GET with no query', method: 'GET', search: '', status: 400, code: 'BAD_REQUEST' },
  // ---- the document (no Accept header: answered as application/json, where a request that does not
  // parse, validate or coerce is a GraphQL result with status 200; graphql-over-http.test.ts has the rest)
  { name: 'syntax error', body: op('{ hospitals { id }'), status: 200, code: 'GRAPHQL_PARSE_FAILED' },
  { name: 'unknown field', body: op('{ hospitals { id nope } }'), status: 200, code: 'GRAPHQL_VALIDATION_FAILED', message: /nope/ },
  { name: 'unknown argument', body: op('{ hospitals(color: "red") { id } }'), status: 200, code: 'GRAPHQL_VALIDATION_FAILED', message: /color/ },
  { name: 'unknown input field (mutation)', asStaff: true, body: op('mutation { updateDonor(id: "1", input: { city: "X", shoeSize: 44 }) { id } }'), status: 200, code: 'GRAPHQL_VALIDATION_FAILED', message: /shoeSize/ },
  { name: 'unknown operation name', body: op('query A { hospitals { id } }', undefined, { operationName: 'B' }), status: 400, code: 'OPERATION_RESOLUTION_FAILURE' },
  { name: 'two operations, none named', body: op('query A { hospitals { id } } query B { hospitals { id } }'), status: 400, code: 'OPERATION_RESOLUTION_FAILURE' },
  { name: 'Int literal out of range', body: op('{ donors(first: 99999999999) { nodes { id } } }'), status: 200, code: 'GRAPHQL_VALIDATION_FAILED' },
  { name: 'deeply nested selection (20 levels)', body: op(nestedBraces(20)), status: 200, code: 'GRAPHQL_VALIDATION_FAILED', message: /deep/ },
  // The depth limit's error, decided before parsing (the recursive parser would exhaust its stack).
  { name: 'deeply nested braces (3,000 levels)', body: op(`{ ${'a { '.repeat(3000)}b${' }'.repeat(3000)} }`), status: 200, code: 'GRAPHQL_VALIDATION_FAILED', message: /deep/ },
  { name: 'huge query (20,000 fields)', body: op(`{ hospitals { ${'id '.repeat(20_000)}} }`), status: 200, code: 'GRAPHQL_PARSE_FAILED', message: /token/i },
  // ---- variables and their coercion
  { name: 'missing required variable', body: op('query($id: ID!) { hospital(id: $id) { id } }', {}), status: 200, code: 'BAD_USER_INPUT', message: /\$id/ },
  { name: 'wrong variable type (object for ID)', body: op('query($id: ID!) { hospital(id: $id) { id } }', { id: { a: 1 } }), status: 200, code: 'BAD_USER_INPUT' },
  { name: 'wrong variable type (string for Int)', asStaff: true, body: op('mutation($d: Int!) { adjustInventory(hospitalId: "1", bloodGroup: O_NEG, delta: $d) { units } }', { d: 'five' }), status: 200, code: 'BAD_USER_INPUT' },
  { name: 'float for Int', asStaff: true, body: op('mutation($u: Int!) { fulfillBloodRequest(id: "1", units: $u) { id } }', { u: 1.5 }), status: 200, code: 'BAD_USER_INPUT' },
  { name: 'Int variable out of 32-bit range', asStaff: true, body: op('mutation($d: Int!) { adjustInventory(hospitalId: "1", bloodGroup: O_NEG, delta: $d) { units } }', { d: 2 ** 31 }), status: 200, code: 'BAD_USER_INPUT' },
  { name: 'unknown enum value in a variable', body: op('query($g: BloodGroup!) { availability(bloodGroup: $g) { units } }', { g: 'Z_POS' }), status: 200, code: 'BAD_USER_INPUT' },
  { name: 'unknown field in an input variable', asStaff: true, body: op('mutation($i: UpdateDonorInput!) { updateDonor(id: "1", input: $i) { id } }', { i: { city: 'X', points: 99999 } }), status: 200, code: 'BAD_USER_INPUT', message: /points/ },
  // ---- values the schema accepts but the rules refuse
  { name: 'negative units (variable)', asStaff: true, body: op('mutation($u: Int!) { fulfillBloodRequest(id: "1", units: $u) { id } }', { u: -3 }), status: 200, code: 'BAD_USER_INPUT' },
  { name: 'zero units (variable)', asStaff: true, body: op('mutation($u: Int!) { recordDonation(input: { donorId: "1", hospitalId: "1", units: $u }) { id } }', { u: 0 }), status: 200, code: 'BAD_USER_INPUT' },
  { name: 'huge delta (variable)', asStaff: true, body: op('mutation($d: Int!) { adjustInventory(hospitalId: "1", bloodGroup: O_NEG, delta: $d) { units } }', { d: 2_000_000_000 }), status: 200, code: 'BAD_USER_INPUT' },
  { name: 'negative page size', body: op('{ donors(first: -1) { nodes { id } } }'), status: 200, code: 'BAD_USER_INPUT' },
  { name: 'page size over 100', body: op('query($n: Int) { bloodRequests(first: $n) { nodes { id } } }', { n: 101 }), status: 200, code: 'BAD_USER_INPUT' },
  { name: 'malformed cursor', body: op('{ donors(first: 2, after: "not-a-cursor") { nodes { id } } }'), status: 200, code: 'BAD_USER_INPUT' },
  { name: 'malformed id in a query', body: op('{ hospital(id: "abc") { id } }'), status: 200, code: 'BAD_USER_INPUT' },
  { name: 'unknown id in a mutation', asStaff: true, body: op('mutation($id: ID!) { cancelBloodRequest(id: $id) { id } }', { id: '987654' }), status: 200, code: 'NOT_FOUND' },
  { name: 'overlong string (100 kB name)', body: op(REGISTER, { i: registerInput({ name: 'n'.repeat(100_000) }) }), status: 200, code: 'BAD_USER_INPUT', message: /name/ },
  { name: 'overlong password', body: op(REGISTER, { i: registerInput({ password: 'p'.repeat(10_000) }) }), status: 200, code: 'BAD_USER_INPUT', message: /password/ },
  { name: 'control characters in a name', body: op(REGISTER, { i: registerInput({ name: 'Bad\u0000Name' }) }), status: 200, code: 'BAD_USER_INPUT' },
  // PostgreSQL refuses NUL in text: a filter or sign-in argument carrying one is the client's mistake,
  // answered with a code and without the failed statement's text.
  { name: 'NUL character in a list filter', body: op('query($r: String) { bloodRequests(region: $r) { totalCount } }', { r: 'Lakes\u0000OPEN' }), status: 200, code: 'BAD_USER_INPUT', message: /NUL/ },
  { name: 'NUL character in a sign-in email', body: op('mutation { login(email: "nul\\u0000@x.example", password: "whatever1") { accessToken } }'), status: 200, code: 'BAD_USER_INPUT', message: /NUL/ },
  { name: 'malformed persisted-query extension', body: json({ extensions: { persistedQuery: 'x' } }), status: 400, code: 'PERSISTED_QUERY_NOT_SUPPORTED', message: /version/ },
  { name: 'malformed email', body: op(REGISTER, { i: registerInput({ email: 'not-an-email' }) }), status: 200, code: 'BAD_USER_INPUT', message: /email/ },
];

test.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
  const before = await databaseDigest(db().url);
  const headers: Record<string, string> = {};
  if (c.method !== 'GET' && c.contentType !== '') headers['content-type'] = c.contentType ?? 'application/json';
  if (c.method === 'GET') headers['apollo-require-preflight'] = 'true';
  if (c.asStaff) headers.authorization = `Bearer ${staff}`;
  const res = await fetch(`${instance.url}/graphql${c.method === 'GET' ? `?${c.search}` : ''}`, {
    method: c.method ?? 'POST',
    headers,
    body: c.method === 'GET' ? undefined : (c.body ?? ''),
  });
  const text = await res.text();
  let body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: { code?: string } }[] };
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`not a JSON answer (HTTP ${res.status}): ${text.slice(0, 300)}`);
  }
  const error = body.errors?.[0];
  expect({ status: res.status, code: error?.extensions?.code }).toEqual({ status: c.status, code: c.code });
  expect(error?.message).toEqual(expect.any(String));
  if (c.message) expect(error!.message).toMatch(c.message);
  // Never a partial result: whatever field the operation asked for is null or absent.
  for (const value of Object.values(body.data ?? {})) expect(value).toBeNull();
  // No stack traces or SQL outside development.
  expect(text).not.toMatch(/stacktrace|SELECT |INSERT |UPDATE /);
  // The server still answers, and not one row changed.
  expectNoErrors(await gql(instance.url, '{ hospital(id: "1") { id } }'));
  expect(await databaseDigest(db().url)).toEqual(before);
});
