/** Type-level tests of `client.get`: checked by `tsc --noEmit -p .` (part of `npm run build`). */
import { CascadeClient } from '@cascade/client';
// An interface, as users declare them (no index signature).
interface NS {
  notifications: { email: { enabled: boolean; from?: string }; tags: string[] };
  modules: Record<string, { enabled: boolean }>;
}
const c = new CascadeClient<NS>({ baseUrl: 'x', tenant: 't', token: 'x' });
const a: boolean = c.get('notifications', 'email.enabled', false);
const b: string = c.get('notifications', 'email.from', 'me');
const d: number = c.get('notifications', '/email/x', 3);
const e: boolean = c.get('modules', 'billing.enabled', true);
// @ts-expect-error wrong fallback type
c.get('notifications', 'email.enabled', 'no');
// @ts-expect-error unknown namespace
c.get('nope', 'x', 1);
const u = new CascadeClient({ baseUrl: 'x', tenant: 't', token: 'x' });
const f: boolean = u.get('anything', 'a.b', false);
const g: string[] = u.get('anything', '/a/b', ['x']);
void [a, b, d, e, f, g];
// A literal fallback reads as its value type.
const h: string = u.get('anything', 'theme', '');
if (h === 'light') void h;
