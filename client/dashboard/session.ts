/** The signed-in session: a pasted JWT, its claims, kept for the browser tab. */
import { jwtDecode } from 'jwt-decode';

/** Roles the API knows. */
export type Role = 'platform-admin' | 'tenant-admin' | 'user';

/** A signed-in user. */
export interface Session {
  token: string;
  sub: string;
  role: Role;
  /** The tenant of tenant admins and users. */
  tenant?: string;
  /** Expiry, ms since the epoch. */
  expiresAt?: number;
}

const KEY = 'cascade.session.token';

/** Reads a token's claims; throws a readable error when it is not a Cascade JWT. */
export function sessionFromToken(raw: string): Session {
  const token = raw.trim().replace(/^Bearer\s+/i, '');
  let claims: { sub?: unknown; role?: unknown; tid?: unknown; exp?: unknown };
  try {
    claims = jwtDecode(token);
  } catch {
    throw new Error('This is not a JWT (expected three base64url parts separated by dots).');
  }
  const role = claims.role;
  if (role !== 'platform-admin' && role !== 'tenant-admin' && role !== 'user') {
    throw new Error('The token has no Cascade role (platform-admin, tenant-admin or user).');
  }
  const expiresAt = typeof claims.exp === 'number' ? claims.exp * 1000 : undefined;
  if (expiresAt !== undefined && expiresAt < Date.now()) throw new Error('The token has expired.');
  return {
    token,
    sub: typeof claims.sub === 'string' ? claims.sub : 'unknown',
    role,
    tenant: typeof claims.tid === 'string' ? claims.tid : undefined,
    expiresAt,
  };
}

/** The session stored for this tab, if still valid. */
export function loadSession(): Session | undefined {
  const token = sessionStorage.getItem(KEY);
  if (!token) return undefined;
  try {
    return sessionFromToken(token);
  } catch {
    sessionStorage.removeItem(KEY);
    return undefined;
  }
}

/** Keeps (or, with undefined, forgets) the session for this tab. */
export function storeSession(session: Session | undefined): void {
  if (session) sessionStorage.setItem(KEY, session.token);
  else sessionStorage.removeItem(KEY);
}
