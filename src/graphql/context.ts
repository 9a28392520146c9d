// The per-operation context: a fresh set of loaders for every HTTP request and
// every WebSocket operation (DataLoader caches must never outlive one operation).
import type { AuthService, Viewer } from '../auth/types.js';
import type { Database } from '../db/client.js';
import type { Logger } from '../observability/logger.js';
import type { AfterCommit } from '../after-commit.js';
import { createLoaders, type Loaders } from './loaders.js';

/** Long-lived services shared by every operation of one app instance. */
export interface AppServices {
  database: Database;
  auth: AuthService;
  logger: Logger;
  afterCommit: AfterCommit;
  /** Drops cached entries of a type, or of one entity; returns how many were removed. */
  purgeCache(type: string, id: string | null): Promise<number>;
  /** The current time; injectable so rules like eligibility can be tested. */
  now(): Date;
}

export interface GraphQLContext {
  requestId: string;
  viewer: Viewer | null;
  loaders: Loaders;
  services: AppServices;
}

export function createContext(services: AppServices, viewer: Viewer | null, requestId: string): GraphQLContext {
  return { requestId, viewer, loaders: createLoaders(services.database.db), services };
}
