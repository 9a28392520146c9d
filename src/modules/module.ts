// The shape every module has: what src/graphql/ needs from it, and nothing else. A module owns
// its resolvers, its per-operation loaders, its subscriptions and its cache declarations
// (`cache.ts`); src/modules/index.ts lists the modules, and src/graphql/ iterates that list.
import type { CacheDeclaration } from '../cache/declare.js';
import type { Executor } from '../db/client.js';
import type { Resolvers } from '../graphql/generated/resolvers-types.js';
import type { RequestCache } from '../graphql/request-cache.js';

export interface LifelineModule<L extends object = object> {
  name: string;
  resolvers?: Resolvers;
  /** Subscription fields (served over WebSocket; see http/ws.ts and pubsub/live.ts). */
  subscriptions?: Resolvers;
  /** Fresh per operation: DataLoader memoises for the life of one request only. */
  loaders?: (db: Executor, rc: RequestCache | null) => L;
  /** Every cached type, aggregate and list the module owns, declared once (cache/declare.ts). */
  cache?: readonly CacheDeclaration[];
}

/** Keeps the module's loader type (resolvers see every module's loaders by name). */
export const defineModule = <L extends object>(m: LifelineModule<L>): LifelineModule<L> => m;
