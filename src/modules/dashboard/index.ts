import { defineModule } from '../module.js';
import { dashboardDeclarations } from './cache.js';
import { dashboardResolvers } from './resolvers.js';
import { dashboardSubscriptions } from './subscriptions.js';

export const dashboardModule = defineModule({ name: 'dashboard', resolvers: dashboardResolvers, subscriptions: dashboardSubscriptions, cache: dashboardDeclarations });
