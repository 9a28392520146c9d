import { GraphQLError } from 'graphql';
import { badInput, ErrorCode } from './errors.js';

/** Turns a write's refusal into the GraphQL error a client sees: NOT_FOUND, or BAD_USER_INPUT naming the field. */
export function refusalError(refusal: { reason: string; message: string; extensions?: Record<string, unknown> }, field?: string): GraphQLError {
  if (refusal.reason === 'not-found') return new GraphQLError(refusal.message, { extensions: { code: ErrorCode.NOT_FOUND, ...refusal.extensions } });
  const error = badInput(refusal.message, field);
  Object.assign(error.extensions, refusal.extensions);
  return error;
}

/**
 * The write committed, but its invalidation could not be confirmed on every instance that serves
 * from the shared cache: another instance may answer with the previous data until `visibleBy`.
 * Never retried blindly by the server; the client must not treat it as "nothing happened".
 */
export function invalidationPending(visibleBy: Date): GraphQLError {
  return new GraphQLError(
    `The change is committed, but other servers may show the previous data until ${visibleBy.toISOString()}. Do not repeat it.`,
    { extensions: { code: ErrorCode.INVALIDATION_PENDING, committed: true, visibleBy: visibleBy.toISOString() } },
  );
}
