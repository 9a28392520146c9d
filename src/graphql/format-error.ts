import type { GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import type { Logger } from '../observability/logger.js';
import { ErrorCode } from './errors.js';

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'CONNECTION_ENDED', 'CONNECTION_CLOSED', 'CONNECT_TIMEOUT', '57P01', '57P03']);

function isDatabaseUnavailable(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if (CONNECTION_ERRORS.has((e as { code?: string }).code ?? '')) return true;
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
