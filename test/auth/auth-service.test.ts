// AuthService against both session stores (one contract suite), then what needs real Redis:
// two instances sharing one server, key TTLs, and Redis going away.
import { GraphQLError } from 'graphql';
import { createAuthService, type AuthServiceOptions } from '../../src/auth/auth-service.js';
import { createMemorySessionStore, createRedisSessionStore, type SessionStore } from '../../src/auth/session-store.js';
import { newRefreshToken, signAccessToken } from '../../src/auth/tokens.js';
import type { AuthService, TokenPair } from '../../src/auth/types.js';
import type { Role } from '../../src/db/schema.js';
import { createLogger } from '../../src/observability/logger.js';
import { createRedisClient, waitForRedis, type RedisClient } from '../../src/redis/client.js';
import { startPrivateRedis, testRedisUrl, uniqueCachePrefix, type PrivateRedis } from '../helpers/redis.js';
import { ttlsUnder } from './redis-keys.js';

const SECRET = 'test-secret-for-lifeline-auth-0123456789abcdef';
const ACCESS_TTL = 900;
const SESSION_TTL = 30 * 86_400;
const logger = createLogger('silent');

type User = { id: number; role: Role; donorId: number | null };
const donor: User = { id: 11, role: 'DONOR', donorId: 101 };
const staff: User = { id: 12, role: 'STAFF', donorId: null };

function service(store: SessionStore, extra: Partial<AuthServiceOptions> = {}): AuthService {
  return createAuthService({
    store,
    secret: SECRET,
    accessTokenTtlSeconds: ACCESS_TTL,
    refreshTokenTtlSeconds: SESSION_TTL,
    logger,
    ...extra,
  });
}

const bearer = (t: TokenPair | string) => `Bearer ${typeof t === 'string' ? t : t.accessToken}`;
const users = (...list: User[]) => async (id: number) => list.find((u) => u.id === id) ?? null;

/** Awaits a rejection and checks it is a GraphQLError with this extensions.code (and message). */
async function expectCode(promise: Promise<unknown>, code: string, message?: RegExp): Promise<GraphQLError> {
  const err = await promise.then(
    () => {
      throw new Error(`expected a ${code} error, got success`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GraphQLError);
  const gqlErr = err as GraphQLError;
  expect(gqlErr.extensions.code).toBe(code);
  if (message) expect(gqlErr.message).toMatch(message);
  return gqlErr;
}

interface Backend {
  /** Two service instances sharing one session store backend (two Redis connections for Redis). */
  open(): { a: AuthService; b: AuthService };
}

function authServiceContract(backend: Backend) {
  let a: AuthService;
  let b: AuthService;
  beforeEach(() => {
    ({ a, b } = backend.open());
  });

  it('issues a session whose access token authenticates as the user', async () => {
    const tokens = await a.issueSession(donor);
    const viewer = await b.authenticate(bearer(tokens));
    expect(viewer).toEqual({ userId: 11, role: 'DONOR', donorId: 101, sessionId: expect.any(String) });
    expect(await a.authenticate(`bearer   ${tokens.accessToken}  `)).toEqual(viewer);
    const staffViewer = await a.authenticate(bearer(await a.issueSession(staff)));
    expect(staffViewer).toMatchObject({ userId: 12, role: 'STAFF', donorId: null });
    expect(staffViewer!.sessionId).not.toBe(viewer!.sessionId);
  });

  it('treats a missing or empty header as anonymous', async () => {
    for (const header of [undefined, null, '', '   ']) expect(await a.authenticate(header)).toBeNull();
  });

  it('refuses headers that are not "Bearer <token>"', async () => {
    const { accessToken } = await a.issueSession(donor);
    for (const header of [accessToken, `Basic ${accessToken}`, 'Bearer', 'Bearer ', `Bearer ${accessToken} extra`]) {
      await expectCode(a.authenticate(header), 'UNAUTHENTICATED', /Malformed Authorization header/);
    }
    // WebSocket connectionParams are arbitrary JSON.
    await expectCode(a.authenticate({ token: accessToken } as unknown as string), 'UNAUTHENTICATED', /Malformed/);
  });

  it('refuses tampered, foreign and expired access tokens, saying which', async () => {
    const { accessToken } = await a.issueSession(donor);
    const [h, p, s] = accessToken.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const escalated = Buffer.from(JSON.stringify({ ...payload, role: 'ADMIN' })).toString('base64url');
    await expectCode(a.authenticate(bearer(`${h}.${escalated}.${s}`)), 'UNAUTHENTICATED', /Invalid access token/);
    await expectCode(a.authenticate(bearer('garbage')), 'UNAUTHENTICATED', /Invalid access token/);

    const claims = { userId: 11, role: 'DONOR' as const, donorId: 101, sessionId: payload.sid };
    const foreign = await signAccessToken(claims, { secret: `${SECRET}-other`, ttlSeconds: 60 });
    await expectCode(a.authenticate(bearer(foreign)), 'UNAUTHENTICATED', /Invalid access token/);

    const expired = await signAccessToken(claims, { secret: SECRET, ttlSeconds: 60, now: new Date(Date.now() - 3_600_000) });
    await expectCode(a.authenticate(bearer(expired)), 'UNAUTHENTICATED', /expired.*refreshToken/);
  });

  it('rotates refresh tokens: the new pair works, the old refresh token is refused, role comes from the database', async () => {
    const first = await a.issueSession(donor);
    const before = await a.authenticate(bearer(first));
    const promoted = { ...donor, role: 'STAFF' as const };
    const { tokens, userId } = await b.refresh(first.refreshToken, users(promoted));
    expect(userId).toBe(11);
    expect(tokens.refreshToken).not.toBe(first.refreshToken);
    expect(await a.authenticate(bearer(tokens))).toEqual({ ...before, role: 'STAFF' });
    // Rotating again from the new token works too: same session all along.
    const second = await a.refresh(tokens.refreshToken, users(donor));
    expect((await b.authenticate(bearer(second.tokens)))!.sessionId).toBe(before!.sessionId);
  });

  it('treats reuse of a rotated refresh token as theft: refused, and the whole session is revoked', async () => {
    const first = await a.issueSession(donor);
    const { tokens } = await a.refresh(first.refreshToken, users(donor));
    await expectCode(b.refresh(first.refreshToken, users(donor)), 'UNAUTHENTICATED', /already used/);
    // The thief and the user both lose the session, on every instance.
    await expectCode(a.authenticate(bearer(tokens)), 'UNAUTHENTICATED', /revoked/);
    await expectCode(b.authenticate(bearer(first)), 'UNAUTHENTICATED', /revoked/);
    await expectCode(b.refresh(tokens.refreshToken, users(donor)), 'UNAUTHENTICATED');
  });

  it('lets exactly one of two concurrent refreshes of one token (on two instances) succeed', async () => {
    for (let round = 0; round < 5; round++) {
      const { refreshToken } = await a.issueSession(donor);
      const results = await Promise.allSettled([a.refresh(refreshToken, users(donor)), b.refresh(refreshToken, users(donor))]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect((lost[0]!.reason as GraphQLError).extensions.code).toBe('UNAUTHENTICATED');
      // The loser reported reuse, so the session is gone: the winner's fresh tokens die with it.
      const { tokens } = (won[0] as PromiseFulfilledResult<{ tokens: TokenPair }>).value;
      await expectCode(a.authenticate(bearer(tokens)), 'UNAUTHENTICATED', /revoked/);
      await expectCode(b.refresh(tokens.refreshToken, users(donor)), 'UNAUTHENTICATED');
    }
  });

  it('revokeSession refuses the access and refresh tokens at once, on every instance; other sessions live on', async () => {
    const phone = await a.issueSession(donor);
    const laptop = await a.issueSession(donor);
    const viewer = await b.authenticate(bearer(phone)); // b has seen it valid: nothing may be cached
    await a.revokeSession(viewer!.sessionId);
    await expectCode(b.authenticate(bearer(phone)), 'UNAUTHENTICATED', /signed out/);
    await expectCode(a.authenticate(bearer(phone)), 'UNAUTHENTICATED', /signed out/);
    await expectCode(b.refresh(phone.refreshToken, users(donor)), 'UNAUTHENTICATED');
    expect(await b.authenticate(bearer(laptop))).toMatchObject({ userId: 11 });
    expect((await b.refresh(laptop.refreshToken, users(donor))).userId).toBe(11);
    await a.revokeSession(viewer!.sessionId); // idempotent
  });

  it('refuses malformed and unknown refresh tokens', async () => {
    for (const bad of ['', 'nope', 'x'.repeat(43) + '=']) {
      await expectCode(a.refresh(bad, users(donor)), 'UNAUTHENTICATED', /Invalid refresh token/);
    }
    await expectCode(a.refresh(newRefreshToken(), users(donor)), 'UNAUTHENTICATED', /invalid, expired/);
  });

  it('ends the session when its user no longer exists', async () => {
    const tokens = await a.issueSession(donor);
    await expectCode(a.refresh(tokens.refreshToken, users()), 'UNAUTHENTICATED', /no longer exists/);
    await expectCode(b.authenticate(bearer(tokens)), 'UNAUTHENTICATED', /signed out/);
  });

  it('keeps the refresh token usable when loading the user fails (no false theft alarm on retry)', async () => {
    const tokens = await a.issueSession(donor);
    const dbDown = async () => {
      throw new Error('database unreachable');
    };
    await expect(a.refresh(tokens.refreshToken, dbDown)).rejects.toThrow('database unreachable');
    const retried = await b.refresh(tokens.refreshToken, users(donor));
    expect(await a.authenticate(bearer(retried.tokens))).toMatchObject({ userId: 11 });
  });

  it('rejects sessions for invalid users', async () => {
    await expect(a.issueSession({ id: 0, role: 'DONOR', donorId: null })).rejects.toThrow(/invalid user/);
    await expect(a.issueSession({ id: 1, role: 'ROOT' as Role, donorId: null })).rejects.toThrow(/invalid user/);
  });
}

describe('AuthService on the memory store', () => {
  authServiceContract({
    open() {
      const store = createMemorySessionStore();
      return { a: service(store), b: service(store) };
    },
  });

  it('refuses secrets shorter than 32 bytes and non-positive TTLs at creation', () => {
    const store = createMemorySessionStore();
    expect(() => service(store, { secret: 'short' })).toThrow(/at least 32 bytes/);
    expect(() => service(store, { accessTokenTtlSeconds: 0 })).toThrow(/accessTokenTtlSeconds/);
  });
});

describe('AuthService on Redis', () => {
  let redisA: RedisClient;
  let redisB: RedisClient;
  let prefix: string;

  beforeAll(async () => {
    redisA = createRedisClient({ url: testRedisUrl(), name: 'test-auth-a', logger });
    redisB = createRedisClient({ url: testRedisUrl(), name: 'test-auth-b', logger });
    await Promise.all([waitForRedis(redisA), waitForRedis(redisB)]);
  });
  afterAll(async () => {
    await Promise.all([redisA.quit(), redisB.quit()]);
  });
  beforeEach(() => {
    prefix = uniqueCachePrefix();
  });

  describe('contract: two instances, each with its own Redis connection', () => {
    authServiceContract({
      open: () => ({
        a: service(createRedisSessionStore({ redis: redisA, prefix })),
        b: service(createRedisSessionStore({ redis: redisB, prefix })),
      }),
    });
  });

  it('writes only keys with a TTL: sessions, rotations, theft, revocation', async () => {
    const a = service(createRedisSessionStore({ redis: redisA, prefix }));
    const b = service(createRedisSessionStore({ redis: redisB, prefix }));
    const s1 = await a.issueSession(donor);
    const r1 = await b.refresh(s1.refreshToken, users(donor));
    await b.refresh(r1.tokens.refreshToken, users(donor));
    const s2 = await a.issueSession(staff);
    await a.revokeSession((await a.authenticate(bearer(s2)))!.sessionId);
    const s3 = await a.issueSession(donor);
    await a.refresh(s3.refreshToken, users(donor));
    await expectCode(b.refresh(s3.refreshToken, users(donor)), 'UNAUTHENTICATED'); // theft path
    const sid1 = (await a.authenticate(bearer(r1.tokens)))!.sessionId;

    const ttls = await ttlsUnder(redisA, prefix);
    const kinds = new Set(Object.keys(ttls).map((k) => k.slice(prefix.length).split(':').slice(0, 2).join(':')));
    expect([...kinds].sort()).toEqual(['auth:meta', 'auth:revoked', 'auth:rt', 'auth:sess', 'auth:user']);
    for (const [key, ms] of Object.entries(ttls)) expect({ key, hasTtl: ms > 0 }).toEqual({ key, hasTtl: true });
    // A live session: one live refresh token, indexed, expiring with the session.
    const [live] = await redisA.smembers(`${prefix}auth:sess:${sid1}`);
    expect(live).toBeDefined();
    expect(ttls[`${prefix}auth:rt:${live}`]).toBeGreaterThan((SESSION_TTL - 60) * 1000);
    // Revocation markers outlive every access token of the session.
    for (const [key, ms] of Object.entries(ttls)) {
      if (key.includes(':auth:revoked:')) expect(ms).toBeGreaterThanOrEqual(ACCESS_TTL * 1000);
    }
    // Only hashes are stored: no refresh token appears in any key or value.
    const values = await Promise.all(Object.keys(ttls).map((k) => redisA.type(k).then((t) => (t === 'set' ? redisA.smembers(k).then((m) => m.join()) : t === 'hash' ? redisA.hgetall(k).then((h) => JSON.stringify(h)) : redisA.get(k)))));
    for (const t of [s1, r1.tokens, s2, s3]) {
      expect(Object.keys(ttls).join()).not.toContain(t.refreshToken);
      expect(values.join()).not.toContain(t.refreshToken);
    }
  });

  it('records when a session was last used, seen from another instance, at most once per interval', async () => {
    const a = service(createRedisSessionStore({ redis: redisA, prefix }), { touchIntervalMs: 50 });
    const b = service(createRedisSessionStore({ redis: redisB, prefix }), { touchIntervalMs: 50 });
    const user = { id: 4242, role: 'DONOR' as const, donorId: 4242 };
    const tokens = await a.issueSession(user, { userAgent: 'curl/8.5.0' });
    const [created] = await b.listSessions(user.id);
    expect(created).toMatchObject({ device: 'curl', userId: user.id });
    expect(created!.lastUsedAt).toBe(created!.createdAt);
    // On the signing-in instance, within the interval: no write.
    await a.authenticate(bearer(tokens));
    expect((await b.listSessions(user.id))[0]!.lastUsedAt).toBe(created!.createdAt);
    // After it, the next request (here on the other instance) records its time.
    await new Promise((r) => setTimeout(r, 60));
    await b.authenticate(bearer(tokens));
    const deadline = Date.now() + 5_000;
    let used = created!.lastUsedAt;
    while (used === created!.lastUsedAt && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
      used = (await a.listSessions(user.id))[0]!.lastUsedAt;
    }
    expect(used).toBeGreaterThan(created!.createdAt);
  });

  it('checks revocation with one Redis round trip per authenticated request, none for anonymous ones', async () => {
    const a = service(createRedisSessionStore({ redis: redisA, prefix }));
    const tokens = await a.issueSession(donor);
    const commands: string[] = [];
    const monitor = await (redisB as import('ioredis').Redis).monitor();
    // MONITOR sees every client of the shared server: a line that arrives while disconnect() runs
    // has no command to answer and ioredis reports it as an 'error' (harmless, but unhandled).
    monitor.on('error', () => {});
    const seen = new Promise<void>((resolve) =>
      monitor.on('monitor', (_time: string, args: string[]) => {
        if (args.some((x) => String(x).startsWith(prefix))) commands.push(args[0]!.toLowerCase());
        if (args[0]?.toLowerCase() === 'ping' && args[1] === `${prefix}end`) resolve();
      }),
    );
    await a.authenticate(undefined);
    await a.authenticate(bearer(tokens));
    await redisA.ping(`${prefix}end`);
    await seen;
    monitor.disconnect();
    expect(commands.filter((c) => c !== 'ping')).toEqual(['exists']);
  });

  describe('when Redis is down', () => {
    let server: PrivateRedis;
    let client: RedisClient;
    beforeAll(async () => {
      server = await startPrivateRedis();
      client = createRedisClient({ url: server.url, name: 'test-auth-private', logger, commandTimeoutMs: 300 });
      await waitForRedis(client);
    });
    afterAll(async () => {
      client.disconnect();
      await server.stop();
    });

    async function withOutage(kind: 'hung' | 'dead', fn: () => Promise<void>) {
      if (kind === 'hung') server.pause();
      else await server.kill();
      try {
        await fn();
      } finally {
        if (kind === 'hung') server.resume();
        else await server.restart();
        await waitForRedis(client, 10_000);
      }
    }

    for (const kind of ['hung', 'dead'] as const) {
      it(`(${kind}) fails closed by default: SERVICE_UNAVAILABLE within the command timeout, anonymous still fine`, async () => {
        const auth = service(createRedisSessionStore({ redis: client, prefix }));
        const tokens = await auth.issueSession(donor);
        await withOutage(kind, async () => {
          const started = Date.now();
          await expectCode(auth.authenticate(bearer(tokens)), 'SERVICE_UNAVAILABLE', /session store is unreachable/);
          expect(Date.now() - started).toBeLessThan(2_000);
          expect(await auth.authenticate(undefined)).toBeNull();
          // A bad token is still a bad token: no store needed to say so.
          await expectCode(auth.authenticate(bearer('garbage')), 'UNAUTHENTICATED');
          await expectCode(auth.refresh(tokens.refreshToken, users(donor)), 'SERVICE_UNAVAILABLE');
          await expectCode(auth.issueSession(donor), 'SERVICE_UNAVAILABLE');
        });
        // Back: the token works again, and the refresh token was not consumed by the failed attempt.
        if (kind === 'hung') {
          expect(await auth.authenticate(bearer(tokens))).toMatchObject({ userId: 11 });
          expect((await auth.refresh(tokens.refreshToken, users(donor))).userId).toBe(11);
        }
      });
    }

    it("with onRevocationCheckError 'allow': admits valid tokens, still refuses sessions this instance revoked", async () => {
      const auth = service(createRedisSessionStore({ redis: client, prefix }), { onRevocationCheckError: 'allow' });
      const kept = await auth.issueSession(donor);
      const revoked = await auth.issueSession(staff);
      await auth.revokeSession((await auth.authenticate(bearer(revoked)))!.sessionId);
      await withOutage('dead', async () => {
        expect(await auth.authenticate(bearer(kept))).toMatchObject({ userId: 11 });
        await expectCode(auth.authenticate(bearer(revoked)), 'UNAUTHENTICATED', /signed out/);
        await expectCode(auth.revokeSession('some-session'), 'SERVICE_UNAVAILABLE', /Cannot sign out/);
      });
    });
  });
});
