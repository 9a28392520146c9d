// CORS as a browser meets it: preflights from a local dev server and the hosted Apollo Sandbox
// are answered (before Apollo's CSRF check), answers to allowed origins carry
// Access-Control-Allow-Origin on cache misses and hits alike, other origins get nothing a browser
// would hand to the page, and the WebSocket upgrade checks Origin against the same list.
// Real instances on PostgreSQL and Redis; raw HTTP so the Origin header is exactly what we send.
import { request } from 'node:http';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { startInstance, type Instance } from '../helpers/app.js';
import { useSeededDatabase } from '../helpers/fixtures.js';
import { testRedisUrl } from '../helpers/redis.js';

const db = useSeededDatabase();
let dev: Instance; // CORS_ORIGINS unset: the development default
let strict: Instance; // CORS_ORIGINS=https://app.example.org
let open: Instance; // CORS_ORIGINS=*

beforeAll(async () => {
  [dev, strict, open] = await Promise.all([
    startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl() }),
    startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env: { CORS_ORIGINS: 'https://app.example.org' } }),
    startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env: { CORS_ORIGINS: '*' } }),
  ]);
}, 60_000);

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(url: string, method: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.setTimeout(15_000, () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

const preflight = (instance: Instance, origin: string, method = 'POST') =>
  call(instance.graphqlUrl, 'OPTIONS', {
    origin,
    'access-control-request-method': method,
    'access-control-request-headers': 'authorization,content-type,apollo-require-preflight',
  });

const HOSPITALS = '{ hospitals { id name } }';

test.each(['http://localhost:5173', 'https://studio.apollographql.com', 'http://127.0.0.1:3000'])(
  'by default (development) a preflight from %s is answered with the headers Apollo Client and Sandbox send',
  async (origin) => {
    const res = await preflight(dev, origin);
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(origin);
    const allowed = String(res.headers['access-control-allow-headers']).toLowerCase().split(',');
    expect(allowed).toEqual(expect.arrayContaining(['authorization', 'content-type', 'apollo-require-preflight']));
    expect(String(res.headers['access-control-allow-methods'])).toContain('POST');
  },
);

test('GET and POST answers carry Access-Control-Allow-Origin on cache misses and hits alike', async () => {
  const origin = 'http://localhost:5173';
  const url = `${dev.graphqlUrl}?${new URLSearchParams({ query: HOSPITALS })}`;
  const seen: string[] = [];
  for (let i = 0; i < 2; i++) {
    const res = await call(url, 'GET', { origin, 'apollo-require-preflight': 'true' });
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(origin);
    expect(String(res.headers['access-control-expose-headers'])).toContain('x-cache');
    expect(String(res.headers.vary)).toMatch(/origin/i);
    seen.push(String(res.headers['x-cache']));
  }
  expect(seen).toEqual(['MISS', 'HIT']);
  const posts: string[] = [];
  for (let i = 0; i < 2; i++) {
    const res = await call(dev.graphqlUrl, 'POST', { origin, 'content-type': 'application/json' }, JSON.stringify({ query: HOSPITALS }));
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(origin);
    posts.push(String(res.headers['x-cache']));
  }
  expect(posts).toContain('HIT');
});

test('an origin outside CORS_ORIGINS gets no Access-Control-Allow-Origin, on the preflight or the answer', async () => {
  const evil = await preflight(strict, 'http://localhost:5173');
  expect(evil.status).toBe(204);
  expect(evil.headers['access-control-allow-origin']).toBeUndefined();
  const answer = await call(strict.graphqlUrl, 'POST', { origin: 'https://evil.example', 'content-type': 'application/json' }, JSON.stringify({ query: HOSPITALS }));
  expect(answer.headers['access-control-allow-origin']).toBeUndefined();
  expect(String(answer.headers.vary)).toMatch(/origin/i);

  const good = await preflight(strict, 'https://app.example.org');
  expect(good.headers['access-control-allow-origin']).toBe('https://app.example.org');
  // Same-origin pages (the /dashboard) need no entry in the list.
  const self = await call(strict.graphqlUrl, 'POST', { origin: strict.url, 'content-type': 'application/json' }, JSON.stringify({ query: HOSPITALS }));
  expect(self.status).toBe(200);
});

test('CORS_ORIGINS=* allows any origin', async () => {
  const res = await preflight(open, 'https://anything.example');
  expect(res.status).toBe(204);
  expect(res.headers['access-control-allow-origin']).toBe('*');
});

/** Opens a graphql-ws connection as a browser page on `origin` would; resolves how it went. */
function connectFrom(instance: Instance, origin: string | undefined): Promise<'connected' | string> {
  let client: ReturnType<typeof createClient> | undefined;
  return new Promise<string>((resolve) => {
    class OriginWebSocket extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols, origin ? { origin } : {});
        this.on('unexpected-response', (_req, res) => resolve(`refused ${res.statusCode}`));
      }
    }
    client = createClient({
      url: instance.wsUrl,
      webSocketImpl: OriginWebSocket,
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: () => resolve('error'),
      on: { connected: () => resolve('connected') },
    });
    setTimeout(() => resolve('timeout'), 10_000).unref();
  }).finally(() => void client?.dispose());
}

test('the WebSocket upgrade checks Origin against the same list', async () => {
  expect(await connectFrom(strict, 'https://app.example.org')).toBe('connected');
  expect(await connectFrom(strict, 'https://evil.example')).toBe('refused 403');
  expect(await connectFrom(strict, strict.url)).toBe('connected'); // same origin
  expect(await connectFrom(strict, undefined)).toBe('connected'); // not a browser
  expect(await connectFrom(dev, 'http://localhost:5173')).toBe('connected');
});
