/** Mints HS256 JWTs for the test runtime, like `scripts/token`. */
import { createHmac } from 'node:crypto';
import { TEST_JWT_SECRET } from './secret.js';

/** Roles a token can carry. */
export type Role = 'platform-admin' | 'tenant-admin' | 'user';

/** A token for `role` (of `tenant`, as `sub`), valid for `ttlSecs` (negative: already expired). */
export function mintToken(role: Role, tenant?: string, sub = `${role}-test`, ttlSecs = 3600, secret = TEST_JWT_SECRET): string {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = { sub, role, iat: now, exp: now + ttlSecs };
  if (tenant) claims.tid = tenant;
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}
