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
export function sendRateLimited(res: ServerResponse, verdict: RateLimitVerdict, headers: Record<string, string> = {}): void {
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
    ...headers,
  });
  res.end(body);
}

/** Deepest JSON nesting a request may use (variables included): recursive code downstream must not overflow the stack. */
export const MAX_JSON_DEPTH = 64;

/** True when the JSON text nests arrays/objects deeper than `max` (a linear scan, no parsing, so it is safe on any input). */
export function jsonNestedDeeperThan(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/**
 * Resolves with `pending`'s value, or null once `ms` have passed without one. The work goes on
 * in the background (JavaScript cannot abort it); a late failure is swallowed, not unhandled.
 */
export function withDeadline<T>(pending: Promise<T>, ms: number): Promise<T | null> {
  pending.catch(() => {});
  let timer: NodeJS.Timeout;
  return Promise.race([pending, new Promise<null>((resolve) => (timer = setTimeout(resolve, ms, null)))]).finally(() => clearTimeout(timer));
}

/** The body of a request that ran out of time (SERVICE_UNAVAILABLE; served with HTTP 503). */
export function deadlineBody(ms: number): string {
  return JSON.stringify({
    errors: [
      {
        message: `The request did not complete within ${ms} ms: the database is not answering. A mutation may or may not have been applied; check before retrying.`,
        extensions: { code: ErrorCode.SERVICE_UNAVAILABLE },
      },
    ],
  });
}
