// Structured request logs as the app writes them (its own pino configuration, captured in memory):
// one line per request with request id, operation name, cache status, duration and error codes,
// and never a token, password, email or phone, whatever the request carried.
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { DEMO_ACCOUNTS } from '../../src/db/seed.js';
import { createLogger } from '../../src/observability/logger.js';
import { requestedOperationName } from '../../src/observability/request-log.js';
import { startInstance, type Instance } from '../helpers/app.js';
import { useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { testRedisUrl } from '../helpers/redis.js';
import { eventually } from '../subscriptions/helpers.js';

const db = useSeededDatabase({ donors: 20, hospitals: 4, donations: 40, campaigns: 2, requests: 5, seed: 5 });

interface Line {
  level: number;
  msg: string;
  requestId?: string;
  route?: string;
  status?: number;
  operationName?: string;
  operationType?: string;
  cache?: string;
  durationMs?: number;
  errorCodes?: string[];
  [key: string]: unknown;
}

/** An instance whose logger is the app's own (createLogger: same redaction) writing to memory. */
async function capturedInstance(level = 'info'): Promise<{ instance: Instance; raw: string[]; requests: () => Line[] }> {
  const raw: string[] = [];
  const logger = createLogger(level, {}, { write: (chunk: string) => void raw.push(chunk) });
  const instance = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), appOptions: { logger } });
  const requests = () => raw.map((l) => JSON.parse(l) as Line).filter((l) => l.msg === 'request');
  return { instance, raw, requests };
}

test('one line per request: request id, operation name, cache status, duration, error codes; no secrets or PII', async () => {
  const { instance, raw, requests } = await capturedInstance();
  const url = instance.url;
  const secrets: string[] = [];

  // 1. register with a phone (variables carry the email, password and phone)
  const email = 'logged.donor+42@example.org';
  const password = 'correct horse battery staple';
  const phone = '+44 7700 900123';
  const registered = await gql(
    url,
    'mutation Register($input: RegisterInput!) { register(input: $input) { accessToken refreshToken donor { id phone } } }',
    { input: { email, password, name: 'Logged Donor', bloodGroup: 'O_NEG', region: 'North', city: 'Northgate', phone } },
    { headers: { 'x-request-id': 'req-register-1' } },
  );
  const reg = expectNoErrors(registered).register;
  expect(reg.donor.phone).toBe(phone);
  secrets.push(email, password, phone, reg.accessToken, reg.refreshToken);

  // 2. log in (and a failed login: an error code in the log line, still no password or email)
  const demo = DEMO_ACCOUNTS.staff;
  const loggedIn = expectNoErrors(
    await gql(url, 'mutation Login($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken } }', { e: demo.email, p: demo.password }),
  ).login;
  secrets.push(demo.email, demo.password, loggedIn.accessToken, loggedIn.refreshToken);
  const wrongPassword = 'wrong-password-123';
  const failed = await gql(url, 'mutation Login($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }', { e: demo.email, p: wrongPassword });
  expect(failed.body.errors?.[0]?.extensions?.code).toBeDefined();
  secrets.push(wrongPassword);

  // 3. queries with the bearer token: a private one (contact details) twice (MISS, then HIT) and a GET with variables
  const me = 'query MyProfile { me { id email phone } }';
  const first = await gql(url, me, undefined, { token: reg.accessToken });
  expect(expectNoErrors(first).me.email).toBe(email);
  expect(first.headers.get('x-cache')).toBe('MISS');
  const second = await gql(url, me, undefined, { token: reg.accessToken });
  expect(second.headers.get('x-cache')).toBe('HIT');
  const byGet = await gql(url, 'query DonorById($id: ID!) { donor(id: $id) { id name email } }', { id: reg.donor.id }, { method: 'GET', token: loggedIn.accessToken });
  expect(expectNoErrors(byGet).donor.email).toBe(email);
  // a bad token: the response is 401 UNAUTHENTICATED
  const bad = await gql(url, me, undefined, { token: `${reg.accessToken}x` });
  expect(bad.status).toBe(401);

  await eventually('7 request lines', () => requests().length >= 7);
  const lines = requests();
  expect(lines).toHaveLength(7); // one per request, nothing else at info for a request
  for (const line of lines) {
    expect(line.level).toBe(30); // info
    expect(typeof line.requestId).toBe('string');
    expect(line.route).toBe('/graphql');
    expect(typeof line.durationMs).toBe('number');
    expect(line.durationMs).toBeGreaterThanOrEqual(0);
    expect(typeof line.status).toBe('number');
  }
  const [register, login, loginFailed, meMiss, meHit, get, unauthenticated] = lines as [Line, Line, Line, Line, Line, Line, Line];
  expect(register).toMatchObject({ requestId: 'req-register-1', operationName: 'Register', operationType: 'mutation', cache: 'BYPASS', status: 200 });
  expect(register.errorCodes).toBeUndefined();
  expect(login).toMatchObject({ operationName: 'Login', cache: 'BYPASS', status: 200 });
  expect(loginFailed).toMatchObject({ operationName: 'Login', errorCodes: [failed.body.errors![0]!.extensions!.code] });
  expect(meMiss).toMatchObject({ requestId: first.headers.get('x-request-id'), operationName: 'MyProfile', operationType: 'query', cache: 'MISS' });
  expect(meHit).toMatchObject({ requestId: second.headers.get('x-request-id'), operationName: 'MyProfile', operationType: 'query', cache: 'HIT', status: 200 });
  expect(get).toMatchObject({ method: 'GET', operationName: 'DonorById' });
  expect(unauthenticated).toMatchObject({ operationName: 'MyProfile', status: 401, errorCodes: ['UNAUTHENTICATED'] });
  expect(new Set(lines.map((l) => l.requestId)).size).toBe(7);

  // Nothing the requests carried leaks into any line the app wrote (not only request lines).
  const everything = raw.join('');
  for (const secret of secrets) expect(everything).not.toContain(secret);
  // Nor any part of the token (a JWT's signature alone would do) or the email's local part.
  for (const token of [reg.accessToken, loggedIn.accessToken]) for (const part of token.split('.')) expect(everything).not.toContain(part);
  expect(everything).not.toContain('logged.donor');
  expect(everything).not.toContain('7700');
});

test('LOG_LEVEL sets the level: at warn, successful requests write nothing', async () => {
  expect(loadConfig({ LOG_LEVEL: 'warn' }).logLevel).toBe('warn');
  expect(() => loadConfig({ LOG_LEVEL: 'chatty' })).toThrow(/LOG_LEVEL/);
  const { instance, raw } = await capturedInstance(loadConfig({ LOG_LEVEL: 'warn' }).logLevel);
  expectNoErrors(await gql(instance.url, 'query Names { hospitals { name } }'));
  await fetch(`${instance.url}/health`);
  expect(raw.filter((l) => l.includes('"msg":"request"'))).toEqual([]);
  // And createApp builds its logger from the configured level when none is given.
  const app = await createApp(loadConfig({ NODE_ENV: 'test', DATABASE_URL: db().url, LOG_LEVEL: 'debug', PORT: '0' }));
  try {
    expect(app.logger.level).toBe('debug');
  } finally {
    await app.stop();
  }
});

test('operation names: operationName, else a leading named operation; never parsed', () => {
  expect(requestedOperationName('Foo', 'query Bar { x }')).toBe('Foo');
  expect(requestedOperationName(null, '  # comment\n query Bar($a: Int) { x }')).toBe('Bar');
  expect(requestedOperationName(undefined, 'mutation Save { x }')).toBe('Save');
  expect(requestedOperationName(null, '{ x }')).toBeNull();
  expect(requestedOperationName(null, 'query { x }')).toBeNull();
  expect(requestedOperationName(null, 'fragment F on T { x } query Q { ...F }')).toBeNull();
  expect(requestedOperationName('not a name!', undefined)).toBeNull();
});
