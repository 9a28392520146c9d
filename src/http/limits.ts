// Request limits the HTTP adapter applies before the response cache, since a cache hit never
// reaches Apollo: who the client is (IP, or the signed-in user) and the 429 answer.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Viewer } from '../auth/types.js';
import type { RateLimitVerdict } from '../auth/rate-limit.js';
import { ErrorCode } from '../graphql/errors.js';

/**
 * The client's address. With `trustedProxies` = N > 0 the server sits behind N proxies that
 * each append to X-Forwarded-For, so the client is the Nth address from the right (anything
 * further left was written by the client and can be forged). 0 (default): the socket's peer.
 */
export function clientIp(req: IncomingMessage, trustedProxies = 0): string {
  const peer = req.socket.remoteAddress ?? 'unknown';
  if (trustedProxies <= 0) return peer;
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : header ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return hops[hops.length - trustedProxies] ?? hops[0] ?? peer;
}

/**
 * The budget a request draws from: a signed-in user's own (so staff of one hospital behind
 * one NAT address do not share one budget), otherwise the client address's.
 */
export function rateLimitKey(viewer: Viewer | null, ip: string): string {
  return viewer ? `user:${viewer.userId}` : `ip:${ip}`;
}

/** HTTP 429 with a GraphQL error (RATE_LIMITED, retryAfter) and Retry-After. */
export function sendRateLimited(res: ServerResponse, verdict: RateLimitVerdict): void {
  const body = JSON.stringify({
    errors: [
      {
        message: `Too many requests: at most ${verdict.limit} per minute. Try again in ${verdict.retryAfterSeconds} s.`,
        extensions: { code: ErrorCode.RATE_LIMITED, retryAfter: verdict.retryAfterSeconds },
      },
    ],
  });
  res.writeHead(429, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'retry-after': String(verdict.retryAfterSeconds),
    'ratelimit-limit': String(verdict.limit),
    'ratelimit-remaining': '0',
    'cache-control': 'no-store',
  });
  res.end(body);
}
