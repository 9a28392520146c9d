import { defineModule } from '../module.js';
import { donorDeclarations } from './cache.js';
import { createDonorLoaders } from './loaders.js';
import { donorResolvers } from './resolvers.js';

export const donorModule = defineModule({ name: 'donor', resolvers: donorResolvers, loaders: createDonorLoaders, cache: donorDeclarations });
