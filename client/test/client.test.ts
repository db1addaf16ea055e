/** The real-time client against the running Worker. */
import { afterEach, describe, expect, it } from 'vitest';
import { CascadeClient, type CascadeClientOptions, type ChangeEvent, type GapEvent, type ResyncEvent } from '../src/client.js';
import { CascadeApiError } from '../src/errors.js';
import { changeStream } from '../src/stream.js';
import type { ConnectionState } from '../src/client.js';
import { adminHttp, adminToken, baseUrl, freshTenant, instrumentedWebSocket, NodeWebSocket, until } from './support/harness.js';
import { mintToken } from './support/token.js';

const clients: CascadeClient[] = [];

function client(options: Partial<CascadeClientOptions> & { tenant: string }): CascadeClient {
  const c = new CascadeClient({ baseUrl: baseUrl(), token: adminToken(), WebSocket: NodeWebSocket, ...options });
  clients.push(c);
  return c;
}

function record<T>(subscribe: (push: (value: T) => void) => unknown): T[] {
  const seen: T[] = [];
  subscribe((value) => seen.push(value));
  return seen;
}

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

describe('CascadeClient', () => {
  it('connects, goes open, and holds the tracked documents as the server has them', async () => {
    const tenant = await freshTenant('conn');
    const http = adminHttp();
    await http.putConfig(tenant, 'notifications', { email: { enabled: true } });
    const c = client({ tenant, namespaces: ['notifications', 'never-written'] });
    const states = record<ConnectionState>((push) => c.on('state', push));
    c.connect();
    await until(() => c.state === 'open', 'open');
    expect(states).toEqual(['connecting', 'open']);
    expect(c.lastSeq).toBe(1);
    expect(c.document('notifications')).toEqual(await http.getEffective(tenant, 'notifications'));
    expect(c.document('never-written')).toMatchObject({ version: 0, config: {} });
  });

  it('applies the patch of a change made over HTTP, ending equal to the server document', async () => {
    const tenant = await freshTenant('patch');
    const http = adminHttp();
    const c = client({ tenant, namespaces: ['notifications'] });
    const changes = record<ChangeEvent>((push) => c.on('change', push));
    c.connect();
    await until(() => c.state === 'open', 'open');
    const writes = [
      { email: { enabled: true, from: 'ops@example.com' }, sms: { provider: 'twilio' } },
      { email: { enabled: false, from: 'ops@example.com' }, channels: ['email', 'push'] },
      { email: { enabled: false }, channels: ['push'], 'a/b~c': { nested: [1, { x: 2 }] } },
    ];
    for (const [i, body] of writes.entries()) {
      const ack = await http.putConfig(tenant, 'notifications', body);
      await until(() => changes.length === i + 1, `change ${i + 1}`);
      const event = changes[i]!;
      expect(event.frame.seq).toBe(ack.seq);
      expect(event.resynced).toBe(false);
      expect(event.document?.config).toEqual(body);
      expect(c.document('notifications')).toEqual(await http.getEffective(tenant, 'notifications'));
    }
    expect(changes[1]!.previous?.config).toEqual(writes[0]);
    expect(changes[0]!.frame).toMatchObject({ type: 'config-updated', scope: 'tenant', tenant, triggeredBy: 'test-admin' });
    expect(c.lastSeq).toBe(3);
  });

  it('sends each namespace family to its own event handler', async () => {
    const tenant = await freshTenant('events');
    const c = client({ tenant });
    const seen: string[] = [];
    for (const type of ['config-updated', 'module-changed', 'auth-changed', 'rbac-changed'] as const) {
      c.on(type, (event) => seen.push(`${type}:${event.frame.namespace}`));
    }
    c.connect();
    await until(() => c.state === 'open', 'open');
    const http = adminHttp();
    for (const namespace of ['modules', 'auth', 'rbac', 'business']) await http.putConfig(tenant, namespace, { on: true });
    await until(() => seen.length === 4, 'four events');
    expect(seen).toEqual(['module-changed:modules', 'auth-changed:auth', 'rbac-changed:rbac', 'config-updated:business']);
  });

  it('streams filtered changes in order through for-await', async () => {
    const tenant = await freshTenant('stream');
    const c = client({ tenant });
    c.connect();
    await until(() => c.state === 'open', 'open');
    const abort = new AbortController();
    const stream = changeStream(c, { namespaces: ['business'], signal: abort.signal });
    const http = adminHttp();
    await http.putConfig(tenant, 'business', { step: 1 });
    await http.putConfig(tenant, 'modules', { ignored: true });
    await http.putConfig(tenant, 'business', { step: 2 });
    const got: number[] = [];
    for await (const event of stream) {
      got.push(event.frame.seq);
      if (got.length === 2) abort.abort();
    }
    expect(got).toEqual([1, 3]);
  });

  it('detects a gap in seq and fetches the documents again over HTTP', async () => {
    const tenant = await freshTenant('gap');
    const http = adminHttp();
    // Lose the frame of seq 2 on the way, as a flaky network would.
    const { Impl } = instrumentedWebSocket((text) => text.includes('"seq":2,'));
    const c = client({ tenant, namespaces: ['notifications'], WebSocket: Impl });
    const gaps = record<GapEvent>((push) => c.on('gap', push));
    const resyncs = record<ResyncEvent>((push) => c.on('resync', push));
    const changes = record<ChangeEvent>((push) => c.on('change', push));
    c.connect();
    await until(() => c.state === 'open', 'open');
    await http.putConfig(tenant, 'notifications', { a: 1 });
    await http.putConfig(tenant, 'notifications', { a: 2, b: [1, 2] });
    await http.putConfig(tenant, 'notifications', { a: 3, b: [2] });
    await until(() => changes.length === 2, 'two changes delivered');
    expect(gaps).toEqual([{ expected: 2, received: 3 }]);
    expect(resyncs.map((r) => r.reason)).toEqual(['connect', 'gap']);
    expect(changes.map((e) => [e.frame.seq, e.resynced])).toEqual([
      [1, false],
      [3, true],
    ]);
    expect(c.lastSeq).toBe(3);
    expect(c.document('notifications')).toEqual(await http.getEffective(tenant, 'notifications'));
    // Back in step: the next change is patched again.
    await http.putConfig(tenant, 'notifications', { a: 4 });
    await until(() => changes.length === 3, 'third change');
    expect(changes[2]!.resynced).toBe(false);
    expect(c.document('notifications')?.config).toEqual({ a: 4 });
  });

  it('reconnects after the connection drops, resumes from its seq and catches up on missed changes', async () => {
    const tenant = await freshTenant('reconn');
    const http = adminHttp();
    const { Impl, sockets, urls } = instrumentedWebSocket();
    const c = client({ tenant, namespaces: ['notifications'], WebSocket: Impl, backoff: { initialMs: 300, maxMs: 300 } });
    const states = record<ConnectionState>((push) => c.on('state', push));
    const resyncs = record<ResyncEvent>((push) => c.on('resync', push));
    c.connect();
    await until(() => c.state === 'open', 'open');
    await http.putConfig(tenant, 'notifications', { round: 1 });
    await until(() => c.lastSeq === 1, 'seq 1');
    sockets[0]!.terminate(); // the network goes away without a close handshake
    await until(() => c.state === 'reconnecting', 'reconnecting');
    await http.putConfig(tenant, 'notifications', { round: 2, missed: true });
    await http.putConfig(tenant, 'modules', { billing: true });
    await until(() => c.state === 'open' && sockets.length === 2, 'open again');
    expect(states).toEqual(['connecting', 'open', 'reconnecting', 'open']);
    expect(new URL(urls[1]!).searchParams.get('since')).toBe('1');
    expect(resyncs.map((r) => r.reason)).toEqual(['connect', 'reconnect']);
    expect(c.lastSeq).toBe(3);
    expect(c.document('notifications')).toEqual(await http.getEffective(tenant, 'notifications'));
  });

  it('reconnects without fetching again when nothing was missed', async () => {
    const tenant = await freshTenant('quiet');
    const { Impl, sockets } = instrumentedWebSocket();
    const c = client({ tenant, namespaces: ['notifications'], WebSocket: Impl, backoff: { initialMs: 100, maxMs: 100 } });
    const resyncs = record<ResyncEvent>((push) => c.on('resync', push));
    c.connect();
    await until(() => c.state === 'open', 'open');
    sockets[0]!.terminate();
    await until(() => c.state === 'open' && sockets.length === 2, 'open again');
    expect(resyncs.map((r) => r.reason)).toEqual(['connect']);
  });

  it('refuses to retry a token the server rejects, and closes with the typed error', async () => {
    const tenant = await freshTenant('auth');
    for (const [token, status, code] of [
      ['not-a-jwt', 401, 'CASCADE:Auth:Unauthenticated'],
      [mintToken('platform-admin', undefined, 'old', -60), 401, 'CASCADE:Auth:Unauthenticated'],
      [mintToken('tenant-admin', 'someone-else', 'eve'), 403, undefined],
    ] as const) {
      const { Impl, sockets } = instrumentedWebSocket();
      const c = client({ tenant, token, WebSocket: Impl, backoff: { initialMs: 50, maxMs: 50 } });
      const errors = record<Error>((push) => c.on('error', push));
      c.connect();
      await until(() => errors.length > 0, `error for ${status}`);
      expect(c.state).toBe('closed');
      const error = c.lastError;
      expect(error).toBeInstanceOf(CascadeApiError);
      expect((error as CascadeApiError).status).toBe(status);
      if (code) expect((error as CascadeApiError).code).toBe(code);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(sockets).toHaveLength(1); // no retry
    }
  });

  it('sends heartbeats and measures their round trip', async () => {
    const tenant = await freshTenant('beat');
    const c = client({ tenant, heartbeat: { intervalMs: 100, timeoutMs: 2000 } });
    const pongs = record<{ rttMs: number | undefined }>((push) => c.on('pong', push));
    c.connect();
    await until(() => pongs.length >= 3, 'three pongs');
    for (const pong of pongs) expect(pong.rttMs).toBeGreaterThanOrEqual(0);
    expect(c.state).toBe('open');
  });

  it('treats a missing pong as a dead socket and reconnects', async () => {
    const tenant = await freshTenant('dead');
    let swallowPongs = true;
    const { Impl, sockets } = instrumentedWebSocket((text) => swallowPongs && text === '{"type":"pong"}');
    const c = client({ tenant, WebSocket: Impl, heartbeat: { intervalMs: 100, timeoutMs: 300 }, backoff: { initialMs: 50, maxMs: 50 } });
    const states = record<ConnectionState>((push) => c.on('state', push));
    const errors = record<Error>((push) => c.on('error', push));
    c.connect();
    await until(() => states.includes('reconnecting'), 'declared dead');
    expect(errors.some((e) => e.message.includes('heartbeat'))).toBe(true);
    swallowPongs = false;
    await until(() => c.state === 'open' && sockets.length >= 2, 'reconnected');
    expect(states.slice(0, 3)).toEqual(['connecting', 'open', 'reconnecting']);
  });

  it('starts holding a namespace on demand with track()', async () => {
    const tenant = await freshTenant('track');
    const http = adminHttp();
    await http.putConfig(tenant, 'mfa', { required: false });
    const c = client({ tenant });
    c.connect();
    await until(() => c.state === 'open', 'open');
    expect(c.document('mfa')).toBeUndefined();
    const doc = await c.track('mfa');
    expect(doc.config).toEqual({ required: false });
    await http.putConfig(tenant, 'mfa', { required: true, methods: ['totp'] });
    await until(() => c.document('mfa')?.version === 2, 'patched');
    expect(c.document('mfa')?.config).toEqual({ required: true, methods: ['totp'] });
  });
});
