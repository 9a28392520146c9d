// The dashboard page's built files, served from memory under one URL prefix.
//
// Closed world: the files under `root` are listed once, and only a request naming one of them
// exactly gets it. A path is never joined onto `root` from the URL, so `..`, encoded slashes,
// symlinks or NUL bytes cannot reach anything else (they are refused with 404 before the lookup
// anyway, so the answer does not depend on what exists outside). Entry points (index.html)
// revalidate on every load (`no-cache` + ETag); content-hashed assets are cached for a year,
// since a new build gives them new names.
import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';
import type { Logger } from '../observability/logger.js';

export interface StaticSiteOptions {
  /** Directory holding the built site (index.html at its top). Read at the first request, then kept in memory. */
  root: string;
  /** URL prefix the site answers under, without a trailing slash, e.g. `/dashboard`. */
  mountPath: string;
  /** Shown in the 503 answered while `root` holds no index.html. */
  buildHint?: string;
  /** Content-Security-Policy of the HTML pages; default: only the site's own origin, no inline styles. */
  contentSecurityPolicy?: string;
  logger: Logger;
}

/**
 * Where `npm run build` puts the dashboard page (dashboard/build.ts), found from the project
 * root so it is the same whether this file runs from src/ (tsx, jest) or dist/src/ (npm start).
 */
export function defaultDashboardDir(from: string = __dirname): string {
  return defaultSiteDir('dashboard', from);
}

/** Where `npm run build` puts a static site (`dashboard`, `graphiql`): dist/public/<name> under the project root. */
export function defaultSiteDir(name: string, from: string = __dirname): string {
  let dir = from;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve('dist', 'public', name);
    dir = parent;
  }
  return path.join(dir, 'dist', 'public', name);
}

/** Answers a request whose path is `mountPath` or starts with `mountPath/`. */
export type StaticSiteHandler = (req: IncomingMessage, res: ServerResponse, pathname: string) => Promise<void>;

interface StaticFile {
  body: Buffer;
  /** Precompressed variants, only when smaller. */
  br?: Buffer;
  gzip?: Buffer;
  contentType: string;
  etag: string;
  cacheControl: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** esbuild's `[name]-[hash]` names: 8 base32 characters before the extension. */
const HASHED_NAME = /-[A-Z2-7]{8}\.[a-z0-9]+$/;
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

/**
 * The page only talks to its own origin (GraphQL over fetch and WebSocket); `'self'` in
 * connect-src covers ws:// and wss:// to the same host in current browsers (CSP Level 3).
 */
const HTML_SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
};

export function createStaticSite(options: StaticSiteOptions): StaticSiteHandler {
  const { mountPath, logger } = options;
  const root = path.resolve(options.root);
  const htmlHeaders = options.contentSecurityPolicy
    ? { ...HTML_SECURITY_HEADERS, 'content-security-policy': options.contentSecurityPolicy }
    : HTML_SECURITY_HEADERS;
  // Loaded once; a failed load (not built yet) is retried by the next request.
  let loading: Promise<Map<string, StaticFile>> | null = null;
  const files = () => {
    loading ??= loadSite(root).then(
      (table) => {
        logger.info({ root, files: table.size }, 'static site loaded');
        return table;
      },
      (err: unknown) => {
        loading = null;
        throw err;
      },
    );
    return loading;
  };

  const sendText = (res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...headers,
    });
    res.end(text);
  };

  return async (req, res, pathname) => {
    const method = (req.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') return sendText(res, 405, 'Method not allowed.\n', { allow: 'GET, HEAD' });

    const name = fileName(pathname, mountPath);
    if (name === null) return sendText(res, 404, 'Not found.\n');

    let table: Map<string, StaticFile>;
    try {
      table = await files();
    } catch (err) {
      logger.warn({ root, err: (err as Error).message }, 'static site unavailable');
      return sendText(res, 503, `${mountPath} is not built. ${options.buildHint ?? ''}`.trim() + '\n');
    }
    const file = table.get(name);
    if (!file) return sendText(res, 404, 'Not found.\n');

    const headers: Record<string, string> = {
      'content-type': file.contentType,
      'cache-control': file.cacheControl,
      etag: file.etag,
      vary: 'accept-encoding',
      'x-content-type-options': 'nosniff',
      ...(file.contentType.startsWith('text/html') ? htmlHeaders : {}),
    };
    if (etagMatches(req.headers['if-none-match'], file.etag)) {
      res.writeHead(304, headers);
      return void res.end();
    }
    const encoding = chooseEncoding(req.headers['accept-encoding'], file);
    const body = encoding ? file[encoding]! : file.body;
    if (encoding) headers['content-encoding'] = encoding;
    headers['content-length'] = String(body.length);
    res.writeHead(200, headers);
    res.end(method === 'HEAD' ? undefined : body);
  };
}

/**
 * The file a URL path names, relative to the site root with `/` separators, or null when the
 * path is outside the mount or could name something outside the site (`..`, `.`, empty or
 * hidden segments, backslashes, NUL, malformed escapes).
 */
export function fileName(pathname: string, mountPath: string): string | null {
  if (pathname !== mountPath && !pathname.startsWith(`${mountPath}/`)) return null;
  const rest = pathname.slice(mountPath.length + 1);
  if (rest === '') return 'index.html';
  let decoded: string;
  try {
    decoded = decodeURIComponent(rest);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const segments = decoded.split('/');
  if (segments.some((s) => s === '' || s.startsWith('.'))) return null;
  return segments.join('/');
}

async function loadSite(root: string): Promise<Map<string, StaticFile>> {
  const table = new Map<string, StaticFile>();
  await fs.access(path.join(root, 'index.html'));
  const walk = async (dir: string, prefix: string) => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      // Regular files and directories only: a symlink could point anywhere.
      if (entry.isDirectory()) await walk(full, `${prefix}${entry.name}/`);
      else if (entry.isFile()) table.set(`${prefix}${entry.name}`, prepare(`${prefix}${entry.name}`, await fs.readFile(full)));
    }
  };
  await walk(root, '');
  return table;
}

function prepare(name: string, body: Buffer): StaticFile {
  const contentType = CONTENT_TYPES[path.extname(name).toLowerCase()] ?? 'application/octet-stream';
  const file: StaticFile = {
    body,
    contentType,
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    cacheControl: HASHED_NAME.test(name) ? IMMUTABLE : REVALIDATE,
  };
  const compressible = /^(text\/|application\/json|image\/svg)/.test(contentType);
  if (compressible && body.length > 1024) {
    // Quality 11 costs seconds per MB: large bundles (GraphiQL's editor) get a quality that
    // compresses them in well under a second, still far smaller than gzip -9.
    const quality = body.length > 256 * 1024 ? 5 : 11;
    const br = brotliCompressSync(body, { params: { [zlib.BROTLI_PARAM_QUALITY]: quality, [zlib.BROTLI_PARAM_SIZE_HINT]: body.length } });
    const gzip = gzipSync(body, { level: 9 });
    if (br.length < body.length) file.br = br;
    if (gzip.length < body.length) file.gzip = gzip;
  }
  return file;
}

/** `br` over `gzip` when the client accepts it (q > 0) and the file has it; else identity (null). */
export function chooseEncoding(header: string | undefined, file: { br?: Buffer; gzip?: Buffer }): 'br' | 'gzip' | null {
  if (!header) return null;
  const accepted = new Map<string, number>();
  for (const part of header.split(',')) {
    const [token, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const weight = q ? Number(q.slice(2)) : 1;
    if (token) accepted.set(token, Number.isFinite(weight) ? weight : 0);
  }
  const ok = (enc: string) => (accepted.get(enc) ?? accepted.get('*') ?? 0) > 0;
  if (file.br && ok('br')) return 'br';
  if (file.gzip && ok('gzip')) return 'gzip';
  return null;
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag === etag || tag === `W/${etag}`;
  });
}
