// The executable schema: SDL from schema/*.graphql plus every module's resolvers.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import { modules } from '../modules/index.js';
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
  ...modules.flatMap((m) => [m.resolvers, m.subscriptions].filter((r): r is Resolvers => r !== undefined)),
];

export function buildSchema(extraResolvers: Resolvers[] = []): GraphQLSchema {
  return makeExecutableSchema({
    typeDefs: loadTypeDefs(),
    resolvers: [...resolvers, ...extraResolvers] as never,
    resolverValidationOptions: { requireResolversToMatchSchema: 'error' },
  });
}
