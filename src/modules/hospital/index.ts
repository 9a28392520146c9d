import { defineModule } from '../module.js';
import { hospitalDeclarations } from './cache.js';
import { createHospitalLoaders } from './loaders.js';
import { hospitalResolvers } from './resolvers.js';

export const hospitalModule = defineModule({ name: 'hospital', resolvers: hospitalResolvers, loaders: createHospitalLoaders, cache: hospitalDeclarations });
