// Pure token primitives: no I/O, clocks passed in.
import { SignJWT } from 'jose';
import {
  ACCESS_TOKEN_AUDIENCE,
  ACCESS_TOKEN_ISSUER,
  hashRefreshToken,
  isWellFormedRefreshToken,
  newRefreshToken,
  newSessionId,
  signAccessToken,
  verifyAccessToken,
} from '../../src/auth/tokens.js';

const secret = 'a-test-secret-that-is-long-enough-for-hs256!';
const claims = { userId: 7, role: 'DONOR' as const, donorId: 42, sessionId: 'sess-1' };

describe('access tokens', () => {
  it('round-trip their claims, with issuer, audience, iat and exp', async () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const token = await signAccessToken(claims, { secret, ttlSeconds: 900, now });
    const check = await verifyAccessToken(token, { secret, now: new Date(now.getTime() + 60_000) });
    expect(check).toEqual({
      ok: true,
      token: { ...claims, issuedAt: now.getTime() / 1000, expiresAt: now.getTime() / 1000 + 900 },
    });
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    expect(payload).toMatchObject({ sub: '7', sid: 'sess-1', iss: ACCESS_TOKEN_ISSUER, aud: ACCESS_TOKEN_AUDIENCE });
  });

  it('keep donorId null for accounts without a donor profile', async () => {
    const token = await signAccessToken({ ...claims, role: 'STAFF', donorId: null }, { secret, ttlSeconds: 60 });
    const check = await verifyAccessToken(token, { secret });
    expect(check.ok && check.token.donorId).toBeNull();
  });

  it('are expired after exp plus the clock tolerance, not before', async () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const token = await signAccessToken(claims, { secret, ttlSeconds: 60, now });
    const at = (s: number) => new Date(now.getTime() + s * 1000);
    expect((await verifyAccessToken(token, { secret, now: at(63), clockToleranceSeconds: 5 })).ok).toBe(true);
    expect(await verifyAccessToken(token, { secret, now: at(66), clockToleranceSeconds: 5 })).toEqual({
      ok: false,
      reason: 'expired',
    });
  });

  it('are invalid when tampered with, signed with another secret, or not a JWT', async () => {
    const token = await signAccessToken(claims, { secret, ttlSeconds: 60 });
    const [h, p, s] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), role: 'ADMIN' }));
    for (const bad of [
      `${h}.${forged.toString('base64url')}.${s}`,
      `${h}.${p}.${s!.slice(0, -2)}xx`,
      await signAccessToken(claims, { secret: `${secret}-other`, ttlSeconds: 60 }),
      'not-a-jwt',
      '',
    ]) {
      expect(await verifyAccessToken(bad, { secret })).toEqual({ ok: false, reason: 'invalid' });
    }
  });

  it('are invalid when expired AND forged: a bad signature is never reported as "expired"', async () => {
    const old = await signAccessToken(claims, { secret: `${secret}-other`, ttlSeconds: 60, now: new Date(0) });
    expect(await verifyAccessToken(old, { secret })).toEqual({ ok: false, reason: 'invalid' });
  });

  it('refuse alg "none", other issuers and audiences, and malformed claims', async () => {
    const key = new TextEncoder().encode(secret);
    const base = () =>
      new SignJWT({ role: 'DONOR', donorId: null, sid: 's' })
        .setSubject('7')
        .setIssuer(ACCESS_TOKEN_ISSUER)
        .setAudience(ACCESS_TOKEN_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime('5m');
    const unsigned = (payload: object) =>
      `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.`;
    const now = Math.floor(Date.now() / 1000);
    const cases = [
      unsigned({ sub: '7', role: 'ADMIN', donorId: null, sid: 's', iss: ACCESS_TOKEN_ISSUER, aud: ACCESS_TOKEN_AUDIENCE, iat: now, exp: now + 60 }),
      await base().setProtectedHeader({ alg: 'HS512' }).sign(key),
      await base().setIssuer('someone-else').setProtectedHeader({ alg: 'HS256' }).sign(key),
      await base().setAudience('another-api').setProtectedHeader({ alg: 'HS256' }).sign(key),
      await base().setSubject('seven').setProtectedHeader({ alg: 'HS256' }).sign(key),
      await new SignJWT({ role: 'ROOT', donorId: null, sid: 's' }).setSubject('7').setIssuer(ACCESS_TOKEN_ISSUER).setAudience(ACCESS_TOKEN_AUDIENCE).setIssuedAt().setExpirationTime('5m').setProtectedHeader({ alg: 'HS256' }).sign(key),
      await new SignJWT({ role: 'DONOR', donorId: '42', sid: 's' }).setSubject('7').setIssuer(ACCESS_TOKEN_ISSUER).setAudience(ACCESS_TOKEN_AUDIENCE).setIssuedAt().setExpirationTime('5m').setProtectedHeader({ alg: 'HS256' }).sign(key),
      await new SignJWT({ role: 'DONOR', donorId: null }).setSubject('7').setIssuer(ACCESS_TOKEN_ISSUER).setAudience(ACCESS_TOKEN_AUDIENCE).setIssuedAt().setExpirationTime('5m').setProtectedHeader({ alg: 'HS256' }).sign(key),
      await new SignJWT({ role: 'DONOR', donorId: null, sid: 's' }).setSubject('7').setIssuer(ACCESS_TOKEN_ISSUER).setAudience(ACCESS_TOKEN_AUDIENCE).setIssuedAt().setProtectedHeader({ alg: 'HS256' }).sign(key),
    ];
    for (const token of cases) {
      expect(await verifyAccessToken(token, { secret })).toEqual({ ok: false, reason: 'invalid' });
    }
    // Sanity: the same builder with nothing wrong passes.
    expect((await verifyAccessToken(await base().setProtectedHeader({ alg: 'HS256' }).sign(key), { secret })).ok).toBe(true);
  });

  it('refuse secrets shorter than 32 bytes', async () => {
    await expect(signAccessToken(claims, { secret: 'short', ttlSeconds: 60 })).rejects.toThrow(/at least 32 bytes/);
  });
});

describe('refresh tokens and session ids', () => {
  it('are 32 random bytes in base64url, hashed with SHA-256', () => {
    const a = newRefreshToken();
    const b = newRefreshToken();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a, 'base64url')).toHaveLength(32);
    expect(a).not.toBe(b);
    expect(isWellFormedRefreshToken(a)).toBe(true);
    for (const bad of ['', 'x', `${a}=`, a.slice(1), `${a.slice(1)}!`, 42, null]) expect(isWellFormedRefreshToken(bad)).toBe(false);
    expect(hashRefreshToken(a)).toBe(hashRefreshToken(a));
    expect(hashRefreshToken(a)).not.toBe(hashRefreshToken(b));
    expect(hashRefreshToken(a)).not.toContain(a);
    expect(Buffer.from(hashRefreshToken(a), 'base64url')).toHaveLength(32);
    expect(newSessionId()).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });
});
