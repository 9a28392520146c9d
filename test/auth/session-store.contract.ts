// One contract for every SessionStore backend (ARCHITECTURE habit 18). Backend-specific checks
// (TTLs in Redis, a fake clock in memory) live next to the suite that runs this one.
import { hashRefreshToken, newRefreshToken, newSessionId } from '../../src/auth/tokens.js';
import type { RefreshTokenRecord, SessionStore } from '../../src/auth/session-store.js';

export interface StoreUnderTest {
  store: SessionStore;
  /** A second handle on the same data (another instance: its own Redis connection). Same object for memory. */
  peer: SessionStore;
}

const HOUR = 3_600_000;

export function newHash(): string {
  return hashRefreshToken(newRefreshToken());
}

export function newRecord(overrides: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord {
  return { sessionId: newSessionId(), userId: 7, sessionExpiresAt: Date.now() + HOUR, ...overrides };
}

export function sessionStoreContract(open: () => StoreUnderTest) {
  let store: SessionStore;
  let peer: SessionStore;
  beforeEach(() => {
    ({ store, peer } = open());
  });

  it('stores a refresh token by hash and reads it back without consuming it', async () => {
    const hash = newHash();
    const record = newRecord();
    await store.putRefreshToken(hash, record);
    expect(await peer.peekRefreshToken(hash)).toEqual({ status: 'active', record });
    expect(await peer.peekRefreshToken(hash)).toEqual({ status: 'active', record });
    expect(await store.peekRefreshToken(newHash())).toEqual({ status: 'unknown' });
  });

  it('lets a token be taken once; later uses report "used" (reuse detection), unknown tokens "unknown"', async () => {
    const hash = newHash();
    const record = newRecord();
    await store.putRefreshToken(hash, record);
    expect(await store.takeRefreshToken(hash, HOUR)).toEqual({ status: 'taken', record });
    expect(await peer.takeRefreshToken(hash, HOUR)).toEqual({ status: 'used', record });
    expect(await store.peekRefreshToken(hash)).toEqual({ status: 'used', record });
    expect(await store.takeRefreshToken(newHash(), HOUR)).toEqual({ status: 'unknown' });
  });

  it('under concurrent takes from two instances, exactly one wins', async () => {
    for (let round = 0; round < 5; round++) {
      const hash = newHash();
      await store.putRefreshToken(hash, newRecord());
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? store : peer).takeRefreshToken(hash, HOUR)),
      );
      expect(results.filter((r) => r.status === 'taken')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'used')).toHaveLength(19);
    }
  });

  it('deletes every live token of one session, and only of that session', async () => {
    const session = newRecord();
    const other = newRecord({ userId: 7 });
    const [a, b, c] = [newHash(), newHash(), newHash()];
    await store.putRefreshToken(a, session);
    await store.putRefreshToken(b, session);
    await store.putRefreshToken(c, other);
    await peer.deleteSessionTokens(session.sessionId);
    expect(await store.peekRefreshToken(a)).toEqual({ status: 'unknown' });
    expect(await store.peekRefreshToken(b)).toEqual({ status: 'unknown' });
    expect(await store.peekRefreshToken(c)).toEqual({ status: 'active', record: other });
    await store.deleteSessionTokens('no-such-session');
  });

  it('a taken token leaves the session index (the tombstone is not a live token)', async () => {
    const record = newRecord();
    const [a, b] = [newHash(), newHash()];
    await store.putRefreshToken(a, record);
    await store.putRefreshToken(b, record);
    await store.takeRefreshToken(a, HOUR);
    await store.deleteSessionTokens(record.sessionId);
    expect(await store.peekRefreshToken(b)).toEqual({ status: 'unknown' });
    // The tombstone survives for reuse detection.
    expect(await store.peekRefreshToken(a)).toEqual({ status: 'used', record });
  });

  it('deletes a single token', async () => {
    const record = newRecord();
    const [a, b] = [newHash(), newHash()];
    await store.putRefreshToken(a, record);
    await store.putRefreshToken(b, record);
    await peer.deleteRefreshToken(a, record.sessionId);
    expect(await store.peekRefreshToken(a)).toEqual({ status: 'unknown' });
    expect(await store.takeRefreshToken(a, HOUR)).toEqual({ status: 'unknown' });
    expect(await store.peekRefreshToken(b)).toEqual({ status: 'active', record });
  });

  it('marks sessions revoked, visible to every instance at once', async () => {
    const sid = newSessionId();
    expect(await peer.isRevoked(sid)).toBe(false);
    await store.markRevoked(sid, 60_000);
    expect(await peer.isRevoked(sid)).toBe(true);
    expect(await store.isRevoked(sid)).toBe(true);
    expect(await store.isRevoked(newSessionId())).toBe(false);
  });

  it('refuses to store a token whose session has already ended', async () => {
    await expect(store.putRefreshToken(newHash(), newRecord({ sessionExpiresAt: Date.now() - 1 }))).rejects.toThrow(
      /already ended/,
    );
  });

  it("records a user's sessions, visible to every instance: details, last use, index, forget", async () => {
    const userId = 1_000_000 + Math.floor(Math.random() * 1_000_000);
    const now = Date.now();
    const [s1, s2] = [newSessionId(), newSessionId()];
    await store.recordSession({ sessionId: s1, userId, device: 'Firefox on Linux', createdAt: now, lastUsedAt: now, expiresAt: now + 60_000 });
    await store.recordSession({ sessionId: s2, userId, device: null, createdAt: now + 1, lastUsedAt: now + 1, expiresAt: now + 120_000 });
    expect((await peer.userSessionIds(userId)).sort()).toEqual([s1, s2].sort());
    expect(await peer.getSession(s1)).toEqual({ sessionId: s1, userId, device: 'Firefox on Linux', createdAt: now, lastUsedAt: now, expiresAt: now + 60_000 });
    expect((await peer.getSession(s2))!.device).toBeNull();
    await peer.touchSession(s1, now + 5_000);
    expect((await store.getSession(s1))!.lastUsedAt).toBe(now + 5_000);
    // Touching an unknown session creates nothing.
    const ghost = newSessionId();
    await store.touchSession(ghost, now);
    expect(await peer.getSession(ghost)).toBeNull();
    await store.forgetSession(userId, s1);
    expect(await peer.getSession(s1)).toBeNull();
    expect(await peer.userSessionIds(userId)).toEqual([s2]);
    expect(await peer.userSessionIds(userId + 1)).toEqual([]);
  });
}
