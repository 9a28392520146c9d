import type { GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import type { Logger } from '../observability/logger.js';
import { ErrorCode } from './errors.js';

// Issue 5: also a connection destroyed mid-query, a hung server's statement_timeout (57014),
// crash shutdown (57P02), too many connections (53300) and SQLSTATE class 08 (connection exception).
const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH',
  'CONNECTION_ENDED', 'CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT',
  '57P01', '57P02', '57P03', '57014', '53300',
]);

function isDatabaseUnavailable(err: unknown): boolean {
  // `thrownValue`: graphql wraps a thrown value that is not an `instanceof Error` (e.g. an Error
  // from another realm, as under jest's vm) in NonErrorThrown; the driver's error is inside.
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause ?? (e as { thrownValue?: unknown }).thrownValue) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (CONNECTION_ERRORS.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
  }
  return false;
}

/**
 * Errors we raised on purpose keep their message and code. Anything unexpected is
 * logged in full and, outside development, reaches the client as a bare
 * INTERNAL_SERVER_ERROR so no SQL or stack detail leaks.
 */
export function formatError({ maskInternal, logger }: { maskInternal: boolean; logger: Logger }) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = formatted.extensions?.code;
    if (code !== ErrorCode.INTERNAL_SERVER_ERROR) return formatted;
    // Apollo's own APQ check raises this without a code: it is the client's mistake, not ours.
    if (formatted.message === 'provided sha does not match query') {
      return { message: formatted.message, extensions: { code: 'PERSISTED_QUERY_HASH_MISMATCH' } };
    }
    const original = unwrapResolverError(error);
    if (isDatabaseUnavailable(original)) {
      return {
        message: 'The database is unavailable; try again shortly.',
        locations: formatted.locations,
        path: formatted.path,
        extensions: { code: ErrorCode.SERVICE_UNAVAILABLE },
      };
    }
    logger.error({ err: original, path: formatted.path }, 'unexpected error');
    if (!maskInternal) return formatted;
    return { message: 'Internal server error.', locations: formatted.locations, path: formatted.path, extensions: { code } };
  };
}
