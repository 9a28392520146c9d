// GraphQL over HTTP on Node's own http server: Apollo's executeHTTPGraphQLRequest
// behind a thin adapter (body limit, JSON parsing, routing) with the full-response
// cache in front, so a hit costs one Redis round trip and no GraphQL execution. What the cache
// keeps and what the caching headers say are decided in cache/response-policy.ts; this file
// carries those decisions to the wire.
// Node http was chosen over express by measurement (README, Development).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import Negotiator from 'negotiator';
import { GraphQLError, Kind, parse, type OperationDefinitionNode } from 'graphql';
import type { RateLimitVerdict } from '../auth/rate-limit.js';
import type { Viewer } from '../auth/types.js';
import type { CacheScope } from '../cache/cache.js';
import type { CdnTagMode } from '../cache/cdn-tags.js';
import { requestHash, sha256, type CachedResponse, type Lookup, type ResponseCache } from '../cache/response-cache.js';
import { createResponsePolicy, type CacheOutcome, type ExecutedResponse, type NotStoredReason } from '../cache/response-policy.js';
import type { GraphQLContext } from '../graphql/context.js';
import { newRequestState, type RequestState } from '../graphql/request-state.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { noteErrors, noteOperation, noteResponse, type RequestObserver } from '../observability/request-log.js';
import { BodyTooLarge, readBody } from './body.js';
import { checkReadiness, type DependencyCheck } from './health.js';
import { createRequestMemo } from './request-memo.js';
import type { StaticSiteHandler } from './static.js';
import type { CorsHook } from './cors.js';
import { clientIp, deadlineBody, jsonNestedDeeperThan, MAX_JSON_DEPTH, rateLimitKey, sendRateLimited, withDeadline } from './limits.js';

export interface HttpHandlerOptions {
  apollo: ApolloServer<GraphQLContext>;
  /** Checks the Authorization header's token (format, signature, expiry; no I/O); throws a GraphQLError with extensions.http when bad. */
  verify(authorization: string | undefined): Promise<Viewer | null>;
  /** Throws a GraphQLError when the viewer's session was revoked (one Redis read). */
  checkSession(viewer: Viewer): Promise<void>;
  /** The operation's context; `request` is its state shared by reference (client address, cache scope, outcome). */
  context(viewer: Viewer | null, requestId: string, request: RequestState): GraphQLContext;
  /** Takes one point from a client's budget; unset = no rate limit. Applied before the cache, so hits count too. */
  rateLimit?: (key: string) => Promise<RateLimitVerdict>;
  /** Proxies in front of the server whose X-Forwarded-For entries are trusted (see http/limits.ts). Default 0. */
  trustedProxies?: number;
  /** A GraphQL execution still running after this many ms is answered with 503 SERVICE_UNAVAILABLE; unset = no bound. */
  requestTimeoutMs?: number;
  /** null when the full-response cache is off. */
  responseCache: ResponseCache | null;
  /** The one purge-tag header on cacheable PUBLIC responses, for the CDN in front (cache/cdn-tags.ts). Default 'off'. */
  cdnTags?: CdnTagMode;
  readiness: DependencyCheck[];
  /** The dashboard page's static files, answering /dashboard and /dashboard/*; unset = 404. */
  dashboard?: StaticSiteHandler;
  /** The offline GraphiQL page's static files, answering /graphiql and /graphiql/*; unset = 404. */
  graphiql?: StaticSiteHandler;
  maxBodyBytes: number;
  /** The cache's clock, for Age and stored-at times. */
  now?: () => number;
  logger: Logger;
  /** Called as each request starts; logs it and records its metrics when it ends (observability/request-log.ts). */
  observe?: RequestObserver;
  /** Served at GET /metrics; unset = 404. */
  metrics?: Pick<Metrics, 'contentType' | 'scrape'>;
  /** Refuses a request's text before parsing and before the cache (APQ hash mismatch, absurd nesting: graphql/prepare.ts). */
  checkSource?: (operation: { query?: string; apqHash?: string }) => GraphQLError | null;
  /**
   * Told of each anonymous request answered with a PUBLIC response from (or stored into) the
   * response cache: its cache key and what replays it (cache/warmer.ts). Never called for a
   * request with an Authorization header.
   */
  rememberPublic?: (hash: string, request: ReplayableRequest) => void;
  /** Whether a request is the server's own replay (cache/warmer.ts): not rate limited, not remembered as traffic. */
  internalRequest?: (req: IncomingMessage) => boolean;
  /** CORS headers on every answer, and preflights answered before any other check (http/cors.ts); unset = same-origin only. */
  cors?: CorsHook;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface Executed extends ExecutedResponse {
  headers: [string, string][];
  /** The cache scope its reads went through (null when the cache is off). */
  scope: CacheScope | null;
}

/** What replays a GraphQL request over HTTP: GET with its query string, or POST with its JSON body. */
export interface ReplayableRequest {
  method: 'GET' | 'POST';
  /** The URL's query string (GET), e.g. "?query=...". */
  search: string;
  /** The JSON body (POST). */
  body: string;
  /** The negotiated response format, sent back as Accept. */
  accept: string;
}

/** The parts of a GraphQL request that name a cached response. */
interface Operation {
  query?: string;
  apqHash?: string;
  operationName?: string | null;
  variables?: unknown;
}

const SIMPLE_CONTENT_TYPES = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data'];

/** Apollo's CSRF rule, applied to cache hits that never reach Apollo. */
function passesCsrfCheck(req: IncomingMessage): boolean {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type && !SIMPLE_CONTENT_TYPES.includes(type)) return true;
  return Boolean(req.headers['x-apollo-operation-name'] || req.headers['apollo-require-preflight']);
}

function operationOf(method: string, body: unknown, url: URL): Operation | null {
  let raw: Record<string, unknown>;
  if (method === 'GET') {
    const p = url.searchParams;
    // A parameter given twice is Apollo's to refuse: the cache must not answer it from the first copy.
    if (['query', 'operationName', 'variables', 'extensions'].some((name) => p.getAll(name).length > 1)) return null;
    try {
      raw = {
        query: p.get('query') ?? undefined,
        operationName: p.get('operationName'),
        variables: p.get('variables') ? JSON.parse(p.get('variables')!) : undefined,
        extensions: p.get('extensions') ? JSON.parse(p.get('extensions')!) : undefined,
      };
    } catch {
      return null;
    }
  } else if (body && typeof body === 'object' && !Array.isArray(body)) {
    raw = body as Record<string, unknown>;
  } else return null;
  const apqHash = (raw.extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined)?.persistedQuery?.sha256Hash;
  const query = typeof raw.query === 'string' ? raw.query : undefined;
  if (!query && typeof apqHash !== 'string') return null;
  return { query, apqHash: typeof apqHash === 'string' ? apqHash : undefined, operationName: (raw.operationName as string) ?? null, variables: raw.variables };
}

/** Whether the selected operation is a query (parsed on misses only; hits never get here). */
function isQueryOperation(op: Operation): boolean {
  if (!op.query) return false;
  try {
    const operations = parse(op.query, { noLocation: true, maxTokens: 5_000 }).definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
    const selected = op.operationName ? operations.find((d) => d.name?.value === op.operationName) : operations.length === 1 ? operations[0] : undefined;
    return selected?.operation === 'query';
  } catch {
    return false;
  }
}

/** The request errors (no execution: the result has no `data`) a GraphQL result carries with status 200 under application/json. */
const WELL_FORMED_REQUEST_ERRORS = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT']);

/**
 * The status an executed answer goes out with. GraphQL over HTTP says a client that accepts only
 * application/json SHOULD get 200 for a document that does not parse or validate and for variables
 * that do not coerce: such a client may not understand a 4xx as carrying a GraphQL result (the
 * application/graphql-response+json format does, and keeps Apollo's 400). Only a result that never
 * executed and whose every error is one of those kinds changes; the caching decisions still see
 * Apollo's own status, so such an answer is no more storable than before.
 */
function wireStatus(executed: Pick<ExecutedResponse, 'status' | 'contentType' | 'body'>): number {
  if (executed.status !== 400 || !/^application\/json\b/i.test(executed.contentType)) return executed.status;
  let result: unknown;
  try {
    result = JSON.parse(executed.body);
  } catch {
    return executed.status;
  }
  if (!result || typeof result !== 'object' || 'data' in result) return executed.status;
  const errors = (result as { errors?: unknown }).errors;
  if (!Array.isArray(errors) || errors.length === 0) return executed.status;
  const allRequestErrors = errors.every((e: { extensions?: { code?: unknown } } | null) => WELL_FORMED_REQUEST_ERRORS.has(String(e?.extensions?.code)));
  return allRequestErrors ? 200 : executed.status;
}

const RESPONSE_FORMATS = ['application/json', 'application/graphql-response+json'];

/**
 * The response format Apollo will choose for this Accept header, by the same negotiation (its
 * library, weights included): the cache key must name the format the answer is in, or a client
 * that ranks the two types differently would be served the other one's entry.
 */
const responseFormat = (req: IncomingMessage) => {
  const accept = req.headers.accept;
  if (!accept) return 'application/json';
  return new Negotiator({ headers: { accept } }).mediaType(RESPONSE_FORMATS) ?? 'application/json';
};

export function createHttpHandler(options: HttpHandlerOptions): Handler {
  const { apollo, logger, responseCache } = options;
  const now = options.now ?? Date.now;
  // What is stored and what the caching headers say are the cache layer's decisions.
  const policy = createResponsePolicy({ responseCache, cdnTags: options.cdnTags ?? 'off', now });

  /** The headers with their Vary added to one an earlier hook (CORS: Origin) already set, instead of replacing it. */
  const withVary = <H extends Record<string, string | number>>(res: ServerResponse, headers: H): H => {
    const existing = res.getHeader('vary');
    if (!headers.vary || !existing) return headers;
    const tokens = new Map<string, string>();
    for (const t of `${String(existing)},${String(headers.vary)}`.split(',')) if (t.trim()) tokens.set(t.trim().toLowerCase(), t.trim());
    return { ...headers, vary: [...tokens.values()].join(', ') };
  };
  const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const payload = JSON.stringify(body);
    res.writeHead(status, withVary(res, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload), ...headers }));
    res.end(payload);
  };
  /** The caching headers of an error answered before GraphQL runs (no-store: never stored, by anyone). */
  // x-cache too: every /graphql answer says whether the response cache served it.
  const refusedHeaders = { ...policy.headers({ kind: 'not-stored', reason: 'error', revalidated: false }, false), 'x-cache': 'BYPASS' };
  const graphqlError = (res: ServerResponse, status: number, message: string, code: string, extensions: Record<string, unknown> = {}) => {
    noteErrors(res, [code]); // request log and metrics
    sendJson(res, status, { errors: [{ message, extensions: { ...extensions, code } }] }, refusedHeaders);
  };

  // A hot entry is the same object on every L1 hit: encode its body to bytes and build its fixed
  // headers once, not per response (encoding 27 KB of JSON per hit cost a fifth of the hit path's CPU).
  const ready = new WeakMap<CachedResponse, { body: Buffer; headers: Record<string, string | number> }>();
  const readyOf = (hit: CachedResponse) => {
    let r = ready.get(hit);
    if (!r) {
      const body = Buffer.from(hit.body);
      ready.set(hit, (r = { body, headers: { 'content-type': hit.contentType, 'content-length': body.length, 'x-cache': 'HIT', ...policy.fixedHeaders(hit) } }));
    }
    return r;
  };
  const requestMemo = createRequestMemo<Operation>();

  /** 304 for a GET whose If-None-Match names the answer's ETag: the headers, no body. */
  const notModified = (req: IncomingMessage, res: ServerResponse, headers: Record<string, string | number>) => {
    if (!headers.etag || (req.method ?? 'GET').toUpperCase() !== 'GET' || !policy.notModified(req.headers['if-none-match'], String(headers.etag))) return false;
    const { 'content-length': _length, 'content-type': _type, ...rest } = headers;
    res.writeHead(304, rest);
    res.end();
    return true;
  };

  /**
   * A stored entry's bytes with the caching headers of `outcome`: a hit, or (`stored`, `collapsed`)
   * the fresh result another request computed while this one waited for it (single flight), which
   * is not a hit since this reader waited for a fill: `x-cache` MISS.
   */
  const sendEntry = (req: IncomingMessage, res: ServerResponse, entry: CachedResponse, outcome: CacheOutcome & { kind: 'hit' | 'stored' }) => {
    const { body, headers } = readyOf(entry);
    const caching = policy.headers(outcome, (req.method ?? 'GET').toUpperCase() === 'GET');
    const all = withVary(res, { ...headers, ...caching, ...(outcome.kind === 'hit' ? {} : { 'x-cache': 'MISS' }) });
    if (notModified(req, res, all)) return;
    res.writeHead(200, all);
    res.end(body);
  };
  /** A cached answer. `stale`: served past its fresh life (while it is refreshed, or instead of a database error). */
  const sendHit = (req: IncomingMessage, res: ServerResponse, hit: CachedResponse, stale: false | 'while-revalidate' | 'if-error', expiresAt: number) =>
    sendEntry(req, res, hit, { kind: 'hit', entry: hit, stale, expiresAt });

  /** An executed answer, with the caching headers of what the cache did with it. */
  const send = (req: IncomingMessage, res: ServerResponse, executed: Executed, xCache: 'MISS' | 'BYPASS', outcome: CacheOutcome) => {
    for (const [key, value] of executed.headers) res.setHeader(key, value);
    const caching = withVary(res, policy.headers(outcome, outcome.kind === 'stored' && (req.method ?? 'GET').toUpperCase() === 'GET'));
    for (const [key, value] of Object.entries(caching)) res.setHeader(key, value);
    res.setHeader('x-cache', xCache);
    // How many times the operation went to the database for what the cache did not have (0: it
    // was assembled from cached entries alone): what a miss cost, for load tests and browsers' dev tools.
    // Queries only: a mutation's own statements are not cache reads, so the count would say 0.
    if (executed.scope && executed.outcome?.operation === 'query') res.setHeader('server-timing', `sql;desc="${executed.scope.fetches}"`);
    noteResponse(res, executed.outcome, executed.body); // request log and metrics
    if (executed.status === 200 && notModified(req, res, caching)) return;
    res.setHeader('content-length', Buffer.byteLength(executed.body));
    res.statusCode = wireStatus(executed);
    res.end(executed.body);
  };

  /** An answer that did not go through the response cache: why, as Cache-Status says. */
  const bypassed = (executed: Executed, reason: NotStoredReason): CacheOutcome => ({
    kind: 'not-stored',
    reason: reason === 'off' || executed.status === 200 ? reason : 'error',
    revalidated: false,
    hinted: policy.hinted(executed, executed.scope),
  });

  async function execute(req: IncomingMessage, method: string, url: URL, body: unknown, requestId: string, viewer: Viewer | null | GraphQLError, ip: string, scope?: CacheScope): Promise<Executed> {
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    // Filled in by Apollo's plugins through every copy of the context (request-state.ts).
    const request = newRequestState({ ip, userAgent: req.headers['user-agent'] }, scope ?? null);
    const pending = apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method, headers, search: url.search, body },
      context: async () => {
        if (viewer instanceof GraphQLError) throw viewer;
        return options.context(viewer, requestId, request);
      },
    });
    // Issue 5: a hung PostgreSQL (no answer, no error) must not hold the client forever. The late
    // result is dropped, so never cached; a timed-out mutation may still commit (said in the error).
    const response = options.requestTimeoutMs ? await withDeadline(pending, options.requestTimeoutMs) : await pending;
    if (!response) {
      const headers: [string, string][] = [['content-type', 'application/json; charset=utf-8'], ['cache-control', 'no-store'], ['retry-after', '5']];
      return { status: 503, headers, contentType: headers[0]![1], body: deadlineBody(options.requestTimeoutMs!), outcome: undefined, scope: request.scope };
    }
    let text = '';
    if (response.body.kind === 'complete') text = response.body.string;
    else for await (const chunk of response.body.asyncIterator) text += chunk;
    const responseHeaders = [...response.headers];
    const contentType = responseHeaders.find(([k]) => k === 'content-type')?.[1] ?? 'application/json; charset=utf-8';
    return { status: response.status ?? 200, headers: responseHeaders, contentType, body: text, outcome: request.outcome ?? undefined, scope: request.scope };
  }

  async function handleGraphQL(req: IncomingMessage, res: ServerResponse, url: URL, requestId: string) {
    const method = (req.method ?? 'GET').toUpperCase();
    // The token is checked first (no I/O) so the rate limit can charge the signed-in user.
    let viewer: Viewer | null | GraphQLError;
    try {
      viewer = await options.verify(req.headers.authorization);
    } catch (err) {
      if (!(err instanceof GraphQLError)) throw err;
      viewer = err;
    }
    // Rate limit: its Redis round trip overlaps the body read and the cache lookup; its
    // verdict is awaited before anything is served or executed, cache hits included.
    // The client's address (X-Forwarded-For only from TRUST_PROXY proxies): the request budget's key, and the sign-in limiter's.
    const ip = clientIp(req, options.trustedProxies);
    // The server's own replays (refresh and warming, over loopback) are not a client's traffic.
    const internal = options.internalRequest?.(req) ?? false;
    const verdict = internal ? undefined : options.rateLimit?.(rateLimitKey(viewer instanceof GraphQLError ? null : viewer, ip));
    const refused = async () => {
      const v = await verdict;
      return v && !v.allowed ? v : null;
    };
    const format = responseFormat(req);
    let body: unknown = undefined;
    let isJson = false;
    let raw = '';
    // The request's text was seen before: its operation and cache key are known without parsing.
    let remembered = responseCache && method === 'GET' ? requestMemo.get(method, format, url.search) : undefined;
    if (method === 'POST') {
      try {
        raw = await readBody(req, options.maxBodyBytes);
      } catch (err) {
        if (err instanceof BodyTooLarge) {
          res.setHeader('connection', 'close');
          return graphqlError(res, 413, `Request body is larger than ${options.maxBodyBytes} bytes.`, 'PAYLOAD_TOO_LARGE');
        }
        throw err;
      }
      if (/^application\/(graphql-response\+)?json\b/i.test(req.headers['content-type'] ?? '')) {
        isJson = true;
        remembered = responseCache ? requestMemo.get(method, format, raw) : undefined;
        if (!remembered) {
          // Issue 5: absurdly nested JSON (e.g. variables 100,000 arrays deep) would overflow the
          // stack of the recursive code after parsing (cache keys, variable coercion): refuse it here.
          if (jsonNestedDeeperThan(raw)) return graphqlError(res, 400, `The request body nests JSON deeper than ${MAX_JSON_DEPTH} levels.`, 'BAD_REQUEST');
          try {
            body = raw.length ? JSON.parse(raw) : undefined;
          } catch {
            return graphqlError(res, 400, 'The request body is not valid JSON.', 'BAD_REQUEST');
          }
        }
      } else {
        // Apollo answers unsupported content types (and its CSRF rules) itself.
        body = raw;
      }
    }
    /** The parsed body for Apollo; a remembered request was not parsed yet (it passed the checks when first seen). */
    const bodyForExecution = () => (remembered && isJson && body === undefined && raw.length ? (body = JSON.parse(raw)) : body);

    // The session check and the cache lookup go out together: a hit costs one round trip.
    const sessionChecked = (v: Viewer | null): Promise<Viewer | null | GraphQLError> =>
      v ? options.checkSession(v).then(() => v, (err: unknown) => (err instanceof GraphQLError ? err : Promise.reject(err))) : Promise.resolve(v);

    // Logs and metrics name the operation, cached or not (observability/request-log.ts).
    const requested = remembered?.operation ?? (method === 'GET' || isJson ? operationOf(method, body, url) : null);
    noteOperation(res, requested);
    // Before the cache too: a hit must not answer a request Apollo would refuse (a mismatched APQ hash).
    const refusal = requested && !remembered ? options.checkSource?.(requested) : null;
    if (refusal) {
      // The depth limit decided before parsing is a validation failure like Apollo's own: the same status rule (wireStatus).
      const code = String(refusal.extensions.code);
      const status = format === 'application/json' && WELL_FORMED_REQUEST_ERRORS.has(code) ? 200 : 400;
      return graphqlError(res, status, refusal.message, code, refusal.extensions);
    }
    const operation = responseCache && requested && !(viewer instanceof GraphQLError) ? requested : null;
    if (!operation || viewer instanceof GraphQLError) {
      const limited = await refused();
      if (limited) return sendRateLimited(res, limited, refusedHeaders);
      if (!(viewer instanceof GraphQLError)) viewer = await sessionChecked(viewer);
      const executed = await execute(req, method, url, bodyForExecution(), requestId, viewer, ip);
      return send(req, res, executed, 'BYPASS', bypassed(executed, !responseCache ? 'off' : viewer instanceof GraphQLError ? 'error' : 'uncacheable'));
    }
    let hash = remembered?.hash;
    if (!hash) {
      hash = requestHash({
        documentHash: operation.query ? sha256(operation.query) : operation.apqHash!,
        operationName: operation.operationName,
        variables: operation.variables,
        format,
      });
      // Not the variables: they are in the hash already, and a parsed object graph can be many times
      // the size of its text (the memo's byte bound counts the text).
      const { query, apqHash, operationName } = operation;
      requestMemo.set(method, format, method === 'GET' ? url.search : raw, { operation: { query, apqHash, operationName }, hash });
    }

    const [limited, checked, lookup]: [RateLimitVerdict | null, Viewer | null | GraphQLError, Lookup] = await Promise.all([
      refused(),
      sessionChecked(viewer),
      responseCache!.lookup(hash, viewer?.userId ?? null),
    ]);
    if (limited) return sendRateLimited(res, limited, refusedHeaders);
    if (checked instanceof GraphQLError) {
      const executed = await execute(req, method, url, bodyForExecution(), requestId, checked, ip);
      return send(req, res, executed, 'BYPASS', bypassed(executed, 'error'));
    }
    const csrfOk = method === 'POST' || passesCsrfCheck(req);
    // Anonymous and shared only: nothing a token or a user's private answer is part of is remembered.
    const remember = (response: CachedResponse) => {
      if (options.rememberPublic && !internal && viewer === null && !req.headers.authorization && response.scope === 'PUBLIC' && (method === 'GET' || method === 'POST'))
        options.rememberPublic(hash, { method, search: method === 'GET' ? url.search : '', body: method === 'POST' ? raw : '', accept: format });
    };
    if (lookup.hit && !lookup.stale && csrfOk) {
      remember(lookup.hit);
      return sendHit(req, res, lookup.hit, false, lookup.expiresAt);
    }

    /** Executes the operation and offers its response to the cache (the policy says what may be kept). */
    const run = async (): Promise<{ executed: Executed; outcome: CacheOutcome }> => {
      const executed = await execute(req, method, url, bodyForExecution(), requestId, viewer, ip, lookup.scope);
      const entry = policy.entryFor(executed, viewer !== null, lookup.scope);
      const revalidated = lookup.stale;
      const outcome: CacheOutcome = typeof entry === 'string' ? { kind: 'not-stored', reason: entry, revalidated } : await policy.store(lookup, entry, revalidated);
      return { executed, outcome };
    };
    /** Sends an executed response; on a database failure a stale copy (never an invalidated one) is served instead. */
    const answer = ({ executed, outcome }: { executed: Executed; outcome: CacheOutcome }) => {
      if (outcome.kind === 'not-stored' && lookup.hit && policy.servesStaleInstead(executed)) return sendHit(req, res, lookup.hit, 'if-error', lookup.expiresAt);
      const missed = outcome.kind === 'stored' || (outcome.kind === 'not-stored' && ['refused', 'unavailable', 'sources-expiring'].includes(outcome.reason));
      if (outcome.kind === 'stored') remember(outcome.entry);
      send(req, res, executed, missed ? 'MISS' : 'BYPASS', outcome);
    };

    // Only queries are coalesced: a mutation never has an entry, and two identical mutations are two writes.
    if (!csrfOk || !isQueryOperation(operation)) return answer(await run());

    let answered = false;
    const shared = await responseCache!.coalesce(lookup, async (release) => {
      const result = await run();
      release(result.outcome.kind === 'stored' ? result.outcome.entry : null);
      answered = true;
      answer(result);
    });
    if (answered) return;
    if (shared && shared !== 'execute') {
      remember(shared);
      // The stale entry this request found (served while another instance refreshes it), or the fresh result another request computed.
      if (shared === lookup.hit) return sendHit(req, res, shared, lookup.stale ? 'while-revalidate' : false, lookup.expiresAt);
      return sendEntry(req, res, shared, { kind: 'stored', entry: shared, revalidated: false, collapsed: true });
    }
    answer(await run());
  }

  return (req, res) => {
    const requestId = (req.headers['x-request-id'] as string | undefined)?.slice(0, 64) || randomUUID();
    res.setHeader('x-request-id', requestId);
    const url = new URL(req.url ?? '/', 'http://localhost');
    options.observe?.(req, res, requestId, url.pathname); // request log and metrics
    const run = async () => {
      if (options.cors?.(req, res)) return; // a preflight, answered: CORS before CSRF and every other check
      // Issue 5: the same nesting bound for GET's variables and extensions as for POST bodies.
      if (url.pathname === '/graphql' && jsonNestedDeeperThan(`${url.searchParams.get('variables') ?? ''}${url.searchParams.get('extensions') ?? ''}`)) {
        return graphqlError(res, 400, `The variables or extensions nest JSON deeper than ${MAX_JSON_DEPTH} levels.`, 'BAD_REQUEST');
      }
      switch (url.pathname) {
        case '/graphql':
          return handleGraphQL(req, res, url, requestId);
        case '/health':
          return sendJson(res, 200, { status: 'ok', uptimeSeconds: Math.round(process.uptime()), pid: process.pid });
        case '/ready': {
          const report = await checkReadiness(options.readiness);
          return sendJson(res, report.status === 'ready' ? 200 : 503, report, { 'cache-control': 'no-store' });
        }
        case '/metrics': {
          // Prometheus text format (observability/metrics.ts).
          if (!options.metrics) return sendJson(res, 404, { error: 'Metrics are not enabled.' });
          const text = await options.metrics.scrape();
          res.writeHead(200, { 'content-type': options.metrics.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
          return void res.end(text);
        }
        default:
          // The live dashboard page: /dashboard and the files under it (http/static.ts).
          if (options.dashboard && (url.pathname === '/dashboard' || url.pathname.startsWith('/dashboard/'))) return options.dashboard(req, res, url.pathname);
          if (options.graphiql && (url.pathname === '/graphiql' || url.pathname.startsWith('/graphiql/'))) return options.graphiql(req, res, url.pathname);
          return sendJson(res, 404, { error: `No route for ${url.pathname}. GraphQL lives at /graphql.` });
      }
    };
    run().catch((err: unknown) => {
      logger.error({ err, requestId }, 'unhandled error in http handler');
      if (!res.headersSent) graphqlError(res, 500, 'Internal server error.', 'INTERNAL_SERVER_ERROR');
      else res.destroy();
    });
  };
}
