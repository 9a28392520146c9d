import { dummyPasswordHash, hashPassword, verifyPassword } from '../../auth/passwords.js';
import { unauthenticated } from '../../graphql/errors.js';
import type { GraphQLContext } from '../../graphql/context.js';
import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import { requireViewer } from '../../graphql/guards.js';
import { email, password, phone, text } from '../../graphql/validate.js';
import { userByEmail, userById } from './repository.js';
import { registerDonor } from './writes.js';

const session = (u: { id: number; role: 'DONOR' | 'STAFF' | 'ADMIN'; donorId: number | null }) => ({
  id: u.id,
  role: u.role,
  donorId: u.donorId,
});

/**
 * The rest of an auth mutation's response (AuthPayload.donor and its PRIVATE
 * fields) is resolved as the account that just signed in.
 */
async function signInAs(ctx: GraphQLContext, accessToken: string): Promise<void> {
  ctx.viewer = await ctx.services.auth.authenticate(`Bearer ${accessToken}`);
}

export const authResolvers: Resolvers = {
  Mutation: {
    register: async (_p, { input }, ctx) => {
      const { services } = ctx;
      const values = {
        email: email('input.email', input.email),
        name: text('input.name', input.name, { max: 100 }),
        region: text('input.region', input.region, { max: 100 }),
        city: text('input.city', input.city, { max: 100 }),
        phone: input.phone == null ? null : phone('input.phone', input.phone),
        bloodGroup: input.bloodGroup,
        passwordHash: await hashPassword(password('input.password', input.password)),
      };
      const created = await services.write.one(registerDonor(values), { field: 'input.email' });
      const tokens = await services.auth.issueSession(session(created.user), { userAgent: ctx.request.client?.userAgent });
      await signInAs(ctx, tokens.accessToken);
      return { ...tokens, donorId: created.donor.id };
    },
    login: async (_p, args, ctx) => {
      const { services } = ctx;
      const user = await userByEmail(services.database.db, args.email.trim().toLowerCase());
      // Hash even for unknown emails so response time does not reveal which accounts exist.
      const ok = await verifyPassword(args.password, user?.passwordHash ?? (await dummyPasswordHash()));
      if (!user || !ok) throw unauthenticated('Email or password is wrong.');
      const tokens = await services.auth.issueSession(session(user), { userAgent: ctx.request.client?.userAgent });
      await signInAs(ctx, tokens.accessToken);
      return { ...tokens, donorId: user.donorId };
    },
    refreshToken: async (_p, { token }, ctx) => {
      const { services } = ctx;
      const db = services.database.db;
      const { tokens, userId } = await services.auth.refresh(token, async (id) => {
        const u = await userById(db, id);
        return u && session(u);
      });
      const user = await userById(db, userId);
      await signInAs(ctx, tokens.accessToken);
      return { ...tokens, donorId: user?.donorId ?? null };
    },
    logout: async (_p, _a, { viewer, services }) => {
      const v = requireViewer(viewer);
      await services.auth.revokeSession(v.sessionId);
      // Closes the session's open WebSocket subscriptions on every instance (http/ws.ts).
      await services.publish([{ topic: 'sessionRevoked', sessionId: v.sessionId }]);
      return true;
    },
    logoutEverywhere: async (_p, _a, { viewer, services }) => {
      const v = requireViewer(viewer);
      const ids = await services.auth.revokeAllSessions(v.userId);
      // The current session too, even if its index entry was lost.
      if (!ids.includes(v.sessionId)) {
        await services.auth.revokeSession(v.sessionId);
        ids.push(v.sessionId);
      }
      // Each session's open WebSocket subscriptions close on every instance (http/ws.ts).
      await services.publish(ids.map((sessionId) => ({ topic: 'sessionRevoked' as const, sessionId })));
      return true;
    },
    revokeSession: async (_p, { id }, { viewer, services }) => {
      const v = requireViewer(viewer);
      if (!(await services.auth.revokeUserSession(v.userId, id))) return false;
      await services.publish([{ topic: 'sessionRevoked', sessionId: id }]);
      return true;
    },
  },
  Query: {
    mySessions: async (_p, _a, { viewer, services }) => {
      const v = requireViewer(viewer);
      const sessions = await services.auth.listSessions(v.userId);
      return sessions.map((s) => ({
        id: s.sessionId,
        device: s.device,
        createdAt: new Date(s.createdAt),
        lastUsedAt: new Date(s.lastUsedAt),
        current: s.sessionId === v.sessionId,
      }));
    },
  },
  AuthPayload: {
    donor: (p, _a, { loaders }) => (p.donorId ? loaders.donor.load(p.donorId) : null),
  },
};
