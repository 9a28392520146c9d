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

/** The codes (driver or SQLSTATE) along the error's cause chain. */
function codesOf(err: unknown): string[] {
  const codes: string[] = [];
  // `thrownValue`: graphql wraps a thrown value that is not an `instanceof Error` (e.g. an Error
  // from another realm, as under jest's vm) in NonErrorThrown; the driver's error is inside.
  for (let e: unknown = err, hops = 0; e && hops < 10; e = (e as { cause?: unknown }).cause ?? (e as { thrownValue?: unknown }).thrownValue, hops++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
  }
  return codes;
}

const isDatabaseUnavailable = (err: unknown) => codesOf(err).some((code) => CONNECTION_ERRORS.has(code) || /^08[0-9A-Z]{3}$/.test(code));

// 22021 (character_not_in_repertoire): PostgreSQL refuses the NUL character in text. Only a client
// can put one in an argument, so it is bad input, not a server fault (and the failed statement's
// text must not reach the client).
const isTextEncodingRefusal = (err: unknown) => codesOf(err).includes('22021');

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
    // Apollo's own APQ check for an extension that is not { version: 1, sha256Hash }: the client's mistake too.
    if (formatted.message === 'Unsupported persisted query version') {
      return { message: 'persistedQuery must be { "version": 1, "sha256Hash": "<hex>" }.', extensions: { code: 'PERSISTED_QUERY_NOT_SUPPORTED' } };
    }
    const original = unwrapResolverError(error);
    // The same error at the same place in the result, with a message and code of ours.
    const replaced = (message: string, replacementCode: string): GraphQLFormattedError => ({
      message,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: replacementCode },
    });
    if (isTextEncodingRefusal(original)) return replaced('Text arguments must not contain the NUL character (\\u0000).', ErrorCode.BAD_USER_INPUT);
    if (isDatabaseUnavailable(original)) return replaced('The database is unavailable; try again shortly.', ErrorCode.SERVICE_UNAVAILABLE);
    logger.error({ err: original, path: formatted.path }, 'unexpected error');
    if (!maskInternal) return formatted;
    return replaced('Internal server error.', code);
  };
}
