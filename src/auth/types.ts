import type { Role } from '../db/schema.js';
import type { SessionInfo } from './session-store.js';

/** Who is making a request, taken from a verified access token. */
export interface Viewer {
  userId: number;
  role: Role;
  /** The donor profile of a DONOR account; null for STAFF/ADMIN without one. */
  donorId: number | null;
  /** Session id (jti family): logout revokes it on every instance. */
  sessionId: string;
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
}

/** Session operations. Backed by Redis when configured, by process memory otherwise. */
export interface AuthService {
  /** Verifies an access token (signature, expiry, not revoked). Returns null for no token; throws UNAUTHENTICATED for a bad one. */
  authenticate(authorizationHeader: string | undefined | null): Promise<Viewer | null>;
  /** authenticate's first half: format, signature and expiry only (no I/O). */
  verify(authorizationHeader: string | undefined | null): Promise<Viewer | null>;
  /** authenticate's second half: throws UNAUTHENTICATED when the session was revoked (one store read). */
  checkSession(viewer: Viewer): Promise<void>;
  /** Starts a session for a user and returns its first token pair. `userAgent` gives mySessions its device hint. */
  issueSession(user: { id: number; role: Role; donorId: number | null }, client?: { userAgent?: string | null }): Promise<TokenPair>;
  /** Rotates a refresh token: the old one stops working, a new pair is returned. Throws UNAUTHENTICATED when invalid, used or revoked. */
  refresh(refreshToken: string, loadUser: (userId: number) => Promise<{ id: number; role: Role; donorId: number | null } | null>): Promise<{ tokens: TokenPair; userId: number }>;
  /** Revokes a session: its access and refresh tokens are refused at once, on every instance. */
  revokeSession(sessionId: string): Promise<void>;
  /** The user's live sessions, most recently used first. */
  listSessions(userId: number): Promise<SessionInfo[]>;
  /** Revokes one of the user's own sessions; false when the user has no such session. */
  revokeUserSession(userId: number, sessionId: string): Promise<boolean>;
  /** Revokes every session of the user (on every instance); returns their ids. */
  revokeAllSessions(userId: number): Promise<string[]>;
  close(): Promise<void>;
}
