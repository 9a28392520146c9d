// Cross-origin access for browser apps (a Vite dev server, a hosted frontend, the hosted Apollo
// Sandbox): the `cors` package (the one Apollo's standalone server uses) in front of every
// /graphql answer, cache hits and misses alike, and the same origin list for the WebSocket
// upgrade. Preflights (OPTIONS) are answered here, before anything else looks at the request:
// Apollo's CSRF check would otherwise refuse them, as they carry no content type.
//
// No credentials mode: Lifeline authenticates with the Authorization header, never cookies, so
// `*` is safe to offer and a page gains nothing by its origin beyond being allowed to read answers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from 'cors';

/** Request headers a browser app may send: the bearer token, JSON bodies, Apollo's CSRF header. */
export const CORS_ALLOWED_HEADERS = ['authorization', 'content-type', 'apollo-require-preflight', 'x-apollo-operation-name', 'x-request-id', 'if-none-match'];
/** Response headers a browser app may read besides the CORS-safelisted ones. */
export const CORS_EXPOSED_HEADERS = ['x-cache', 'cache-status', 'x-request-id', 'etag', 'age', 'retry-after', 'ratelimit-limit', 'ratelimit-remaining'];

/**
 * Whether a browser page on `origin` may call this server: same-origin always (the /dashboard
 * page), else one of `allowed` (`*`, an exact origin, or `scheme://host:*` for any port).
 */
export function originAllowed(allowed: readonly string[], origin: string | undefined, host: string | undefined): boolean {
  if (!origin) return true; // not a browser's cross-origin request (curl, server-side clients)
  const o = origin.toLowerCase();
  if (host) {
    try {
      if (new URL(o).host === host.toLowerCase()) return true;
    } catch {
      return false; // "null" (sandboxed frames, file://) and other non-URLs
    }
  }
  return allowed.some((a) => a === '*' || a === o || (a.endsWith(':*') && o.startsWith(a.slice(0, -1)) && /^\d{1,5}$/.test(o.slice(a.length - 1))));
}

/**
 * A hook for the HTTP router: sets the CORS headers on the response and returns true when it has
 * answered the request itself (a preflight).
 */
export type CorsHook = (req: IncomingMessage, res: ServerResponse) => boolean;

export function createCors(allowed: readonly string[]): CorsHook {
  const any = allowed.includes('*');
  // Synchronous with static options: next() has run (or the preflight was answered) when it returns.
  const middleware = cors({
    origin: any ? '*' : true, // true: reflect the request's origin, which was checked below
    methods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: CORS_ALLOWED_HEADERS,
    exposedHeaders: CORS_EXPOSED_HEADERS,
    maxAge: 600, // a browser asks again every 10 minutes at most
    preflightContinue: false,
    optionsSuccessStatus: 204,
  });
  return (req, res) => {
    const origin = req.headers.origin;
    if (!origin) return false; // not from a browser page on another origin: nothing to add
    const isPreflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    if (!any && !originAllowed(allowed, origin, req.headers.host)) {
      // No Access-Control-Allow-* headers: the browser keeps the answer from the page. The answer
      // depends on Origin all the same, so shared caches must keep the two apart.
      res.setHeader('vary', 'Origin');
      if (!isPreflight) return false;
      res.writeHead(204, { 'content-length': '0' });
      res.end();
      return true;
    }
    let answered = true;
    middleware(req as never, res as never, () => (answered = false));
    return answered;
  };
}
