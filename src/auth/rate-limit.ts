// Rate limits shared by every instance (per user and per client address): rate-limiter-flexible's Redis
// limiter on our ioredis client, its memory limiter without Redis. Redis trouble never
// fails a request (every query and mutation must still succeed from PostgreSQL while Redis is down): a call that errors or takes longer than timeoutMs is decided
// by an in-process limiter instead (RLWrapperTimeouts + insuranceLimiter), so during an
// outage each instance limits on its own.
import { GraphQLError, getArgumentValues, Kind, type DocumentNode, type FieldNode, type GraphQLSchema, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, RLWrapperTimeouts, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { ErrorCode } from '../graphql/errors.js';
import type { ClientInfo, RequestState } from '../graphql/request-state.js';
import type { RedisClient } from '../redis/client.js';

export interface RateLimitVerdict {
  allowed: boolean;
  /** Points per window. */
  limit: number;
  remaining: number;
  /** Seconds until the next point is available (≥ 1 when refused). */
  retryAfterSeconds: number;
}

export interface RateLimiter {
  /** Takes one point from `key`'s budget. Never rejects: store failures fall back to process memory. */
  consume(key: string): Promise<RateLimitVerdict>;
}

export interface RateLimiterOptions {
  /** Shared budgets across instances when given; null: this process only. */
  redis: RedisClient | null;
  /** Redis key prefix, e.g. `lifeline:rl:req:`. */
  keyPrefix: string;
  /** Points per window. */
  points: number;
  /** Window length in seconds. Default 60. */
  durationSeconds?: number;
  /** Longest a Redis call may take before the in-process limiter decides. Default 150 ms. */
  timeoutMs?: number;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const duration = options.durationSeconds ?? 60;
  const points = options.points;
  const memory = new RateLimiterMemory({ keyPrefix: options.keyPrefix, points, duration });
  let limiter: RateLimiterAbstract = memory;
  if (options.redis) {
    const shared = new RateLimiterRedis({
      storeClient: options.redis,
      keyPrefix: options.keyPrefix,
      points,
      duration,
      // A disconnected client fails at once (to the insurance limiter) instead of waiting.
      rejectIfRedisNotReady: true,
      // A key past its budget is refused from memory for the rest of its window: a flood
      // from one client costs no Redis round trips.
      inMemoryBlockOnConsumed: points + 1,
    });
    limiter = new RLWrapperTimeouts({ limiter: shared, timeoutMs: options.timeoutMs ?? 150, insuranceLimiter: memory });
  }
  const verdict = (res: RateLimiterRes, allowed: boolean): RateLimitVerdict => ({
    allowed,
    limit: points,
    remaining: Math.max(0, res.remainingPoints),
    retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
  });
  return {
    async consume(key) {
      try {
        return verdict(await limiter.consume(key), true);
      } catch (err) {
        if (err instanceof RateLimiterRes) return verdict(err, false);
        // Both stores failed (cannot happen with a memory insurance limiter): fail open.
        return { allowed: true, limit: points, remaining: points, retryAfterSeconds: 0 };
      }
    },
  };
}

/** The GraphQL error of a refused request: RATE_LIMITED, retryAfter seconds, HTTP 429 with Retry-After. */
export function rateLimitedError(verdict: RateLimitVerdict, what = 'Too many requests'): GraphQLError {
  return new GraphQLError(`${what}: try again in ${verdict.retryAfterSeconds} s.`, {
    extensions: {
      code: ErrorCode.RATE_LIMITED,
      retryAfter: verdict.retryAfterSeconds,
      http: { status: 429, headers: new HeaderMap([['retry-after', String(verdict.retryAfterSeconds)]]) },
    },
  });
}

// ---------------------------------------------------------------- login and register

/** The part of an operation's context the credential limiter reads: the request state every copy of it shares. */
export interface ClientContext {
  request: Pick<RequestState, 'client'>;
}

export interface CredentialLimiter {
  /**
   * The Apollo plugin that checks `login` (per client address and email) and `register` (per
   * client address) before they run. The address is the request state's, set by the transport.
   */
  plugin: ApolloServerPlugin<ClientContext>;
  /**
   * The same check for a transport that executes without Apollo (graphql-ws): takes the points of
   * an operation's login and register fields; throws RATE_LIMITED when a budget is spent.
   */
  check(operation: CredentialOperation): Promise<void>;
}

/** A parsed, validated operation and who sent it. */
export interface CredentialOperation {
  schema: GraphQLSchema;
  document: DocumentNode;
  operation: OperationDefinitionNode | null | undefined;
  variables: Record<string, unknown> | null | undefined;
  client: ClientInfo | null;
}

/**
 * Login and register are limited harder than other requests: each costs a memory-hard
 * password hash, and login is what a password guesser repeats. Checked in
 * didResolveOperation, i.e. after parsing and persisted-query lookup, so an APQ hash or
 * an alias (`a: login(...) b: login(...)`) is counted like a plain query: every login field
 * of an operation takes one point.
 */
export function createCredentialLimiter(limiter: RateLimiter): CredentialLimiter {
  async function check({ schema, document, operation, variables, client }: CredentialOperation): Promise<void> {
    if (operation?.operation !== 'mutation') return;
    const mutationType = schema.getMutationType();
    if (!mutationType) return;
    const fields: FieldNode[] = [];
    const fragments = new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
    const collect = (set: SelectionSetNode, seen: Set<string>) => {
      for (const s of set.selections) {
        if (s.kind === Kind.FIELD) {
          if (s.name.value === 'login' || s.name.value === 'register') fields.push(s);
        } else if (s.kind === Kind.INLINE_FRAGMENT) collect(s.selectionSet, seen);
        else if (!seen.has(s.name.value) && fragments.has(s.name.value)) collect(fragments.get(s.name.value)!.selectionSet, new Set(seen).add(s.name.value));
      }
    };
    collect(operation.selectionSet, new Set());
    if (!fields.length) return;
    const ip = client?.ip ?? 'unknown';
    for (const field of fields) {
      let key = `register|${ip}`;
      if (field.name.value === 'login') {
        let email = '';
        try {
          const args = getArgumentValues(mutationType.getFields().login!, field, variables ?? {});
          email = String(args.email ?? '').trim().toLowerCase();
        } catch {
          // Bad arguments fail in execution with their own error; count them under the IP alone.
        }
        key = `login|${ip}|${email}`;
      }
      const verdict = await limiter.consume(key);
      if (!verdict.allowed) {
        throw rateLimitedError(verdict, field.name.value === 'login' ? 'Too many sign-in attempts for this account' : 'Too many registrations from this address');
      }
    }
  }
  const plugin: ApolloServerPlugin<ClientContext> = {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, schema, request, contextValue }) {
          // Read through the request state, never keyed by the context object: Apollo hands plugins a copy.
          await check({ schema, document, operation, variables: request.variables, client: contextValue.request.client });
        },
      };
    },
  };
  return { plugin, check };
}
