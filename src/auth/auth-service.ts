// Sessions: short-lived JWT access tokens, rotating opaque refresh tokens, instant revocation.
//
//   issueSession ─► refresh token record in the store (hash only) + signed access token
//   authenticate ─► verify JWT (no I/O) ─► one store lookup: is the session revoked?
//   refresh      ─► peek ─► revoked? ─► loadUser ─► write new token ─► atomically take old one
//   revokeSession─► revocation marker (seen by every instance at once) ─► delete refresh tokens
import { GraphQLError } from 'graphql';
import { roleEnum, type Role } from '../db/schema.js';
import { serviceUnavailable, unauthenticated } from '../graphql/errors.js';
import type { Logger } from '../observability/logger.js';
import { ExpiringMap, type RefreshTokenRecord, type SessionStore } from './session-store.js';
import {
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  hashRefreshToken,
  isWellFormedRefreshToken,
  newRefreshToken,
  newSessionId,
  secretKey,
  signAccessToken,
  verifyAccessToken,
} from './tokens.js';
import type { AuthService, TokenPair, Viewer } from './types.js';

export interface AuthServiceOptions {
  /** Redis-backed when instances share sessions, memory-backed for a single process. */
  store: SessionStore;
  /** HS256 secret, at least 32 bytes. */
  secret: string;
  /** Access token lifetime in seconds (config: ACCESS_TOKEN_TTL_SECONDS, default 900). */
  accessTokenTtlSeconds: number;
  /** Session lifetime in seconds: refresh tokens rotate but never outlive it (default 30 days). */
  refreshTokenTtlSeconds: number;
  /** How long a rotated refresh token is remembered so that its reuse revokes the session. Default 7 days (never past the session's end). */
  reuseDetectionSeconds?: number;
  /** Leeway for exp/iat between instances' clocks, in seconds. Default 5. */
  clockToleranceSeconds?: number;
  /**
   * What authenticate does when the store cannot answer "is this session revoked?" (Redis down or
   * slower than its command timeout). Default 'reject': SERVICE_UNAVAILABLE. 'allow' admits tokens
   * with a valid signature unless this instance itself knows the session was revoked. See below.
   */
  onRevocationCheckError?: 'reject' | 'allow';
  /** Store failures are logged here. */
  logger?: Logger;
  /** A session's lastUsedAt is written at most this often per instance, in ms. Default 60,000. */
  touchIntervalMs?: number;
}

const ROLES: readonly Role[] = roleEnum.enumValues;
const BEARER = /^Bearer +(\S+)$/i;
/** Extra life for revocation markers beyond the last access token's expiry (slow requests in flight). */
const REVOCATION_MARGIN_SECONDS = 60;
/** Sessions this instance knows are revoked (see knownRevoked). */
const KNOWN_REVOKED_MAX = 10_000;

const messages = {
  malformedHeader: 'Malformed Authorization header: expected "Bearer <access token>".',
  expired: 'Access token has expired: get a new one with the refreshToken mutation.',
  invalid: 'Invalid access token: sign in again.',
  revoked: 'This session has been signed out (token revoked): sign in again.',
  badRefresh: 'Invalid refresh token: sign in again.',
  unknownRefresh: 'Refresh token is invalid, expired or already signed out: sign in again.',
  reusedRefresh:
    'This refresh token was already used. Since a refresh token is used only once, someone else may hold a copy: the whole session has been signed out. Sign in again.',
  userGone: 'The account of this session no longer exists.',
  storeDown: (what: string) => `${what}: the session store is unreachable. Try again shortly.`,
};

export function createAuthService(options: AuthServiceOptions): AuthService {
  const { store, logger } = options;
  const key = secretKey(options.secret);
  const accessTtl = positiveInt('accessTokenTtlSeconds', options.accessTokenTtlSeconds);
  const sessionTtl = positiveInt('refreshTokenTtlSeconds', options.refreshTokenTtlSeconds);
  const reuseWindowMs = positiveInt('reuseDetectionSeconds', options.reuseDetectionSeconds ?? 7 * 86_400) * 1000;
  const clockTolerance = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  const onCheckError = options.onRevocationCheckError ?? 'reject';
  /** A revocation marker outlives every access token of the session (ttl + clock leeway + margin). */
  const revokedMinTtlMs = (accessTtl + clockTolerance + REVOCATION_MARGIN_SECONDS) * 1000;

  // Revocation is permanent, so a positive answer can be remembered in process: it spares the
  // store lookup, and it is what 'allow' mode still enforces while the store is down.
  const knownRevoked = new ExpiringMap<string, true>(KNOWN_REVOKED_MAX);
  const rememberRevoked = (sid: string) => knownRevoked.set(sid, true, Date.now() + revokedMinTtlMs);
  let storeDownLogged = false;
  // lastUsedAt is written at most once per interval per session and instance: a write per
  // request would double the session store's load for a figure shown to the minute.
  const touchIntervalMs = options.touchIntervalMs ?? 60_000;
  const lastTouched = new ExpiringMap<string, true>(KNOWN_REVOKED_MAX);
  const touch = (sessionId: string) => {
    if (lastTouched.get(sessionId)) return;
    const at = Date.now();
    lastTouched.set(sessionId, true, at + touchIntervalMs);
    store.touchSession(sessionId, at).catch((err: unknown) => logger?.warn({ err: errorMessage(err) }, 'session lastUsedAt not recorded'));
  };

  /** Runs a store call; an infrastructure failure becomes SERVICE_UNAVAILABLE (never UNAUTHENTICATED: the client did nothing wrong). */
  async function guarded<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof GraphQLError) throw err;
      logger?.error({ err: errorMessage(err), op: what }, 'session store failed');
      throw serviceUnavailable(messages.storeDown(what));
    }
  }

  async function sign(user: { id: number; role: Role; donorId: number | null }, sessionId: string) {
    return signAccessToken(
      { userId: user.id, role: user.role, donorId: user.donorId, sessionId },
      { secret: key, ttlSeconds: accessTtl },
    );
  }

  async function revoke(sessionId: string): Promise<void> {
    rememberRevoked(sessionId);
    // Marker first: from this moment every instance refuses the session's access tokens and
    // refresh tokens. A refresh racing with us may still write a new refresh token after the
    // deletion below; the marker lives until the session's end, so that token is refused too.
    await guarded('Cannot sign out', () => store.markRevoked(sessionId, revokedMinTtlMs));
    await guarded('Cannot sign out', () => store.deleteSessionTokens(sessionId));
  }

  /** Revokes a session and drops it from its user's list. */
  async function revokeAndForget(userId: number, sessionId: string): Promise<void> {
    await revoke(sessionId);
    await guarded('Cannot sign out', () => store.forgetSession(userId, sessionId));
  }

  async function isRevoked(sessionId: string, what: string): Promise<boolean> {
    if (knownRevoked.get(sessionId)) return true;
    const revoked = await guarded(what, () => store.isRevoked(sessionId));
    if (revoked) rememberRevoked(sessionId);
    return revoked;
  }

  const service: AuthService = {
    async authenticate(header) {
      const viewer = await service.verify(header);
      if (viewer) await service.checkSession(viewer);
      return viewer;
    },

    async verify(header) {
      if (header == null) return null;
      // Over WebSockets the value comes from client-chosen connectionParams: not always a string.
      if (typeof header !== 'string') throw unauthenticated(messages.malformedHeader);
      if (header.trim() === '') return null;
      const match = BEARER.exec(header.trim());
      if (!match) throw unauthenticated(messages.malformedHeader);
      const check = await verifyAccessToken(match[1]!, { secret: key, clockToleranceSeconds: clockTolerance });
      if (!check.ok) throw unauthenticated(check.reason === 'expired' ? messages.expired : messages.invalid);
      const { userId, role, donorId, sessionId } = check.token;
      return { userId, role, donorId, sessionId } satisfies Viewer;
    },

    async checkSession({ sessionId }) {
      // Redis down during the revocation check. We fail CLOSED by default: admitting the token
      // would re-admit every session signed out on another instance for up to an access-token
      // lifetime, exactly when an operator may be signing out a stolen session. The client gets
      // SERVICE_UNAVAILABLE (retry later), not UNAUTHENTICATED (which would make it discard
      // perfectly good tokens). Anonymous requests need no lookup and keep working.
      // This trades against the promise ("every query and mutation still succeeds when Redis is
      // down") for authenticated operations; the Redis client's command timeout bounds the wait.
      // 'allow' is the opposite trade: availability first, revocations known to THIS instance
      // still enforced, others missed for at most the access-token lifetime.
      let revoked: boolean;
      try {
        revoked = await isRevoked(sessionId, 'Cannot verify your session');
      } catch (err) {
        if (onCheckError !== 'allow') throw err;
        if (!storeDownLogged) logger?.warn('revocation check unavailable: admitting signed tokens (onRevocationCheckError=allow)');
        storeDownLogged = true;
        revoked = false;
      }
      if (revoked) throw unauthenticated(messages.revoked);
      storeDownLogged = false;
      touch(sessionId);
    },

    async issueSession(user, client) {
      if (!Number.isSafeInteger(user.id) || user.id <= 0 || !ROLES.includes(user.role)) {
        throw new Error(`issueSession: invalid user ${JSON.stringify({ id: user.id, role: user.role })}`);
      }
      const sessionId = newSessionId();
      const refreshToken = newRefreshToken();
      const record: RefreshTokenRecord = {
        sessionId,
        userId: user.id,
        sessionExpiresAt: Date.now() + sessionTtl * 1000,
      };
      await guarded('Cannot sign in', () => store.putRefreshToken(hashRefreshToken(refreshToken), record));
      const now = Date.now();
      lastTouched.set(sessionId, true, now + touchIntervalMs);
      await guarded('Cannot sign in', () =>
        store.recordSession({ sessionId, userId: user.id, device: deviceHint(client?.userAgent), createdAt: now, lastUsedAt: now, expiresAt: record.sessionExpiresAt }),
      );
      return { accessToken: await sign(user, sessionId), refreshToken } satisfies TokenPair;
    },

    async refresh(refreshToken, loadUser) {
      if (!isWellFormedRefreshToken(refreshToken)) throw unauthenticated(messages.badRefresh);
      const oldHash = hashRefreshToken(refreshToken);
      const what = 'Cannot refresh the session';

      // Look before consuming: if loading the user fails (database down), the client keeps a
      // working refresh token instead of holding a consumed one whose retry would look like theft.
      const seen = await guarded(what, () => store.peekRefreshToken(oldHash));
      if (seen.status === 'unknown' || seen.record.sessionExpiresAt <= Date.now()) {
        throw unauthenticated(messages.unknownRefresh);
      }
      const { sessionId, userId, sessionExpiresAt } = seen.record;
      if (seen.status === 'used') {
        await revoke(sessionId);
        throw unauthenticated(messages.reusedRefresh);
      }
      if (await isRevoked(sessionId, what)) throw unauthenticated(messages.revoked);

      // Role and donor profile come from the database, not the old token: a role change takes
      // effect at the next refresh.
      const user = await loadUser(userId);
      if (!user || user.id !== userId) {
        await revoke(sessionId);
        throw unauthenticated(messages.userGone);
      }

      // Write the successor before consuming the old token, so that no failure in between
      // leaves the client with nothing. The successor keeps the session's end (no sliding).
      const nextToken = newRefreshToken();
      const nextHash = hashRefreshToken(nextToken);
      await guarded(what, () => store.putRefreshToken(nextHash, { sessionId, userId, sessionExpiresAt }));

      // The atomic step: of concurrent refreshes of one token (any instance), exactly one wins.
      const taken = await guarded(what, () => store.takeRefreshToken(oldHash, reuseWindowMs));
      if (taken.status !== 'taken') {
        await guarded(what, () => store.deleteRefreshToken(nextHash, sessionId));
        if (taken.status === 'used') {
          // Lost the race to another use of the same token: reuse, so revoke (see SessionStore).
          await revoke(sessionId);
          throw unauthenticated(messages.reusedRefresh);
        }
        throw unauthenticated(messages.unknownRefresh); // revoked and deleted meanwhile
      }
      return { tokens: { accessToken: await sign(user, sessionId), refreshToken: nextToken }, userId };
    },

    async revokeSession(sessionId) {
      if (typeof sessionId !== 'string' || sessionId === '') throw new Error('revokeSession: sessionId is required');
      await revoke(sessionId);
    },

    async listSessions(userId) {
      const what = 'Cannot list your sessions';
      const ids = await guarded(what, () => store.userSessionIds(userId));
      const now = Date.now();
      const found = await Promise.all(
        ids.map(async (id) => {
          const [info, revoked] = await Promise.all([guarded(what, () => store.getSession(id)), isRevoked(id, what)]);
          return info && !revoked && info.userId === userId && info.expiresAt > now ? info : null;
        }),
      );
      return found.filter((s): s is NonNullable<typeof s> => s !== null).sort((a, b) => b.lastUsedAt - a.lastUsedAt || b.createdAt - a.createdAt);
    },

    async revokeUserSession(userId, sessionId) {
      if (typeof sessionId !== 'string' || sessionId === '') return false;
      // Only the owner's own sessions: an id from someone else's session reads as not found.
      const info = await guarded('Cannot sign out', () => store.getSession(sessionId));
      if (!info || info.userId !== userId) return false;
      await revokeAndForget(userId, sessionId);
      return true;
    },

    async revokeAllSessions(userId) {
      // Every id in the index, with or without details (a session whose details were lost is
      // still a session): each gets its revocation marker, seen by every instance at once.
      const ids = await guarded('Cannot sign out', () => store.userSessionIds(userId));
      await Promise.all(ids.map((id) => revokeAndForget(userId, id)));
      return ids;
    },

    async close() {
      knownRevoked.clear();
      lastTouched.clear();
      await store.close();
    },
  };
  return service;
}

/**
 * A short, human description of the device from its User-Agent ("Firefox on Linux"), enough
 * for a user to recognise a session; the raw header is not kept.
 */
export function deviceHint(userAgent: string | null | undefined): string | null {
  if (!userAgent) return null;
  const ua = userAgent.slice(0, 512);
  const browser =
    /\bEdg(?:e|A|iOS)?\//.test(ua) ? 'Edge'
    : /\bOPR\/|\bOpera\b/.test(ua) ? 'Opera'
    : /\bFirefox\/|\bFxiOS\//.test(ua) ? 'Firefox'
    : /\bChrom(?:e|ium)\/|\bCriOS\//.test(ua) ? 'Chrome'
    : /\bSafari\//.test(ua) && /\bVersion\//.test(ua) ? 'Safari'
    : /^curl\//i.test(ua) ? 'curl'
    : /^node|undici/i.test(ua) ? 'Node.js'
    : null;
  const os =
    /\b(iPhone|iPad|iPod)\b/.test(ua) ? 'iOS'
    : /\bAndroid\b/.test(ua) ? 'Android'
    : /\bWindows\b/.test(ua) ? 'Windows'
    : /\bMac OS X\b|\bMacintosh\b/.test(ua) ? 'macOS'
    : /\bCrOS\b/.test(ua) ? 'ChromeOS'
    : /\bLinux\b/.test(ua) ? 'Linux'
    : null;
  if (browser && os) return `${browser} on ${os}`;
  if (browser || os) return (browser ?? os)!;
  // Unknown client: its product token, bounded (no free text from the client beyond that).
  const product = /^[A-Za-z][A-Za-z0-9._-]{0,39}/.exec(ua)?.[0];
  return product ?? null;
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer: ${value}`);
  return value;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
