// Where sessions live between requests: refresh-token records, revocation markers and a
// per-session index of live refresh tokens. Two backends behind one contract: Redis (shared by
// every instance) and process memory (one instance, no Redis).
//
// Redis keys (all under the configured prefix, ALL with a TTL, none ever enumerated):
//   auth:rt:<sha256 of refresh token>  "A<json>" live record, or "U<json>" once rotated (a tombstone
//                                      kept for reuse detection); TTL = until the session ends
//                                      (tombstone: at most the reuse-detection window)
//   auth:sess:<sid>                    SET of the hashes of the session's live refresh tokens
//                                      (normally one); expires at the session's end
//   auth:revoked:<sid>                 "1"; lives at least as long as any token of the session
//   auth:meta:<sid>                    HASH uid, device, created, used, exp: what mySessions shows;
//                                      expires at the session's end
//   auth:user:<uid>                    SET of the user's session ids (logoutEverywhere, mySessions);
//                                      expires with the user's last-ending session
//
// Every command touches one key, so the store works unchanged on Redis Cluster (no cross-slot
// scripts or transactions). Where that leaves two steps unordered, the comments say why it is safe.
import { createHash } from 'node:crypto';
import type { RedisClient } from '../redis/client.js';

/** What the server knows about one refresh token. */
export interface RefreshTokenRecord {
  sessionId: string;
  userId: number;
  /**
   * Absolute end of the session, epoch ms. Sessions do not slide: every refresh token of the
   * session expires here, so a session lasts at most the refresh-token TTL after sign-in.
   */
  sessionExpiresAt: number;
}

export type RefreshTokenLookup =
  /** Never issued, expired, or deleted (session revoked). */
  | { status: 'unknown' }
  /** Live and not yet used. */
  | { status: 'active'; record: RefreshTokenRecord }
  /** Already rotated: presenting it again means two parties hold it (see takeRefreshToken). */
  | { status: 'used'; record: RefreshTokenRecord };

export type RefreshTokenTake =
  | { status: 'unknown' }
  /** This caller, and only this caller, consumed the token. */
  | { status: 'taken'; record: RefreshTokenRecord }
  /** Someone consumed it before: the caller must revoke the whole session. */
  | { status: 'used'; record: RefreshTokenRecord };

/** What a user sees about one of their sessions. */
export interface SessionInfo {
  sessionId: string;
  userId: number;
  /** A short device hint derived from the User-Agent at sign-in ("Firefox on Linux"); null when unknown. */
  device: string | null;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms; updated at most once a minute per instance. */
  lastUsedAt: number;
  /** The session's absolute end, epoch ms. */
  expiresAt: number;
}

export interface SessionStore {
  /** Records a new session's details and adds it to its user's index (until the session ends). */
  recordSession(info: SessionInfo): Promise<void>;
  /** Sets a recorded session's lastUsedAt (no-op when the session is not recorded). */
  touchSession(sessionId: string, at: number): Promise<void>;
  /** One recorded session, or null. */
  getSession(sessionId: string): Promise<SessionInfo | null>;
  /** The ids in a user's session index (including ones whose details are gone). */
  userSessionIds(userId: number): Promise<string[]>;
  /** Removes a session's details and its entry in the user's index. */
  forgetSession(userId: number, sessionId: string): Promise<void>;
  /** Stores a live refresh token (by hash) until its session ends, and indexes it under the session. */
  putRefreshToken(tokenHash: string, record: RefreshTokenRecord): Promise<void>;
  /** Reads a refresh token without consuming it. */
  peekRefreshToken(tokenHash: string): Promise<RefreshTokenLookup>;
  /**
   * Consumes a refresh token atomically: of any number of concurrent callers, on any number of
   * instances, exactly one gets `taken`. The token is not deleted but turned into a tombstone for
   * `usedTtlMs` (capped at the session's end), so that a later use of it reports `used`.
   *
   * Token theft detection (OAuth 2.0 Security BCP, refresh token rotation): a rotated token is
   * only ever presented again if two parties hold it — the client and a thief, in either order.
   * The store cannot tell which is which, so the caller must revoke the whole session on `used`:
   * the thief loses the session, and the real user signs in again. Clients must therefore
   * never run two refreshes of one token concurrently.
   */
  takeRefreshToken(tokenHash: string, usedTtlMs: number): Promise<RefreshTokenTake>;
  /** Deletes one refresh token (e.g. a freshly minted one whose rotation lost a race). */
  deleteRefreshToken(tokenHash: string, sessionId: string): Promise<void>;
  /**
   * Marks a session revoked for at least `minTtlMs` (at least the access-token lifetime) and at
   * least until the session would have ended, so no token of it — even one minted by a refresh
   * racing with the revocation — can outlive the marker. Never shortens an existing marker.
   */
  markRevoked(sessionId: string, minTtlMs: number): Promise<void>;
  isRevoked(sessionId: string): Promise<boolean>;
  /** Deletes every live refresh token of the session and its index. */
  deleteSessionTokens(sessionId: string): Promise<void>;
  /** Releases what the store owns (never the Redis client it was given). */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Encoding shared by both backends.

const LIVE = 'A';
const USED = 'U';

function encodeRecord(r: RefreshTokenRecord): string {
  return JSON.stringify({ sid: r.sessionId, uid: r.userId, exp: r.sessionExpiresAt });
}

function decodeRecord(json: string): RefreshTokenRecord | null {
  try {
    const v = JSON.parse(json) as { sid?: unknown; uid?: unknown; exp?: unknown };
    if (typeof v.sid !== 'string' || typeof v.uid !== 'number' || typeof v.exp !== 'number') return null;
    return { sessionId: v.sid, userId: v.uid, sessionExpiresAt: v.exp };
  } catch {
    return null;
  }
}

function decodeStored(stored: string | null): RefreshTokenLookup {
  if (!stored) return { status: 'unknown' };
  const record = decodeRecord(stored.slice(1));
  if (!record) return { status: 'unknown' };
  return stored[0] === USED ? { status: 'used', record } : { status: 'active', record };
}

function ttlUntil(expiresAt: number, now: number): number {
  return Math.floor(expiresAt - now);
}

// ---------------------------------------------------------------------------------------------
// Redis

export interface RedisSessionStoreOptions {
  /** A connected client; the store never closes it. */
  redis: RedisClient;
  /** Key prefix (CACHE_PREFIX), e.g. "lifeline:". */
  prefix: string;
}

/**
 * Consumes a live token in one atomic step: GET, and if live rewrite it as a tombstone whose TTL
 * is the smaller of the reuse window and what the token had left. Scripts run atomically, so two
 * instances presenting the same token concurrently cannot both see it live.
 * Returns the stored value as it was before (nil when absent).
 */
const TAKE_SCRIPT = `
local v = redis.call('GET', KEYS[1])
if not v then return false end
if string.sub(v, 1, 1) ~= 'A' then return v end
local ttl = redis.call('PTTL', KEYS[1])
local keep = tonumber(ARGV[1])
if ttl > 0 and ttl < keep then keep = ttl end
redis.call('SET', KEYS[1], 'U' .. string.sub(v, 2), 'PX', keep)
return v
`;

/** Sets the marker unless one with a longer life is already there (never shortens a revocation). */
const REVOKE_SCRIPT = `
local ttl = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('SET', KEYS[1], '1', 'PX', ttl)
end
return 1
`;

/** Adds a session id to the user's index and extends the index's life to cover it (never shortens it). */
const USER_INDEX_SCRIPT = `
redis.call('SADD', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
`;

/** Updates lastUsedAt only on a recorded session (HSET on a missing key would create one without a TTL). */
const TOUCH_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'used', ARGV[1]) end
return 1
`;

function decodeMeta(sessionId: string, h: Record<string, string>): SessionInfo | null {
  const userId = Number(h.uid);
  const createdAt = Number(h.created);
  const expiresAt = Number(h.exp);
  if (!Number.isSafeInteger(userId) || !Number.isFinite(createdAt) || !Number.isFinite(expiresAt)) return null;
  const used = Number(h.used);
  return { sessionId, userId, device: h.device || null, createdAt, lastUsedAt: Number.isFinite(used) ? used : createdAt, expiresAt };
}

export function createRedisSessionStore(options: RedisSessionStoreOptions): SessionStore {
  const { redis, prefix } = options;
  const rtKey = (hash: string) => `${prefix}auth:rt:${hash}`;
  const sessKey = (sid: string) => `${prefix}auth:sess:${sid}`;
  const revokedKey = (sid: string) => `${prefix}auth:revoked:${sid}`;
  const metaKey = (sid: string) => `${prefix}auth:meta:${sid}`;
  const userKey = (uid: number) => `${prefix}auth:user:${uid}`;
  const runTake = scriptRunner(redis, TAKE_SCRIPT);
  const runRevoke = scriptRunner(redis, REVOKE_SCRIPT);
  const runUserIndex = scriptRunner(redis, USER_INDEX_SCRIPT);
  const runTouch = scriptRunner(redis, TOUCH_SCRIPT);

  /** SADD/SREM and PEXPIREAT in one MULTI on one key, so the index never exists without a TTL. */
  async function indexUpdate(sid: string, add: string | null, remove: string | null, expiresAt?: number) {
    const key = sessKey(sid);
    const tx = redis.multi();
    if (add) tx.sadd(key, add);
    if (remove) tx.srem(key, remove);
    if (expiresAt !== undefined) tx.pexpireat(key, Math.ceil(expiresAt));
    const results = await tx.exec();
    const failed = results?.find(([err]) => err);
    if (!results || failed) throw failed?.[0] ?? new Error('redis transaction aborted');
  }

  return {
    async putRefreshToken(tokenHash, record) {
      const ttl = ttlUntil(record.sessionExpiresAt, Date.now());
      if (ttl <= 0) throw new Error('putRefreshToken: the session has already ended');
      // The record and its index entry are written independently; a crash in between leaves
      // either an unindexed token (it still expires with the session, and a revocation marker
      // outlives it) or a dangling index entry (deleting a missing key is harmless).
      await Promise.all([
        redis.set(rtKey(tokenHash), LIVE + encodeRecord(record), 'PX', ttl),
        indexUpdate(record.sessionId, tokenHash, null, record.sessionExpiresAt),
      ]);
    },

    async peekRefreshToken(tokenHash) {
      return decodeStored(await redis.get(rtKey(tokenHash)));
    },

    async takeRefreshToken(tokenHash, usedTtlMs) {
      const keep = Math.max(1, Math.floor(usedTtlMs));
      const before = decodeStored((await runTake([rtKey(tokenHash)], [String(keep)])) as string | null);
      if (before.status === 'unknown') return before;
      if (before.status === 'used') return before;
      // Taken: the tombstone stays for reuse detection but is no longer a live token of the session.
      await indexUpdate(before.record.sessionId, null, tokenHash);
      return { status: 'taken', record: before.record };
    },

    async deleteRefreshToken(tokenHash, sessionId) {
      await Promise.all([redis.unlink(rtKey(tokenHash)), indexUpdate(sessionId, null, tokenHash)]);
    },

    async markRevoked(sessionId, minTtlMs) {
      // The index expires exactly when the session ends, so its PTTL is how long any of its
      // refresh tokens can still live.
      const sessionLeft = await redis.pttl(sessKey(sessionId));
      const ttl = Math.max(Math.ceil(minTtlMs), sessionLeft);
      await runRevoke([revokedKey(sessionId)], [String(ttl)]);
    },

    async isRevoked(sessionId) {
      return (await redis.exists(revokedKey(sessionId))) === 1;
    },

    async deleteSessionTokens(sessionId) {
      const key = sessKey(sessionId);
      const hashes = await redis.smembers(key);
      // One UNLINK per token: the keys hash to different cluster slots. The set is tiny (one live
      // token per session, a few at most while refreshes race).
      await Promise.all(hashes.map((h) => redis.unlink(rtKey(h))));
      await redis.unlink(key);
    },

    async recordSession(info) {
      const ttl = ttlUntil(info.expiresAt, Date.now());
      if (ttl <= 0) return;
      // Details and index are separate keys (separate slots); the index is written first so a
      // crash in between leaves an index entry without details, which logoutEverywhere still
      // revokes and mySessions skips.
      await runUserIndex([userKey(info.userId)], [info.sessionId, String(ttl)]);
      const key = metaKey(info.sessionId);
      const tx = redis.multi();
      tx.hset(key, { uid: String(info.userId), device: info.device ?? '', created: String(info.createdAt), used: String(info.lastUsedAt), exp: String(info.expiresAt) });
      tx.pexpireat(key, Math.ceil(info.expiresAt));
      const results = await tx.exec();
      const failed = results?.find(([err]) => err);
      if (!results || failed) throw failed?.[0] ?? new Error('redis transaction aborted');
    },

    async touchSession(sessionId, at) {
      await runTouch([metaKey(sessionId)], [String(at)]);
    },

    async getSession(sessionId) {
      const h = await redis.hgetall(metaKey(sessionId));
      return h && Object.keys(h).length ? decodeMeta(sessionId, h) : null;
    },

    async userSessionIds(userId) {
      return redis.smembers(userKey(userId));
    },

    async forgetSession(userId, sessionId) {
      await Promise.all([redis.unlink(metaKey(sessionId)), redis.srem(userKey(userId), sessionId)]);
    },

    async close() {
      // The Redis client belongs to the caller.
    },
  };
}

/** EVALSHA with a fallback to EVAL when the server does not have the script (restart, failover, new node). */
function scriptRunner(redis: RedisClient, script: string) {
  const sha = createHash('sha1').update(script).digest('hex');
  return async (keys: string[], args: string[]): Promise<unknown> => {
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      // EVAL also loads the script, so the next call's EVALSHA finds it.
      return await redis.eval(script, keys.length, ...keys, ...args);
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Memory

/** A Map whose entries expire and whose size is capped; the oldest-written entries go first. */
export class ExpiringMap<K, V> {
  private readonly entries = new Map<K, { value: V; expiresAt: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  expiresAt(key: K): number | undefined {
    return this.get(key) === undefined ? undefined : this.entries.get(key)!.expiresAt;
  }

  set(key: K, value: V, expiresAt: number): void {
    // Re-inserting moves the key to the end, so eviction order is the order of last write.
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.makeRoom();
    this.entries.set(key, { value, expiresAt });
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  private makeRoom(): void {
    const now = this.now();
    for (const [k, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(k);
    // Still full: drop the oldest tenth at once, so a full map does not sweep on every write.
    if (this.entries.size >= this.maxEntries) {
      let drop = Math.max(1, Math.floor(this.maxEntries / 10));
      for (const k of this.entries.keys()) {
        if (drop-- <= 0) break;
        this.entries.delete(k);
      }
    }
  }
}

export interface MemorySessionStoreOptions {
  /** Cap per kind of entry (tokens, session indexes, revocations). Default 100,000. */
  maxEntries?: number;
  /** Clock, epoch ms. Default Date.now (tests pass a fake one). */
  now?: () => number;
}

/**
 * One process only (no Redis). Every operation is synchronous inside, so each is atomic with
 * respect to the others. When full, the oldest entries are dropped: for tokens that signs a
 * user out early (safe); for revocation markers it would re-admit a revoked session's access
 * tokens, so size maxEntries well above the sign-outs expected within one session lifetime.
 */
export function createMemorySessionStore(options: MemorySessionStoreOptions = {}): SessionStore {
  const max = options.maxEntries ?? 100_000;
  const now = options.now ?? Date.now;
  const tokens = new ExpiringMap<string, { record: RefreshTokenRecord; used: boolean }>(max, now);
  const sessions = new ExpiringMap<string, Set<string>>(max, now);
  const revoked = new ExpiringMap<string, true>(max, now);
  const metas = new ExpiringMap<string, SessionInfo>(max, now);
  const users = new ExpiringMap<number, Set<string>>(max, now);

  const index = (record: RefreshTokenRecord): Set<string> => {
    let set = sessions.get(record.sessionId);
    if (!set) {
      set = new Set();
      sessions.set(record.sessionId, set, record.sessionExpiresAt);
    }
    return set;
  };

  return {
    async putRefreshToken(tokenHash, record) {
      if (ttlUntil(record.sessionExpiresAt, now()) <= 0) throw new Error('putRefreshToken: the session has already ended');
      tokens.set(tokenHash, { record: { ...record }, used: false }, record.sessionExpiresAt);
      index(record).add(tokenHash);
    },

    async peekRefreshToken(tokenHash) {
      const e = tokens.get(tokenHash);
      if (!e) return { status: 'unknown' };
      return { status: e.used ? 'used' : 'active', record: { ...e.record } };
    },

    async takeRefreshToken(tokenHash, usedTtlMs) {
      const e = tokens.get(tokenHash);
      if (!e) return { status: 'unknown' };
      if (e.used) return { status: 'used', record: { ...e.record } };
      const expiresAt = Math.min(tokens.expiresAt(tokenHash)!, now() + Math.max(1, usedTtlMs));
      tokens.set(tokenHash, { record: e.record, used: true }, expiresAt);
      sessions.get(e.record.sessionId)?.delete(tokenHash);
      return { status: 'taken', record: { ...e.record } };
    },

    async deleteRefreshToken(tokenHash, sessionId) {
      tokens.delete(tokenHash);
      sessions.get(sessionId)?.delete(tokenHash);
    },

    async markRevoked(sessionId, minTtlMs) {
      const until = Math.max(now() + minTtlMs, sessions.expiresAt(sessionId) ?? 0, revoked.expiresAt(sessionId) ?? 0);
      revoked.set(sessionId, true, until);
    },

    async isRevoked(sessionId) {
      return revoked.get(sessionId) === true;
    },

    async deleteSessionTokens(sessionId) {
      for (const h of sessions.get(sessionId) ?? []) tokens.delete(h);
      sessions.delete(sessionId);
    },

    async recordSession(info) {
      if (info.expiresAt <= now()) return;
      metas.set(info.sessionId, { ...info }, info.expiresAt);
      const set = users.get(info.userId) ?? new Set<string>();
      set.add(info.sessionId);
      users.set(info.userId, set, Math.max(info.expiresAt, users.expiresAt(info.userId) ?? 0));
    },

    async touchSession(sessionId, at) {
      const m = metas.get(sessionId);
      if (m) m.lastUsedAt = at;
    },

    async getSession(sessionId) {
      const m = metas.get(sessionId);
      return m ? { ...m } : null;
    },

    async userSessionIds(userId) {
      return [...(users.get(userId) ?? [])];
    },

    async forgetSession(userId, sessionId) {
      metas.delete(sessionId);
      users.get(userId)?.delete(sessionId);
    },

    async close() {
      tokens.clear();
      sessions.clear();
      revoked.clear();
      metas.clear();
      users.clear();
    },
  };
}
