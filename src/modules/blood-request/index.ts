import { defineModule } from '../module.js';
import { bloodRequestDeclarations } from './cache.js';
import { createBloodRequestLoaders } from './loaders.js';
import { bloodRequestResolvers } from './resolvers.js';
import { bloodRequestSubscriptions } from './subscriptions.js';

export const bloodRequestModule = defineModule({
  name: 'blood-request',
  resolvers: bloodRequestResolvers,
  subscriptions: bloodRequestSubscriptions,
  loaders: createBloodRequestLoaders,
  cache: bloodRequestDeclarations,
});
