// Token primitives, pure (no I/O, no clock unless given): HS256 access tokens with jose,
// opaque refresh tokens of which the server keeps only a SHA-256 hash, and session ids.
import { createHash, randomBytes } from 'node:crypto';
import { SignJWT, jwtVerify, errors } from 'jose';
import { roleEnum, type Role } from '../db/schema.js';

export const ACCESS_TOKEN_ISSUER = 'lifeline';
export const ACCESS_TOKEN_AUDIENCE = 'lifeline-api';
const ALGORITHM = 'HS256';
/** Shortest accepted HMAC secret, in bytes (HS256 wants a key at least as long as its 256-bit output). */
export const MIN_SECRET_BYTES = 32;
/** Default leeway for exp/iat when verifying, in seconds, for clock skew between instances. */
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 5;

/** What an access token says about its bearer. */
export interface AccessTokenClaims {
  userId: number;
  role: Role;
  donorId: number | null;
  /** Session id (`sid` claim): revoking it refuses every token of the session. */
  sessionId: string;
}

export interface VerifiedAccessToken extends AccessTokenClaims {
  /** `iat`, seconds since the epoch. */
  issuedAt: number;
  /** `exp`, seconds since the epoch. */
  expiresAt: number;
}

export type AccessTokenCheck =
  | { ok: true; token: VerifiedAccessToken }
  | { ok: false; reason: 'expired' | 'invalid' };

export interface SignAccessTokenOptions {
  /** HS256 secret: a string (UTF-8) or raw bytes; at least 32 bytes. */
  secret: string | Uint8Array;
  /** Lifetime in seconds. */
  ttlSeconds: number;
  /** Issue time. Default: now. */
  now?: Date;
}

export interface VerifyAccessTokenOptions {
  secret: string | Uint8Array;
  /** Leeway for exp/iat in seconds. Default 5. */
  clockToleranceSeconds?: number;
  /** Verification time. Default: now. */
  now?: Date;
}

/** Encodes a secret once, so callers verifying on every request need not re-encode it. */
export function secretKey(secret: string | Uint8Array): Uint8Array {
  const key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  if (key.byteLength < MIN_SECRET_BYTES) {
    throw new Error(`JWT secret must be at least ${MIN_SECRET_BYTES} bytes: got ${key.byteLength}`);
  }
  return key;
}

export async function signAccessToken(claims: AccessTokenClaims, options: SignAccessTokenOptions): Promise<string> {
  if (!Number.isInteger(options.ttlSeconds) || options.ttlSeconds <= 0) {
    throw new Error(`access token ttlSeconds must be a positive integer: ${options.ttlSeconds}`);
  }
  const iat = Math.floor((options.now ?? new Date()).getTime() / 1000);
  return new SignJWT({ role: claims.role, donorId: claims.donorId, sid: claims.sessionId })
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setSubject(String(claims.userId))
    .setIssuer(ACCESS_TOKEN_ISSUER)
    .setAudience(ACCESS_TOKEN_AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + options.ttlSeconds)
    .sign(secretKey(options.secret));
}

const ROLES: readonly string[] = roleEnum.enumValues;
const isRole = (v: unknown): v is Role => typeof v === 'string' && ROLES.includes(v);
const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/**
 * Checks signature (HS256 only: `alg: none` and algorithm confusion are refused by jose),
 * issuer, audience, exp/iat, and the shape of every claim. Never throws for a bad token:
 * tells expired apart from invalid so the caller can say which.
 */
export async function verifyAccessToken(token: string, options: VerifyAccessTokenOptions): Promise<AccessTokenCheck> {
  let payload;
  try {
    ({ payload } = await jwtVerify(token, secretKey(options.secret), {
      algorithms: [ALGORITHM],
      issuer: ACCESS_TOKEN_ISSUER,
      audience: ACCESS_TOKEN_AUDIENCE,
      clockTolerance: options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ['sub', 'iat', 'exp', 'sid', 'role'],
      ...(options.now ? { currentDate: options.now } : {}),
    }));
  } catch (err) {
    // Only an otherwise valid token reaches the exp check, so "expired" never masks a forgery.
    if (err instanceof errors.JWTExpired) return { ok: false, reason: 'expired' };
    if (err instanceof errors.JOSEError) return { ok: false, reason: 'invalid' };
    if (err instanceof TypeError) return { ok: false, reason: 'invalid' }; // e.g. not a string
    throw err;
  }
  const userId = /^[1-9][0-9]{0,15}$/.test(payload.sub ?? '') ? Number(payload.sub) : NaN;
  const { role, donorId, sid } = payload as { role?: unknown; donorId?: unknown; sid?: unknown };
  if (!isId(userId) || !isRole(role) || !(donorId === null || isId(donorId)) || typeof sid !== 'string' || !sid) {
    return { ok: false, reason: 'invalid' };
  }
  return {
    ok: true,
    token: { userId, role, donorId, sessionId: sid, issuedAt: payload.iat!, expiresAt: payload.exp! },
  };
}

const REFRESH_TOKEN_BYTES = 32;
const REFRESH_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/; // 32 bytes in unpadded base64url

/** A new opaque refresh token: 32 random bytes, base64url. Give it to the client; store only its hash. */
export function newRefreshToken(): string {
  return randomBytes(REFRESH_TOKEN_BYTES).toString('base64url');
}

/** Whether a string can be a refresh token at all (cheap check before any lookup). */
export function isWellFormedRefreshToken(token: unknown): token is string {
  return typeof token === 'string' && REFRESH_TOKEN_PATTERN.test(token);
}

/**
 * SHA-256 of a refresh token, base64url. The server stores and looks up only this, so a
 * leaked Redis dump holds nothing a client could present. (A plain hash suffices: the token
 * has 256 bits of entropy, so there is nothing to brute-force.)
 */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** A new session id: 16 random bytes, base64url (22 characters). */
export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}
