/**
 * First paint without the socket: a client started from a server-side bootstrap or a
 * persisted cache holds documents before connecting, then resumes with `since=seq`, so the
 * hub replays what changed in between instead of sending a snapshot.
 */
import { CascadeClient, fetchBootstrap, memoryStorage, type CascadeClientOptions, type ServerFrame } from '@cascade/client';
import { afterEach, describe, expect, it } from 'vitest';
import { adminHttp, adminToken, baseUrl, freshTenant, instrumentedWebSocket, NodeWebSocket, until } from './support/harness.js';
import { mintToken } from './support/token.js';

const clients: CascadeClient[] = [];

function client(options: Partial<CascadeClientOptions> & { tenant: string }): CascadeClient {
  const c = new CascadeClient({ baseUrl: baseUrl(), token: adminToken(), WebSocket: NodeWebSocket, ...options });
  clients.push(c);
  return c;
}

function frames(c: CascadeClient): ServerFrame[] {
  const seen: ServerFrame[] = [];
  c.on('frame', (frame) => seen.push(frame));
  return seen;
}

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

describe('bootstrap', () => {
  it('fetchBootstrap takes the documents at the hub seq; a client starts from them and gets a write made since as a replay, without a snapshot', async () => {
    const tenant = await freshTenant('boot');
    const http = adminHttp();
    await http.putConfig(tenant, 'notifications', { email: { enabled: true } });
    await http.putConfig(tenant, 'modules', { billing: true });
    const bootstrap = await fetchBootstrap({ baseUrl: baseUrl(), tenant, token: adminToken(), WebSocket: NodeWebSocket, namespaces: ['notifications'] });
    expect(bootstrap).toMatchObject({ tenant, seq: 2, namespaces: ['notifications'], subject: 'test-admin' });
    expect(bootstrap.documents).toEqual([await http.getEffective(tenant, 'notifications')]);
    // It is JSON: what a server embeds in the page.
    const embedded = JSON.parse(JSON.stringify(bootstrap)) as typeof bootstrap;

    const ack = await http.putConfig(tenant, 'notifications', { email: { enabled: false } });
    const { Impl, urls } = instrumentedWebSocket();
    const c = client({ tenant, namespaces: ['notifications'], bootstrap: embedded, WebSocket: Impl });
    // First paint: before any socket.
    expect(c.startedFrom).toBe('bootstrap');
    expect(c.get('notifications', 'email.enabled', 'none')).toBe(true);
    expect(c.lastSeq).toBe(2);
    const seen = frames(c);
    c.connect();
    await until(() => c.state === 'open', 'open');
    expect(new URL(urls[0]!).searchParams.get('since')).toBe('2');
    expect(seen.map((f) => f.type)).toEqual(['hello', 'config-updated', 'synced']);
    expect(seen[0]).toMatchObject({ type: 'hello', resume: 'replay' });
    expect(seen[1]).toMatchObject({ seq: ack.seq, namespace: 'notifications' });
    expect(c.get('notifications', 'email.enabled', 'none')).toBe(false);
    expect(c.document('notifications')).toEqual(await http.getEffective(tenant, 'notifications'));
  });

  it('ignores a bootstrap that does not cover the subscription, or is another tenant\'s', async () => {
    const tenant = await freshTenant('bootmiss');
    const bootstrap = { tenant, seq: 5, documents: [], namespaces: ['notifications'] };
    expect(client({ tenant, namespaces: ['notifications', 'modules'], bootstrap }).startedFrom).toBe('none');
    expect(client({ tenant }).startedFrom).toBe('none');
    expect(client({ tenant, bootstrap: { ...bootstrap, namespaces: null } }).startedFrom).toBe('bootstrap');
    expect(client({ tenant: `${tenant}-other`, bootstrap: { ...bootstrap, namespaces: null } }).startedFrom).toBe('none');
    // A listed namespace the bootstrap has no document of was never written.
    expect(client({ tenant, namespaces: ['notifications'], bootstrap }).document('notifications')).toMatchObject({ version: 0, config: {} });
  });

  it('rejects with the server refusal when the token is not accepted', async () => {
    const tenant = await freshTenant('bootauth');
    await expect(fetchBootstrap({ baseUrl: baseUrl(), tenant, token: 'not-a-jwt', WebSocket: NodeWebSocket })).rejects.toThrow(
      /401 CASCADE:Auth:Unauthenticated/,
    );
  });
});

describe('persisted cache', () => {
  it('a second client paints from the cache and resumes after it, seeing the write made while closed', async () => {
    const tenant = await freshTenant('cache');
    const http = adminHttp();
    await http.putConfig(tenant, 'notifications', { theme: 'dark' });
    const storage = memoryStorage();
    const first = client({ tenant, cache: { storage } });
    expect(first.startedFrom).toBe('none');
    first.connect();
    await until(() => first.state === 'open', 'open');
    await http.putConfig(tenant, 'notifications', { theme: 'light' });
    await until(() => first.get('notifications', 'theme', '') === 'light', 'the change');
    first.close();
    expect(storage.size).toBe(1);

    await http.putConfig(tenant, 'notifications', { theme: 'solarized' });
    const { Impl, urls } = instrumentedWebSocket();
    const second = client({ tenant, cache: { storage }, WebSocket: Impl });
    expect(second.startedFrom).toBe('cache');
    expect(second.get('notifications', '/theme', '')).toBe('light');
    const seen = frames(second);
    second.connect();
    await until(() => second.state === 'open', 'open');
    expect(new URL(urls[0]!).searchParams.get('since')).toBe('2');
    expect(seen.some((f) => f.type === 'snapshot')).toBe(false);
    expect(second.get('notifications', 'theme', '')).toBe('solarized');
  });

  it('drops a cache of another subject and asks for a snapshot', async () => {
    const tenant = await freshTenant('cachesub');
    await adminHttp().putConfig(tenant, 'notifications', { theme: 'dark' });
    const storage = memoryStorage();
    const first = client({ tenant, cache: { storage } });
    first.connect();
    await until(() => first.state === 'open', 'open');
    first.close();

    const { Impl, urls } = instrumentedWebSocket();
    const other = client({ tenant, cache: { storage }, WebSocket: Impl, token: mintToken('platform-admin', undefined, 'another-admin') });
    expect(other.startedFrom).toBe('cache');
    const seen = frames(other);
    other.connect();
    await until(() => other.state === 'open', 'open');
    expect(new URL(urls[0]!).searchParams.get('since')).toBe('0');
    expect(seen.map((f) => f.type)).toContain('snapshot');
    expect(other.toBootstrap()?.subject).toBe('another-admin');
  });
});
