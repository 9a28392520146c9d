import { defineModule } from '../module.js';
import { donationDeclarations } from './cache.js';
import { createDonationLoaders } from './loaders.js';
import { donationResolvers } from './resolvers.js';
import { donationSubscriptions } from './subscriptions.js';

export const donationModule = defineModule({
  name: 'donation',
  resolvers: donationResolvers,
  subscriptions: donationSubscriptions,
  loaders: createDonationLoaders,
  cache: donationDeclarations,
});
