import { defineModule } from '../module.js';
import { adminResolvers } from './resolvers.js';

export const adminModule = defineModule({ name: 'admin', resolvers: adminResolvers });
