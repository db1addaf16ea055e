/** The real-time client against the running Worker. */
import { afterEach, describe, expect, it } from 'vitest';
import {
  CascadeClient,
  type CascadeClientOptions,
  type ChangeEvent,
  type ConnectionState,
  type ResyncEvent,
  type SnapshotEvent,
  type SyncedEvent,
} from '@cascade/client';
import { CascadeApiError, CascadeFrameError } from '@cascade/client';
import { changeStream } from '@cascade/client';
import type { HelloFrame, ServerFrame, SyncStatusFrame } from '@cascade/client';
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

/** A fetch that records every URL the client asks for over HTTP. */
function countingFetch(): { fetch: typeof fetch; urls: string[] } {
  const urls: string[] = [];
  return {
    urls,
    fetch: (input, init) => {
      urls.push(String(input));
      return fetch(input, init);
    },
  };
}

/** The frames each connection received, split at every `hello`. */
function framesByConnection(c: CascadeClient): ServerFrame[][] {
  const connections: ServerFrame[][] = [];
  c.on('frame', (frame) => {
    if (frame.type === 'hello') connections.push([]);
    connections.at(-1)?.push(frame);
  });
  return connections;
}

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

describe('CascadeClient', () => {
  it('first connects with since=0 and holds what the snapshot says, equal to GET effective, without an HTTP read', async () => {
    const tenant = await freshTenant('conn');
    const http = adminHttp();
    await http.putConfig(tenant, 'notifications', { email: { enabled: true } });
    await http.putConfig(tenant, 'modules', { billing: true });
    const { Impl, urls } = instrumentedWebSocket();
    const counted = countingFetch();
    const c = client({ tenant, WebSocket: Impl, fetch: counted.fetch });
    const states = record<ConnectionState>((push) => c.on('state', push));
    const hellos = record<HelloFrame>((push) => c.on('hello', push));
    const snapshots = record<SnapshotEvent>((push) => c.on('snapshot', push));
    const synced = record<SyncedEvent>((push) => c.on('synced', push));
    c.connect();
    await until(() => c.state === 'open', 'open');
    expect(states).toEqual(['connecting', 'open']);
    expect(new URL(urls[0]!).searchParams.get('since')).toBe('0');
    expect(new URL(urls[0]!).searchParams.has('namespaces')).toBe(false);
    expect(hellos).toEqual([{ type: 'hello', tenant, seq: 2, resume: 'snapshot' }]);
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0]!.replaced).toBe(false);
    expect(synced).toEqual([{ seq: 2, resume: 'snapshot', replayed: 0 }]);
    expect(c.lastSeq).toBe(2);
    expect(counted.urls).toEqual([]); // the state came over the socket
    expect(c.documents().map((d) => d.namespace).sort()).toEqual(['modules', 'notifications']);
    expect(c.document('notifications')).toEqual(await http.getEffective(tenant, 'notifications'));
    expect(c.document('modules')).toEqual(await http.getEffective(tenant, 'modules'));
  });

  it('holds a listed namespace that was never written as the empty document GET effective returns', async () => {
    const tenant = await freshTenant('empty');
    const http = adminHttp();
    await http.putConfig(tenant, 'notifications', { email: { enabled: true } });
    const c = client({ tenant, namespaces: ['notifications', 'never-written'] });
    c.connect();
    await until(() => c.state === 'open', 'open');
    expect(c.document('never-written')).toEqual(await http.getEffective(tenant, 'never-written'));
    expect(c.document('never-written')).toMatchObject({ version: 0, config: {} });
    expect(c.document('notifications')).toEqual(await http.getEffective(tenant, 'notifications'));
  });

  it('applies the patch of a change made over HTTP, ending equal to the server document', async () => {
    const tenant = await freshTenant('patch');
    const http = adminHttp();
    const c = client({ tenant });
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

  it('gives a user exactly its effective config although it receives only some changes, with no refetch on seq jumps', async () => {
    const tenant = await freshTenant('user');
    const http = adminHttp();
    await http.putConfig(tenant, 'notifications', { email: true, sms: 'tenant' }); // seq 1
    await http.putUserConfig(tenant, 'ann', 'notifications', { sms: 'mine' }); // seq 2
    const counted = countingFetch();
    const c = client({ tenant, token: mintToken('user', tenant, 'ann'), fetch: counted.fetch });
    const changes = record<ChangeEvent>((push) => c.on('change', push));
    const resyncs = record<ResyncEvent>((push) => c.on('resync', push));
    const snapshots = record<SnapshotEvent>((push) => c.on('snapshot', push));
    c.connect();
    await until(() => c.state === 'open', 'open');
    expect(c.lastSeq).toBe(2);
    expect(c.document('notifications')).toEqual(await http.getEffective(tenant, 'notifications', 'ann'));
    expect(c.document('notifications')).toMatchObject({ scope: 'user', config: { email: true, sms: 'mine' } });

    await http.putConfig(tenant, 'notifications', { email: true, sms: 'tenant-2' }); // seq 3: shadowed by ann's sms
    await http.putUserConfig(tenant, 'bob', 'notifications', { email: false }); // seq 4: another user's layer
    await http.putConfig(tenant, 'notifications', { email: false, sms: 'tenant-2' }); // seq 5: reaches ann
    await http.putConfig(tenant, 'business', { currency: 'EUR' }); // seq 6: a namespace first written now
    await until(() => changes.length === 2, 'two changes');
    // Give a stray frame for seq 3 or 4 the time to arrive: there must be none.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(changes.map((e) => e.frame.seq)).toEqual([5, 6]);
    expect(c.lastSeq).toBe(6);
    expect(resyncs).toEqual([]);
    expect(snapshots).toHaveLength(1);
    expect(counted.urls).toEqual([]);
    expect(c.document('notifications')).toEqual(await http.getEffective(tenant, 'notifications', 'ann'));
    expect(c.document('notifications')?.config).toEqual({ email: false, sms: 'mine' });
    expect(c.document('business')).toEqual(await http.getEffective(tenant, 'business', 'ann'));
  });

  it('resyncs with a snapshot (since=0) when a patch does not apply', async () => {
    const tenant = await freshTenant('badpatch');
    const http = adminHttp();
    // Lose the frame of seq 1 on the way: the patch of seq 2 then does not apply.
    const { Impl, urls } = instrumentedWebSocket((text) => text.startsWith('{"type":"config-updated","seq":1,'));
    const c = client({ tenant, namespaces: ['notifications'], WebSocket: Impl });
    const resyncs = record<ResyncEvent>((push) => c.on('resync', push));
    const hellos = record<HelloFrame>((push) => c.on('hello', push));
    const snapshots = record<SnapshotEvent>((push) => c.on('snapshot', push));
    const changes = record<ChangeEvent>((push) => c.on('change', push));
    c.connect();
    await until(() => c.state === 'open', 'open');
    await http.putConfig(tenant, 'notifications', { a: 1 });
    await http.putConfig(tenant, 'notifications', { a: 2, b: [1, 2] });
    await until(() => snapshots.length === 2 && c.state === 'open', 'resynced');
    expect(resyncs.map((r) => [r.reason, r.frame?.seq])).toEqual([['patch-failed', 2]]);
    expect(urls.map((u) => new URL(u).searchParams.get('since'))).toEqual(['0', '0']);
    expect(hellos.map((h) => h.resume)).toEqual(['snapshot', 'snapshot']);
    expect(snapshots[1]!.replaced).toBe(true);
    expect(changes).toEqual([]);
    expect(c.lastSeq).toBe(2);
    expect(c.document('notifications')).toEqual(await http.getEffective(tenant, 'notifications'));
    // Back in step: the next change is patched.
    await http.putConfig(tenant, 'notifications', { a: 4 });
    await until(() => changes.length === 1, 'next change');
    expect(changes[0]!.previous?.config).toEqual({ a: 2, b: [1, 2] });
    expect(c.document('notifications')?.config).toEqual({ a: 4 });
  });

  it('is replayed exactly the frames it missed while its socket was down', async () => {
    const tenant = await freshTenant('replay');
    const http = adminHttp();
    const { Impl, sockets, urls } = instrumentedWebSocket();
    // A fixed 1.5 s before reconnecting, so the writes below happen while away.
    const c = client({ tenant, WebSocket: Impl, backoff: { initialMs: 1500, maxMs: 1500 }, random: () => 1 });
    const states = record<ConnectionState>((push) => c.on('state', push));
    const changes = record<ChangeEvent>((push) => c.on('change', push));
    const synced = record<SyncedEvent>((push) => c.on('synced', push));
    const snapshots = record<SnapshotEvent>((push) => c.on('snapshot', push));
    const connections = framesByConnection(c);
    c.connect();
    await until(() => c.state === 'open', 'open');
    for (let i = 1; i <= 7; i++) {
      await http.putConfig(tenant, i % 3 === 0 ? 'modules' : 'notifications', { round: i, list: Array.from({ length: i }, (_, k) => k) });
      if (i === 3) {
        // Cut the network right after the third write was acknowledged, whether or not
        // its frame has arrived yet.
        await until(() => c.lastSeq !== undefined && c.lastSeq >= 2, 'seq 2');
        sockets[0]!.terminate();
      }
    }
    await until(() => c.state === 'open' && sockets.length === 2, 'open again');
    expect(states).toEqual(['connecting', 'open', 'reconnecting', 'open']);
    // It resumed from the last frame it had applied (2 or 3, depending on the race).
    const since = Number(new URL(urls[1]!).searchParams.get('since'));
    const firstSeqs = connections[0]!.flatMap((f) => ('namespace' in f ? [f.seq] : []));
    expect(since).toBe(firstSeqs.at(-1));
    expect([2, 3]).toContain(since);
    const second = connections[1]!;
    expect(second[0]).toMatchObject({ type: 'hello', seq: 7, resume: 'replay' });
    // Exactly the missed frames, in order, then synced; no snapshot, no duplicate.
    const replayed = second.slice(1).map((f) => (f.type === 'synced' ? 'synced' : 'seq' in f ? f.seq : f.type));
    expect(replayed).toEqual([...Array.from({ length: 7 - since }, (_, k) => since + 1 + k), 'synced']);
    expect(synced[1]).toEqual({ seq: 7, resume: 'replay', replayed: 7 - since });
    expect(snapshots).toHaveLength(1);
    expect(changes.map((e) => e.frame.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(c.lastSeq).toBe(7);
    expect(c.document('notifications')).toEqual(await http.getEffective(tenant, 'notifications'));
    expect(c.document('modules')).toEqual(await http.getEffective(tenant, 'modules'));
  });

  it('asks for a fresh token when its socket is closed at token expiry, and resumes missing nothing', async () => {
    const tenant = await freshTenant('expiry');
    const http = adminHttp();
    const { Impl, urls } = instrumentedWebSocket();
    let minted = 0;
    // Every connection gets a token that expires within 3 s; a slow backoff shows the
    // reconnection at token expiry does not wait for it.
    const token = () => {
      minted++;
      return mintToken('tenant-admin', tenant, 'ann', 3);
    };
    const c = client({ tenant, token, WebSocket: Impl, backoff: { initialMs: 5000, maxMs: 5000 }, random: () => 1 });
    const changes = record<ChangeEvent>((push) => c.on('change', push));
    const errors = record<Error>((push) => c.on('error', push));
    const states = record<ConnectionState>((push) => c.on('state', push));
    c.connect();
    await until(() => c.state === 'open', 'open');
    const written: number[] = [];
    // Writes every 200 ms for 8 s: the socket expires twice or more in between.
    for (let n = 0; n < 40; n++) {
      const ack = await http.putConfig(tenant, 'flags', { n });
      written.push(ack.seq);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await until(() => c.lastSeq === written.at(-1) && c.state === 'open', 'the last write', 15_000);
    expect(urls.length).toBeGreaterThanOrEqual(3);
    expect(minted).toBe(urls.length);
    // Each reconnection resumed after what the client held, without a snapshot.
    for (const url of urls.slice(1)) expect(Number(new URL(url).searchParams.get('since'))).toBeGreaterThan(0);
    expect(changes.map((e) => e.frame.seq)).toEqual(written);
    expect(c.document('flags')).toEqual(await http.getEffective(tenant, 'flags'));
    expect(errors).toEqual([]);
    expect(states.filter((s) => s === 'reconnecting').length).toBe(urls.length - 1);
  }, 30_000);

  it('reconnects with a replay of nothing when nothing was missed', async () => {
    const tenant = await freshTenant('quiet');
    await adminHttp().putConfig(tenant, 'notifications', { quiet: true });
    const { Impl, sockets, urls } = instrumentedWebSocket();
    const c = client({ tenant, WebSocket: Impl, backoff: { initialMs: 100, maxMs: 100 } });
    const snapshots = record<SnapshotEvent>((push) => c.on('snapshot', push));
    const synced = record<SyncedEvent>((push) => c.on('synced', push));
    c.connect();
    await until(() => c.state === 'open', 'open');
    sockets[0]!.terminate();
    await until(() => c.state === 'open' && sockets.length === 2, 'open again');
    expect(new URL(urls[1]!).searchParams.get('since')).toBe('1');
    expect(synced).toEqual([
      { seq: 1, resume: 'snapshot', replayed: 0 },
      { seq: 1, resume: 'replay', replayed: 0 },
    ]);
    expect(snapshots).toHaveLength(1);
  });

  it('follows only the namespaces it subscribes to', async () => {
    const tenant = await freshTenant('sub');
    const http = adminHttp();
    await http.putConfig(tenant, 'modules', { before: true });
    const { Impl, urls } = instrumentedWebSocket();
    const c = client({ tenant, WebSocket: Impl, namespaces: ['business'] });
    const frames = record<ServerFrame>((push) => c.on('frame', push));
    const changes = record<ChangeEvent>((push) => c.on('change', push));
    c.connect();
    await until(() => c.state === 'open', 'open');
    expect(new URL(urls[0]!).searchParams.get('namespaces')).toBe('business');
    await http.putConfig(tenant, 'business', { step: 1 });
    await http.putConfig(tenant, 'modules', { ignored: true });
    await http.putConfig(tenant, 'auth', { ignored: true });
    await http.putConfig(tenant, 'business', { step: 2 });
    await until(() => changes.length === 2, 'two business changes');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(changes.map((e) => [e.frame.namespace, e.frame.seq])).toEqual([
      ['business', 2],
      ['business', 5],
    ]);
    // Not even a frame of the others reached the socket, and the snapshot held only business.
    expect(frames.filter((f) => 'namespace' in f && f.namespace !== 'business')).toEqual([]);
    const snapshot = frames.find((f) => f.type === 'snapshot');
    expect(snapshot && 'configs' in snapshot ? Object.keys(snapshot.configs) : null).toEqual([]);
    expect(c.documents().map((d) => d.namespace)).toEqual(['business']);
    expect(c.document('business')).toEqual(await http.getEffective(tenant, 'business'));
  });

  it('gives an admin the tenant sync-status after each change and on request, and refuses it to a user', async () => {
    const tenant = await freshTenant('status');
    const http = adminHttp();
    const admin = client({ tenant, token: mintToken('tenant-admin', tenant, 'ada') });
    const statuses = record<SyncStatusFrame>((push) => admin.on('sync-status', push));
    const user = client({ tenant, token: mintToken('user', tenant, 'ann') });
    const userStatuses = record<SyncStatusFrame>((push) => user.on('sync-status', push));
    const userErrors = record<Error>((push) => user.on('error', push));
    const userChanges = record<ChangeEvent>((push) => user.on('change', push));
    admin.connect();
    user.connect();
    await until(() => admin.state === 'open' && user.state === 'open', 'both open');
    const ack = await http.putConfig(tenant, 'notifications', { email: true });
    await until(() => statuses.some((s) => s.scope === 'tenant' && s.seq === ack.seq), 'sync-status after the change');
    expect(statuses.at(-1)).toEqual({
      type: 'sync-status', scope: 'tenant', tenant, status: 'success', seq: ack.seq, platformSeq: 0, pendingChanges: 0, openConflicts: 0,
    });
    expect(admin.syncStatus).toEqual(statuses.at(-1));
    const before = statuses.length;
    expect(admin.requestStatus()).toBe(true);
    await until(() => statuses.length === before + 1, 'sync-status on request');
    await until(() => userChanges.length === 1, 'the user got the change');
    expect(user.requestStatus()).toBe(true);
    await until(() => userErrors.length > 0, 'refusal');
    expect(userErrors[0]).toBeInstanceOf(CascadeFrameError);
    expect((userErrors[0] as CascadeFrameError).code).toBe('CASCADE:Frame:Forbidden');
    expect(userStatuses).toEqual([]);
    expect(user.state).toBe('open');
  });

  it('closes with the typed 400 when the server refuses the subscription', async () => {
    const tenant = await freshTenant('badquery');
    const { Impl, sockets } = instrumentedWebSocket();
    const c = client({ tenant, WebSocket: Impl, namespaces: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'] });
    const errors = record<Error>((push) => c.on('error', push));
    c.connect();
    await until(() => errors.length > 0, 'error');
    expect(c.state).toBe('closed');
    expect(c.lastError).toBeInstanceOf(CascadeApiError);
    expect(c.lastError).toMatchObject({ status: 400, code: 'CASCADE:Connect:BadQuery' });
    expect(sockets).toHaveLength(0); // checked before dialling: the refusal comes during the handshake, unreadable
    expect(() => client({ tenant, namespaces: ['a b'] })).not.toThrow();
    const named = client({ tenant, namespaces: ['a b'] });
    named.connect();
    await until(() => named.state === 'closed', 'closed');
    expect(named.lastError).toMatchObject({ status: 400, code: 'CASCADE:Connect:BadQuery' });
    const seven = client({ tenant, namespaces: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] });
    seven.connect();
    await until(() => seven.state === 'open', 'seven namespaces are fine');
    await expect(seven.track('h')).rejects.toMatchObject({ code: 'CASCADE:Connect:BadQuery' });
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

  it('adds a namespace to its subscription with track(), from a fresh snapshot', async () => {
    const tenant = await freshTenant('track');
    const http = adminHttp();
    await http.putConfig(tenant, 'mfa', { required: false });
    const { Impl, urls } = instrumentedWebSocket();
    const c = client({ tenant, WebSocket: Impl, namespaces: ['notifications'] });
    const resyncs = record<ResyncEvent>((push) => c.on('resync', push));
    c.connect();
    await until(() => c.state === 'open', 'open');
    expect(c.document('mfa')).toBeUndefined();
    const doc = await c.track('mfa');
    expect(doc).toEqual(await http.getEffective(tenant, 'mfa'));
    expect(resyncs.map((r) => r.reason)).toEqual(['subscription']);
    expect(new URL(urls[1]!).searchParams.get('namespaces')).toBe('notifications,mfa');
    await http.putConfig(tenant, 'mfa', { required: true, methods: ['totp'] });
    await until(() => c.document('mfa')?.version === 2, 'patched');
    expect(c.document('mfa')?.config).toEqual({ required: true, methods: ['totp'] });
  });
});
