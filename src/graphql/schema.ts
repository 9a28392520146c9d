// The executable schema: SDL from schema/*.graphql plus every module's resolvers.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import { adminResolvers } from '../modules/admin/resolvers.js';
import { authResolvers } from '../modules/auth/resolvers.js';
import { bloodRequestResolvers } from '../modules/blood-request/resolvers.js';
import { campaignResolvers } from '../modules/campaign/resolvers.js';
import { dashboardResolvers } from '../modules/dashboard/resolvers.js';
import { donationResolvers } from '../modules/donation/resolvers.js';
import { donorResolvers } from '../modules/donor/resolvers.js';
import { hospitalResolvers } from '../modules/hospital/resolvers.js';
import { inventoryResolvers } from '../modules/inventory/resolvers.js';
import { bloodRequestSubscriptions } from '../modules/blood-request/subscriptions.js';
import { dashboardSubscriptions } from '../modules/dashboard/subscriptions.js';
import { donationSubscriptions } from '../modules/donation/subscriptions.js';
import { inventorySubscriptions } from '../modules/inventory/subscriptions.js';
import { connectionResolvers } from './connection.js';
import type { Resolvers } from './generated/resolvers-types.js';
import { DateTime } from './scalars.js';

/** schema/ at the project root, whether running from src/ (tsx, jest) or dist/src/ (build). */
export const SCHEMA_DIR = path.resolve(__dirname, '..', '..', ...(__dirname.includes(`${path.sep}dist${path.sep}`) ? ['..'] : []), 'schema');

export function loadTypeDefs(dir = SCHEMA_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.graphql'))
    .sort()
    .map((f) => readFileSync(path.join(dir, f), 'utf8'));
}

const sharedResolvers: Resolvers = {
  DateTime,
  DonorConnection: connectionResolvers,
  DonationConnection: connectionResolvers,
  BloodRequestConnection: connectionResolvers,
};

export const resolvers: Resolvers[] = [
  sharedResolvers,
  donorResolvers,
  hospitalResolvers,
  inventoryResolvers,
  bloodRequestResolvers,
  campaignResolvers,
  donationResolvers,
  dashboardResolvers,
  authResolvers,
  adminResolvers,
  // Subscription fields (served over WebSocket; see http/ws.ts and pubsub/live.ts).
  inventorySubscriptions,
  bloodRequestSubscriptions,
  donationSubscriptions,
  dashboardSubscriptions,
];

export function buildSchema(extraResolvers: Resolvers[] = []): GraphQLSchema {
  return makeExecutableSchema({
    typeDefs: loadTypeDefs(),
    resolvers: [...resolvers, ...extraResolvers] as never,
    resolverValidationOptions: { requireResolversToMatchSchema: 'error' },
  });
}
