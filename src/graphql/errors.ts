import { GraphQLError } from 'graphql';

/** Every error a client can see carries one of these in extensions.code. */
export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  RATE_LIMITED: 'RATE_LIMITED',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  /** A mutation committed, but other instances may show the previous data for a bounded time (extensions.visibleBy). */
  INVALIDATION_PENDING: 'INVALIDATION_PENDING',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

function coded(code: ErrorCode, message: string, extra: Record<string, unknown> = {}) {
  return new GraphQLError(message, { extensions: { code, ...extra } });
}

export const unauthenticated = (message = 'Sign in first: send a valid access token as "Authorization: Bearer <token>".') =>
  coded(ErrorCode.UNAUTHENTICATED, message);
export const forbidden = (message = 'Your role may not do this.') => coded(ErrorCode.FORBIDDEN, message);
export const badInput = (message: string, field?: string) =>
  coded(ErrorCode.BAD_USER_INPUT, message, field ? { field } : {});
export const notFound = (type: string, id: string) => coded(ErrorCode.NOT_FOUND, `${type} ${id} does not exist.`, { type, id });
export const serviceUnavailable = (message: string) => coded(ErrorCode.SERVICE_UNAVAILABLE, message);
