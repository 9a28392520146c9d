// One structured log line and one metrics sample per HTTP request, written when the
// response ends. The HTTP adapter notes what it learns on the way (the operation's name, the
// error codes of the answer) with noteOperation/noteResponse/noteErrors; the rest (status,
// x-cache, duration) is read off the response itself.
//
// Never logged: headers (tokens), the query string (GET variables), bodies and variables
// (passwords, emails, phones). The operation name is the only client text in the line.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

interface RequestRecord {
  operationName: string | null;
  operationType: string | null;
  errorCodes: string[];
}

// Keyed by the response: the record dies with it, and a client-chosen x-request-id cannot mix two up.
const records = new WeakMap<ServerResponse, RequestRecord>();

const NAME = /^[_A-Za-z][_0-9A-Za-z]{0,127}$/;

/**
 * The name of the operation a request runs: its `operationName`, else the name of a document
 * that starts with a named operation (`query Donors { ... }`; no parsing, a cache hit never
 * parses). null when anonymous or unknowable without parsing (e.g. fragments first).
 */
export function requestedOperationName(operationName: unknown, query: string | undefined): string | null {
  if (typeof operationName === 'string' && operationName) return NAME.test(operationName) ? operationName : null;
  const match = query && /^(?:[\s,\uFEFF]|#[^\n\r]*)*(?:query|mutation|subscription)[\s,]+([_A-Za-z][_0-9A-Za-z]{0,127})\b/.exec(query);
  return match ? match[1]! : null;
}

/** The request names its operation (see requestedOperationName). */
export function noteOperation(res: ServerResponse, operation: { operationName?: unknown; query?: string } | null): void {
  const record = records.get(res);
  if (record && operation) record.operationName = requestedOperationName(operation.operationName, operation.query);
}

/** The GraphQL answer: its operation type and error codes (from the cache plugin, else from the body). */
export function noteResponse(res: ServerResponse, outcome: { operation: string | null; errorCodes: string[] } | undefined, body: string): void {
  const record = records.get(res);
  if (!record) return;
  if (outcome) {
    record.operationType = outcome.operation;
    record.errorCodes = outcome.errorCodes;
  } else if (body.includes('"errors"')) {
    // Refused before the operation ran (bad token, CSRF, unparsable request): a small body.
    record.errorCodes = errorCodesOf(body);
  }
}

/** Errors the adapter answered itself (413, bad JSON, ...). */
export function noteErrors(res: ServerResponse, codes: string[]): void {
  const record = records.get(res);
  if (record) record.errorCodes = codes;
}

function errorCodesOf(body: string): string[] {
  try {
    const errors = (JSON.parse(body) as { errors?: { extensions?: { code?: unknown } }[] }).errors ?? [];
    return errors.map((e) => String(e.extensions?.code ?? 'INTERNAL_SERVER_ERROR'));
  } catch {
    return [];
  }
}

/** Routes polled by load balancers and scrapers: logged at debug so they do not drown the rest. */
const QUIET_ROUTES = new Set(['/health', '/ready', '/metrics']);
/** Any other path is logged as "other": a path is client text too. */
const ROUTES = new Set(['/graphql', ...QUIET_ROUTES]);

export type RequestObserver = (req: IncomingMessage, res: ServerResponse, requestId: string, path: string) => void;

/** Starts watching one request; logs it and records its metrics when the response ends. */
export function createRequestObserver({ logger, metrics }: { logger: Logger; metrics?: Metrics }): RequestObserver {
  return (req, res, requestId, path) => {
    const route = ROUTES.has(path) ? path : 'other';
    const started = process.hrtime.bigint();
    const record: RequestRecord = { operationName: null, operationType: null, errorCodes: [] };
    records.set(res, record);
    // 'close' fires whether the response finished or the client went away first.
    res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const status = res.statusCode;
      const cache = (res.getHeader('x-cache') as string | undefined) ?? null;
      if (!record.errorCodes.length && status === 429) record.errorCodes = ['RATE_LIMITED'];
      metrics?.observeRequest({ route, status, operationName: record.operationName, cache, seconds, errorCodes: record.errorCodes });
      const level = status >= 500 ? 'warn' : QUIET_ROUTES.has(route) ? 'debug' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          requestId,
          method: req.method,
          route,
          status,
          ...(record.operationName ? { operationName: record.operationName } : {}),
          ...(record.operationType || cache === 'HIT' ? { operationType: record.operationType ?? 'query' } : {}), // only queries are cached
          ...(cache ? { cache } : {}),
          durationMs: Math.round(seconds * 1e4) / 10,
          ...(record.errorCodes.length ? { errorCodes: record.errorCodes } : {}),
          ...(res.writableFinished ? {} : { aborted: true }),
        },
        'request',
      );
    });
  };
}
