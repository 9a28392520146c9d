import { defineModule } from '../module.js';
import { campaignDeclarations } from './cache.js';
import { createCampaignLoaders } from './loaders.js';
import { campaignResolvers } from './resolvers.js';

export const campaignModule = defineModule({ name: 'campaign', resolvers: campaignResolvers, loaders: createCampaignLoaders, cache: campaignDeclarations });
