import { defineModule } from '../module.js';
import { inventoryDeclarations } from './cache.js';
import { createInventoryLoaders } from './loaders.js';
import { inventoryResolvers } from './resolvers.js';
import { inventorySubscriptions } from './subscriptions.js';

export const inventoryModule = defineModule({
  name: 'inventory',
  resolvers: inventoryResolvers,
  subscriptions: inventorySubscriptions,
  loaders: createInventoryLoaders,
  cache: inventoryDeclarations,
});
