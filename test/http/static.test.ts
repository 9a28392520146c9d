// The static file handler behind /dashboard (src/http/static.ts) on a real socket: content types,
// caching and compression, and that no request path reaches a file outside the site.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { chooseEncoding, createStaticSite, fileName } from '../../src/http/static.js';
import { createLogger } from '../../src/observability/logger.js';

const SECRET = 'top-secret-contents';
const BIG_JS = `console.log(${JSON.stringify('x'.repeat(5000))});\n`;
let tmp: string;
let site: string;
let server: Server;
let port: number;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Sends `rawPath` exactly as given (fetch and URL would normalise `..` away before sending). */
function get(rawPath: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: rawPath, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'lifeline-static-'));
  site = path.join(tmp, 'site');
  mkdirSync(path.join(site, 'assets'), { recursive: true });
  writeFileSync(path.join(tmp, 'secret.txt'), SECRET);
  writeFileSync(path.join(site, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(path.join(site, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(path.join(site, 'assets', 'main-ABCDEF23.js'), BIG_JS);
  writeFileSync(path.join(site, 'assets', 'main-ABCDEF23.css'), 'body{}');
  writeFileSync(path.join(site, '.env'), SECRET);
  symlinkSync(path.join(tmp, 'secret.txt'), path.join(site, 'linked.txt'));
  // Served from a directory that does not exist yet: it is built later (see the 503 test).
  const handler = createStaticSite({ root: site, mountPath: '/dashboard', buildHint: 'Run npm run build.', logger: createLogger('silent') });
  server = createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (pathname === '/dashboard' || pathname.startsWith('/dashboard/')) void handler(req, res, pathname);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(tmp, { recursive: true, force: true });
});

test('the entry page: HTML, revalidated on every load (ETag, 304), with a content security policy', async () => {
  for (const p of ['/dashboard', '/dashboard/']) {
    const res = await get(p);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.body.toString()).toContain('<title>t</title>');
  }
  const etag = (await get('/dashboard')).headers.etag as string;
  const again = await get('/dashboard', { 'if-none-match': etag });
  expect(again.status).toBe(304);
  expect(again.body.length).toBe(0);
  expect((await get('/dashboard', { 'if-none-match': '"other"' })).status).toBe(200);
});

test('hashed assets: cached for a year, compressed as the client accepts, HEAD without a body', async () => {
  const plain = await get('/dashboard/assets/main-ABCDEF23.js');
  expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
  expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  expect(plain.headers['content-encoding']).toBeUndefined();
  expect(plain.body.toString()).toBe(BIG_JS);
  expect(plain.headers.vary).toBe('accept-encoding');

  const br = await get('/dashboard/assets/main-ABCDEF23.js', { 'accept-encoding': 'gzip, deflate, br' });
  expect(br.headers['content-encoding']).toBe('br');
  expect(Number(br.headers['content-length'])).toBe(br.body.length);
  expect(brotliDecompressSync(br.body).toString()).toBe(BIG_JS);

  const gz = await get('/dashboard/assets/main-ABCDEF23.js', { 'accept-encoding': 'br;q=0, gzip' });
  expect(gz.headers['content-encoding']).toBe('gzip');
  expect(gunzipSync(gz.body).toString()).toBe(BIG_JS);

  const css = await get('/dashboard/assets/main-ABCDEF23.css');
  expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
  expect((await get('/dashboard/favicon.svg')).headers['content-type']).toBe('image/svg+xml');
  expect((await get('/dashboard/favicon.svg')).headers['cache-control']).toBe('no-cache');

  const head = await get('/dashboard/assets/main-ABCDEF23.js', {}, 'HEAD');
  expect(head.status).toBe(200);
  expect(head.headers['content-length']).toBe(String(Buffer.byteLength(BIG_JS)));
  expect(head.body.length).toBe(0);
});

test('only GET and HEAD', async () => {
  const res = await get('/dashboard', {}, 'POST');
  expect(res.status).toBe(405);
  expect(res.headers.allow).toBe('GET, HEAD');
});

test.each([
  '/dashboard/../secret.txt',
  '/dashboard/assets/../../secret.txt',
  '/dashboard/..%2fsecret.txt',
  '/dashboard/%2e%2e/secret.txt',
  '/dashboard/%2E%2E%2Fsecret.txt',
  '/dashboard/assets/..%5c..%5csecret.txt',
  '/dashboard/%2fetc%2fpasswd',
  '/dashboard//etc/passwd',
  '/dashboard/linked.txt',
  '/dashboard/.env',
  '/dashboard/index.html%00.js',
  '/dashboard/%E0%A4%A',
  '/dashboard/assets',
  '/dashboard/nope.js',
])('%s reaches nothing outside the site', async (p) => {
  const res = await get(p);
  expect(res.status).not.toBe(200);
  expect(res.body.toString()).not.toContain(SECRET);
  expect(res.body.toString()).not.toContain('root:');
});

test('fileName: the mount, then clean relative names only', () => {
  expect(fileName('/dashboard', '/dashboard')).toBe('index.html');
  expect(fileName('/dashboard/', '/dashboard')).toBe('index.html');
  expect(fileName('/dashboard/assets/a-B.js', '/dashboard')).toBe('assets/a-B.js');
  expect(fileName('/dashboardx', '/dashboard')).toBeNull();
  expect(fileName('/dashboard/a/../b', '/dashboard')).toBeNull();
  expect(fileName('/dashboard/a%2F..%2Fb', '/dashboard')).toBeNull();
});

test('chooseEncoding honours q=0 and wildcards', () => {
  const both = { br: Buffer.alloc(1), gzip: Buffer.alloc(1) };
  expect(chooseEncoding(undefined, both)).toBeNull();
  expect(chooseEncoding('gzip, br', both)).toBe('br');
  expect(chooseEncoding('br;q=0, gzip;q=0.5', both)).toBe('gzip');
  expect(chooseEncoding('*', both)).toBe('br');
  expect(chooseEncoding('*, br;q=0', both)).toBe('gzip');
  expect(chooseEncoding('identity', both)).toBeNull();
  expect(chooseEncoding('br', { gzip: Buffer.alloc(1) })).toBeNull();
});

test('before the site is built: 503 naming the fix; served once it exists', async () => {
  const later = path.join(tmp, 'later');
  const handler = createStaticSite({ root: later, mountPath: '/dashboard', buildHint: 'Run npm run build.', logger: createLogger('silent') });
  const s = createServer((req, res) => void handler(req, res, new URL(req.url ?? '/', 'http://x').pathname));
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}/dashboard`;
  try {
    const missing = await fetch(url);
    expect(missing.status).toBe(503);
    expect(await missing.text()).toBe('/dashboard is not built. Run npm run build.\n');
    mkdirSync(later);
    writeFileSync(path.join(later, 'index.html'), 'built');
    const built = await fetch(url);
    expect(built.status).toBe(200);
    expect(await built.text()).toBe('built');
  } finally {
    await new Promise((resolve) => s.close(resolve));
  }
});
