// Two jobs on cache misses: tag the response with every entity it contains (so a
// response built from entity-cache hits is fenced by their tags too), and record
// the operation's outcome (type, cache policy, errors) for the response cache.
import type { ApolloServerPlugin } from '@apollo/server';
import { getNamedType } from 'graphql';
import type { GraphQLContext } from './context.js';

/** Maps a GraphQL object type to the tags of one of its values. */
export type Taggers = Record<string, (value: never) => string[]>;

export function cachePlugin(taggers: Taggers): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async executionDidStart() {
          return {
            willResolveField({ contextValue, info }) {
              const tags = contextValue.cache?.scope.tags;
              const tagger = tags && taggers[getNamedType(info.returnType).name];
              if (!tagger) return;
              return (error, result) => {
                if (error || result == null) return;
                for (const item of Array.isArray(result) ? result : [result]) {
                  if (item != null) for (const t of tagger(item as never)) tags.add(t);
                }
              };
            },
          };
        },
        async willSendResponse({ contextValue, operation, overallCachePolicy, response }) {
          const body = response.body;
          const errors = body.kind === 'single' ? (body.singleResult.errors ?? []) : [];
          const policy = overallCachePolicy.policyIfCacheable();
          // Apollo shallow-copies the context per operation: write into the request state every copy shares.
          contextValue.request.outcome = {
            operation: operation?.operation ?? null,
            policy: policy ? { maxAge: policy.maxAge, scope: policy.scope ?? 'PUBLIC' } : null,
            errorCodes: errors.map((e) => String(e.extensions?.code ?? 'INTERNAL_SERVER_ERROR')),
          };
        },
      };
    },
  };
}
