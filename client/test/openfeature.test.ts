/**
 * The OpenFeature providers with the real SDKs against the running Worker: flag keys
 * `namespace/path`, synchronous web evaluation from the held documents (also straight from a
 * bootstrap), change events naming the flags a change touched, and the server provider.
 */
import { CascadeClient, fetchBootstrap, type CascadeClientOptions } from '@cascade/client';
import { flagKeyOf, parseFlagKey } from '@cascade/openfeature';
import { CascadeServerProvider } from '@cascade/openfeature/server';
import { CascadeWebProvider } from '@cascade/openfeature/web';
import { OpenFeature as ServerFeatures } from '@openfeature/server-sdk';
import { OpenFeature as WebFeatures, ProviderEvents, type EventDetails } from '@openfeature/web-sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { adminHttp, adminToken, baseUrl, freshTenant, NodeWebSocket, until } from './support/harness.js';
import { mintToken } from './support/token.js';

const clients: CascadeClient[] = [];
function client(options: Partial<CascadeClientOptions> & { tenant: string }): CascadeClient {
  const c = new CascadeClient({ baseUrl: baseUrl(), token: adminToken(), WebSocket: NodeWebSocket, ...options });
  clients.push(c);
  return c;
}

afterAll(async () => {
  await WebFeatures.clearProviders();
  await ServerFeatures.clearProviders();
  for (const c of clients) c.close();
});

const CONFIG = { email: { enabled: true, from: 'ops@example.com' }, limit: 5, theme: 'dark', 'v1.2': { on: true } };

describe('flag keys', () => {
  it('map to namespace and path, dotted or JSON Pointer', () => {
    expect(parseFlagKey('notifications/email.enabled')).toEqual({ namespace: 'notifications', path: 'email.enabled' });
    expect(parseFlagKey('notifications//v1.2/on')).toEqual({ namespace: 'notifications', path: '/v1.2/on' });
    expect(parseFlagKey('notifications')).toEqual({ namespace: 'notifications', path: '' });
    expect(flagKeyOf('notifications', '/email/enabled')).toBe('notifications/email.enabled');
    expect(flagKeyOf('notifications', '/v1.2/on')).toBe('notifications//v1.2/on');
  });
});

describe('CascadeWebProvider', () => {
  it('evaluates synchronously with reason and metadata, errors by code, and reports changed flags', async () => {
    const tenant = await freshTenant('ofweb');
    const http = adminHttp();
    await http.putConfig(tenant, 'notifications', CONFIG);
    await WebFeatures.setProviderAndWait(tenant, new CascadeWebProvider(client({ tenant })));
    const flags = WebFeatures.getClient(tenant);

    const details = flags.getBooleanDetails('notifications/email.enabled', false);
    expect(details).toMatchObject({ value: true, reason: 'STATIC', flagKey: 'notifications/email.enabled' });
    expect(details.flagMetadata).toEqual({ namespace: 'notifications', path: 'email.enabled', version: 1, subject: 'tenant', tenant, seq: 1 });
    expect(flags.getNumberValue('notifications//limit', 0)).toBe(5);
    expect(flags.getBooleanValue('notifications//v1.2/on', false)).toBe(true);
    expect(flags.getObjectValue('notifications/email', {})).toEqual(CONFIG.email);
    expect(flags.getBooleanDetails('notifications/email.missing', true)).toMatchObject({ value: true, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
    expect(flags.getBooleanDetails('billing/enabled', false)).toMatchObject({ value: false, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
    expect(flags.getNumberDetails('notifications/theme', 1)).toMatchObject({ value: 1, reason: 'ERROR', errorCode: 'TYPE_MISMATCH' });

    const changed: string[][] = [];
    flags.addHandler(ProviderEvents.ConfigurationChanged, (event?: EventDetails) => changed.push((event as { flagsChanged?: string[] } | undefined)?.flagsChanged ?? []));
    await http.putConfig(tenant, 'notifications', { ...CONFIG, email: { ...CONFIG.email, enabled: false } });
    await until(() => changed.length > 0, 'a configuration-changed event');
    expect(changed[0]).toEqual(['notifications/email.enabled']);
    expect(flags.getBooleanValue('notifications/email.enabled', true)).toBe(false);
  });

  it('is ready from a bootstrap before the socket has delivered anything', async () => {
    const tenant = await freshTenant('ofboot');
    await adminHttp().putConfig(tenant, 'notifications', CONFIG);
    const bootstrap = await fetchBootstrap({ baseUrl: baseUrl(), tenant, token: adminToken(), WebSocket: NodeWebSocket });
    const c = client({ tenant, bootstrap });
    await WebFeatures.setProviderAndWait(`${tenant}-boot`, new CascadeWebProvider(c));
    expect(c.state).not.toBe('open'); // still connecting: the value is the bootstrap's
    expect(WebFeatures.getClient(`${tenant}-boot`).getStringValue('notifications/theme', 'light')).toBe('dark');
  });
});

describe('CascadeServerProvider', () => {
  it('resolves flags from the tenant followed on the server', async () => {
    const tenant = await freshTenant('ofserver');
    await adminHttp().putConfig(tenant, 'notifications', CONFIG);
    await ServerFeatures.setProviderAndWait(tenant, new CascadeServerProvider(client({ tenant })));
    const flags = ServerFeatures.getClient(tenant);
    const details = await flags.getStringDetails('notifications/theme', 'light', { targetingKey: 'anyone' });
    expect(details).toMatchObject({ value: 'dark', reason: 'STATIC' });
    expect(details.flagMetadata).toMatchObject({ namespace: 'notifications', path: 'theme', subject: 'tenant', version: 1 });
    expect(await flags.getNumberDetails('notifications/missing', 7)).toMatchObject({ value: 7, errorCode: 'FLAG_NOT_FOUND' });
  });
});

describe('the scope a value came from', () => {
  it('is in the resolution details of both providers, and follows a change', async () => {
    const tenant = await freshTenant('ofscope');
    const http = adminHttp();
    await http.putConfig(tenant, 'prefs', { theme: { color: 'blue', font: 'serif' }, beta: true });
    await http.putUserConfig(tenant, 'ann', 'prefs', { theme: { color: 'red' } });

    // Over HTTP: the user's value over the tenant's.
    const doc = await http.getEffective(tenant, 'prefs', 'ann', { origins: true });
    expect(doc.config).toEqual({ theme: { color: 'red', font: 'serif' }, beta: true });
    expect(doc.origins).toEqual({ '': 'platform', '/beta': 'tenant', '/theme': 'tenant', '/theme/color': 'user' });
    expect((await http.getEffective(tenant, 'prefs', 'ann')).origins).toBeUndefined();

    // The web provider of ann's client (her own effective config), which asked for origins.
    const ann = client({ tenant, token: mintToken('user', tenant, 'ann'), origins: true });
    await WebFeatures.setProviderAndWait(`${tenant}-ann`, new CascadeWebProvider(ann));
    const flags = WebFeatures.getClient(`${tenant}-ann`);
    const color = flags.getStringDetails('prefs/theme.color', 'none');
    expect(color).toMatchObject({ value: 'red', reason: 'STATIC' });
    expect(color.flagMetadata).toMatchObject({ subject: 'user', scope: 'user' });
    expect(flags.getStringDetails('prefs/theme.font', 'none').flagMetadata.scope).toBe('tenant');
    expect(flags.getBooleanDetails('prefs//beta', false).flagMetadata.scope).toBe('tenant');
    expect(ann.origin('prefs', 'theme.color')).toBe('user');

    // Ann drops her own value: the tenant's shows through, and so does its scope.
    const changed: string[][] = [];
    flags.addHandler(ProviderEvents.ConfigurationChanged, (event?: EventDetails) => changed.push((event as { flagsChanged?: string[] } | undefined)?.flagsChanged ?? []));
    await http.putUserConfig(tenant, 'ann', 'prefs', {});
    await until(() => changed.length > 0, 'a configuration-changed event');
    const after = flags.getStringDetails('prefs/theme.color', 'none');
    expect(after).toMatchObject({ value: 'blue' });
    expect(after.flagMetadata.scope).toBe('tenant');
    expect(ann.document('prefs')?.origins).toEqual((await http.getEffective(tenant, 'prefs', 'ann', { origins: true })).origins);

    // The server provider over the tenant's client says it too; a client that did not ask, not.
    await ServerFeatures.setProviderAndWait(`${tenant}-server`, new CascadeServerProvider(client({ tenant, origins: true })));
    const server = await ServerFeatures.getClient(`${tenant}-server`).getStringDetails('prefs/theme.color', 'none', { targetingKey: 'x' });
    expect(server).toMatchObject({ value: 'blue' });
    expect(server.flagMetadata).toMatchObject({ subject: 'tenant', scope: 'tenant' });
    await ServerFeatures.setProviderAndWait(`${tenant}-plain`, new CascadeServerProvider(client({ tenant })));
    const plain = await ServerFeatures.getClient(`${tenant}-plain`).getStringDetails('prefs/theme.color', 'none', { targetingKey: 'x' });
    expect(plain.flagMetadata.scope).toBeUndefined();
  });
});
