// One way to prepare an operation, whatever the transport: the source checks made before parsing
// (nesting, APQ hash), parsing with its token bound, validation with the depth and alias limits,
// variable coercion and the cost limit, each failure with the code a client can switch on.
// Over HTTP, Apollo runs the parse/validate/cost steps with the options and rules built here
// (`apolloOptions`, `plugins`) and the HTTP handler applies `checkSource` before it; the WebSocket
// transport, which has no Apollo, calls `prepare` for all of it.
import { createHash } from 'node:crypto';
import type { ApolloServerPlugin } from '@apollo/server';
import {
  getOperationAST,
  getVariableValues,
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ParseOptions,
  type ValidationRule,
} from 'graphql';
import { costError, DEFAULT_OPERATION_LIMITS, fragmentsOf, MAX_TOKENS, measureOperation, operationCostPlugin, operationLimitsRule, type OperationLimits } from './operation-limits.js';

/** Codes of errors found before execution (Apollo's names, so clients see the same code on every transport). */
export const PrepareErrorCode = {
  GRAPHQL_PARSE_FAILED: 'GRAPHQL_PARSE_FAILED',
  GRAPHQL_VALIDATION_FAILED: 'GRAPHQL_VALIDATION_FAILED',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  /** No operation of the requested name, or several and none named. */
  OPERATION_RESOLUTION_FAILURE: 'OPERATION_RESOLUTION_FAILURE',
  /** APQ: extensions.persistedQuery.sha256Hash is not the SHA-256 of the query sent with it. */
  PERSISTED_QUERY_HASH_MISMATCH: 'PERSISTED_QUERY_HASH_MISMATCH',
} as const;

/**
 * Brackets nested deeper than this in a document's text are refused before parsing: graphql's
 * recursive-descent parser would exhaust the stack on a few thousand levels ("Maximum call stack
 * size exceeded") before its token bound is reached. Far above any document the depth limit
 * accepts (fields, input objects and lists together).
 */
export const MAX_TEXT_NESTING = 64;

/** The deepest nesting of { ( [ in a document's text, outside strings and comments; stops counting past `stopAt`. */
export function textNesting(source: string, stopAt = MAX_TEXT_NESTING): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (c === 0x23 /* # */) {
      while (i < source.length && source[i] !== '\n' && source[i] !== '\r') i++;
    } else if (c === 0x22 /* " */) {
      if (source.startsWith('"""', i)) {
        const end = source.indexOf('"""', i + 3);
        i = end < 0 ? source.length : end + 2;
      } else {
        for (i++; i < source.length && source[i] !== '"' && source[i] !== '\n'; i++) if (source[i] === '\\') i++;
      }
    } else if (c === 0x7b || c === 0x28 || c === 0x5b) {
      if (++depth > max && (max = depth) > stopAt) return max;
    } else if (c === 0x7d || c === 0x29 || c === 0x5d) {
      depth = Math.max(0, depth - 1);
    }
  }
  return max;
}

const withCode = (error: GraphQLError, code: string) =>
  new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, originalError: error.originalError, extensions: { ...error.extensions, code } });

export interface SourceToCheck {
  query?: string;
  apqHash?: string;
}

export type Prepared = { document: DocumentNode; operation: OperationDefinitionNode | null; errors?: undefined } | { errors: GraphQLError[] };

export interface OperationPreparation {
  /** For `new ApolloServer({...})`: the same parse bound and validation rules as `prepare`. */
  apolloOptions: { parseOptions: ParseOptions; validationRules: ValidationRule[] };
  /** For Apollo's `plugins`: the cost limit once the variables are known. */
  plugins: ApolloServerPlugin<object>[];
  /** Checks made on the text before anything parses it (HTTP does these before Apollo, and before its cache). */
  checkSource(source: SourceToCheck): GraphQLError | null;
  /** The whole preparation, for transports without Apollo (the WebSocket). `document` may come from a cache. */
  prepare(request: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null; apqHash?: string }, document?: DocumentNode): Prepared;
  /** Parse and validate only (variables not needed): what may be cached per document text. */
  parseAndValidate(query: string): DocumentNode | GraphQLError[];
}

export function createOperationPreparation(schema: GraphQLSchema, limits: OperationLimits = DEFAULT_OPERATION_LIMITS): OperationPreparation {
  const parseOptions: ParseOptions = { maxTokens: MAX_TOKENS };
  const validationRules = [operationLimitsRule(limits)];

  const checkSource = ({ query, apqHash }: SourceToCheck): GraphQLError | null => {
    if (query === undefined) return null;
    if (apqHash !== undefined && createHash('sha256').update(query).digest('hex') !== apqHash) {
      return new GraphQLError('The persisted query hash (extensions.persistedQuery.sha256Hash) is not the SHA-256 of the query sent with it.', {
        extensions: { code: PrepareErrorCode.PERSISTED_QUERY_HASH_MISMATCH },
      });
    }
    const nesting = textNesting(query);
    if (nesting > MAX_TEXT_NESTING) {
      // The depth limit's error: a document this deep is over it, whichever brackets nest.
      return new GraphQLError(`The operation is nested more than ${MAX_TEXT_NESTING} levels deep; at most ${limits.maxDepth} fields deep are allowed.`, {
        extensions: { code: PrepareErrorCode.GRAPHQL_VALIDATION_FAILED, limit: 'depth', max: limits.maxDepth, actual: `>${MAX_TEXT_NESTING}` },
      });
    }
    return null;
  };

  const parseAndValidate = (query: string): DocumentNode | GraphQLError[] => {
    const refused = checkSource({ query });
    if (refused) return [refused];
    let document: DocumentNode;
    try {
      document = parse(query, parseOptions);
    } catch (err) {
      const error = err instanceof GraphQLError ? err : new GraphQLError(String((err as Error)?.message ?? err));
      return [withCode(error, PrepareErrorCode.GRAPHQL_PARSE_FAILED)];
    }
    const errors = validate(schema, document, [...specifiedRules, ...validationRules]);
    if (errors.length) return errors.map((e) => withCode(e, PrepareErrorCode.GRAPHQL_VALIDATION_FAILED));
    return document;
  };

  const prepare: OperationPreparation['prepare'] = (request, known) => {
    const refused = checkSource({ query: request.query, apqHash: request.apqHash });
    if (refused) return { errors: [refused] };
    const document = known ?? parseAndValidate(request.query);
    if (Array.isArray(document)) return { errors: document };
    const operation = getOperationAST(document as DocumentNode, request.operationName);
    if (!operation) {
      const message = request.operationName ? `Unknown operation named "${request.operationName}".` : 'Must provide an operation name when the document holds several operations.';
      return { errors: [new GraphQLError(message, { extensions: { code: PrepareErrorCode.OPERATION_RESOLUTION_FAILURE } })] };
    }
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], request.variables ?? {}, { maxErrors: 50 });
    if (coerced.errors) return { errors: coerced.errors.map((e) => withCode(e, PrepareErrorCode.BAD_USER_INPUT)) };
    const m = measureOperation(schema, fragmentsOf(document as DocumentNode), operation, limits, request.variables ?? {});
    if (m.cost > limits.maxCost) return { errors: [costError(operation, m.cost, limits)] };
    return { document: document as DocumentNode, operation };
  };

  return {
    apolloOptions: { parseOptions, validationRules },
    plugins: [operationCostPlugin(limits)],
    checkSource,
    prepare,
    parseAndValidate,
  };
}
