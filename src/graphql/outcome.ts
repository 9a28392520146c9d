import { GraphQLError } from 'graphql';
import { badInput, ErrorCode } from './errors.js';

/** Turns a write's refusal into the GraphQL error a client sees. */
export function refusal(outcome: { reason: string; message: string }, field?: string): GraphQLError {
  if (outcome.reason === 'not-found') return new GraphQLError(outcome.message, { extensions: { code: ErrorCode.NOT_FOUND } });
  return badInput(outcome.message, field);
}
