// The one list of modules. src/graphql/ builds the schema's resolvers, the per-operation loaders
// and the response taggers from it; the cache registry (what purgeCache accepts, which tags a
// write of a row moves) is every module's declarations together.
import { cacheRegistry } from '../cache/declare.js';
import { adminModule } from './admin/index.js';
import { authModule } from './auth/index.js';
import { bloodRequestModule } from './blood-request/index.js';
import { campaignModule } from './campaign/index.js';
import { dashboardModule } from './dashboard/index.js';
import { donationModule } from './donation/index.js';
import { donorModule } from './donor/index.js';
import { hospitalModule } from './hospital/index.js';
import { inventoryModule } from './inventory/index.js';

export const modules = [
  donorModule,
  hospitalModule,
  inventoryModule,
  bloodRequestModule,
  campaignModule,
  donationModule,
  dashboardModule,
  authModule,
  adminModule,
] as const;

/** Every cached type, aggregate and list, checked for clashes; taggers and purge tags derive from it. */
export const cacheDeclarations = cacheRegistry(modules.flatMap((m) => m.cache ?? []));
