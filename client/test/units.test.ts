/** Pure parts of the client: backoff, frame parsing, patching, notification text. */
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '@cascade/client';
import { CascadeClient } from '@cascade/client';
import { DocumentStore } from '@cascade/client';
import { parseServerFrame } from '@cascade/client';
import { describeChange, describePatch } from '@cascade/client';
import { connectUrl, type WebSocketConstructor, type WebSocketLike } from '@cascade/client';
import { applyOrigins, originAt, toPointer } from '@cascade/client';
import { until } from './support/harness.js';
import type { ChangeFrame } from '@cascade/client';

const frame = (over: Partial<ChangeFrame>): ChangeFrame => ({
  type: 'config-updated', seq: 2, tenant: 'acme', scope: 'tenant', namespace: 'notifications', version: 2, patch: [], ...over,
});

describe('backoffDelay', () => {
  it('grows exponentially, is capped, and draws the jitter share at random', () => {
    const opts = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.5 };
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, opts, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(2, opts, () => 0)).toBe(200);
    expect(backoffDelay(2, { ...opts, jitter: 0 }, () => 0)).toBe(400);
  });
});

describe('parseServerFrame', () => {
  it('parses change frames and passes unknown types through', () => {
    const change = parseServerFrame(JSON.stringify({ ...frame({}), patch: [{ op: 'add', path: '/a', value: 1 }], triggeredBy: 'ann' }));
    expect(change).toMatchObject({ type: 'config-updated', seq: 2, triggeredBy: 'ann' });
    expect(parseServerFrame('{"type":"novel","seq":9}')).toEqual({ type: 'unknown', raw: { type: 'novel', seq: 9 } });
  });

  it('parses the resume frames: hello with its resume mode, snapshot, synced', () => {
    expect(parseServerFrame('{"type":"hello","tenant":"acme","seq":12,"resume":"replay"}')).toEqual({
      type: 'hello', tenant: 'acme', seq: 12, resume: 'replay',
    });
    // An older server's hello has no resume: it reads as none.
    expect(parseServerFrame('{"type":"hello","tenant":"acme","seq":4}')).toMatchObject({ resume: 'none' });
    const snapshot = '{"type":"snapshot","tenant":"acme","seq":12,"configs":{"auth":{"version":9,"config":{"mfa":true}}}}';
    expect(parseServerFrame(snapshot)).toEqual({
      type: 'snapshot', tenant: 'acme', seq: 12, configs: { auth: { version: 9, config: { mfa: true } } },
    });
    expect(parseServerFrame('{"type":"synced","seq":12}')).toEqual({ type: 'synced', seq: 12 });
  });

  it('parses both scopes of sync-status', () => {
    const tenant = { type: 'sync-status', scope: 'tenant', tenant: 'acme', status: 'partial', seq: 14, platformSeq: 3, pendingChanges: 1, openConflicts: 0 };
    expect(parseServerFrame(JSON.stringify(tenant))).toEqual(tenant);
    const platform = { type: 'sync-status', scope: 'platform', checkedAt: 1, platformSeq: 2, healthPercent: 50, tenantsByStatus: { success: 1, failed: 1 } };
    expect(parseServerFrame(JSON.stringify(platform))).toEqual({ ...platform, changed: {} });
  });

  it('rejects frames that miss what the client relies on', () => {
    expect(() => parseServerFrame('[1]')).toThrow(/not a frame/);
    expect(() => parseServerFrame('{"type":"hello","tenant":"a"}')).toThrow(/malformed hello/);
    expect(() => parseServerFrame('{"type":"hello","tenant":"a","seq":1,"resume":"rewind"}')).toThrow(/malformed hello/);
    expect(() => parseServerFrame('{"type":"snapshot","tenant":"a","seq":1,"configs":{"x":{"version":1}}}')).toThrow(/malformed snapshot/);
    expect(() => parseServerFrame('{"type":"synced"}')).toThrow(/malformed synced/);
    expect(() => parseServerFrame('{"type":"sync-status","scope":"galaxy"}')).toThrow(/malformed sync-status/);
    expect(() => parseServerFrame(JSON.stringify({ ...frame({}), scope: 'galaxy' }))).toThrow(/malformed config-updated/);
  });
});

describe('DocumentStore', () => {
  it('applies patches immutably, skips included versions, and reports patches that do not apply', () => {
    const store = new DocumentStore();
    const first = { scope: 'tenant' as const, tenant: 'acme', namespace: 'notifications', version: 1, config: { a: { b: 1 } } };
    store.set(first);
    const applied = store.apply(frame({ patch: [{ op: 'replace', path: '/a/b', value: 2 }] }));
    expect(applied.kind).toBe('applied');
    expect(store.get(first)?.config).toEqual({ a: { b: 2 } });
    expect(first.config).toEqual({ a: { b: 1 } });
    expect(store.apply(frame({ version: 2 })).kind).toBe('included');
    expect(store.apply(frame({ namespace: 'other' })).kind).toBe('not-held');
    // A namespace first written after the snapshot is patched from the empty document given.
    const base = { ...first, namespace: 'other', version: 0, config: {} };
    const created = store.apply(frame({ namespace: 'other', patch: [{ op: 'add', path: '/x', value: 1 }] }), base);
    expect(created).toMatchObject({ kind: 'applied', document: { namespace: 'other', version: 2, config: { x: 1 } } });
    const failed = store.apply(frame({ seq: 3, version: 3, patch: [{ op: 'remove', path: '/missing' }] }));
    expect(failed.kind).toBe('failed');
    expect(store.get(first)?.version).toBe(2);
  });
});

describe('origins', () => {
  const held = { '': 'platform', '/theme': 'tenant', '/theme/color': 'user', '/theme-2': 'tenant' } as const;

  it('answer the longest pointer that is the path or an ancestor, for dotted paths too', () => {
    expect(originAt(held, '/theme/color')).toBe('user');
    expect(originAt(held, 'theme.font')).toBe('tenant');
    expect(originAt(held, 'beta')).toBe('platform');
    expect(originAt({}, 'beta')).toBeUndefined();
    expect(toPointer('a/b.c~d')).toBe('/a~1b/c~0d');
  });

  it('take a change frame\'s entries in place of everything at and below its roots', () => {
    const next = applyOrigins(held, { '/theme': 'platform', '/theme/font': 'tenant' });
    expect(next).toEqual({ '': 'platform', '/theme': 'platform', '/theme/font': 'tenant', '/theme-2': 'tenant' });
    expect(applyOrigins(held, { '': 'platform' })).toEqual({ '': 'platform' });
  });

  it('follow a change frame in the document store, only onto a map already held', () => {
    const store = new DocumentStore();
    const base = { scope: 'user' as const, tenant: 'acme', namespace: 'notifications', version: 1 };
    store.set({ ...base, config: { theme: { color: 'red' } }, origins: { '': 'platform', '/theme/color': 'user' } });
    const change = frame({ patch: [{ op: 'replace', path: '/theme/color', value: 'blue' }], origins: { '/theme': 'platform', '/theme/color': 'tenant' } });
    const applied = store.apply(change);
    expect(applied.kind === 'applied' && applied.document.origins).toEqual({ '': 'platform', '/theme': 'platform', '/theme/color': 'tenant' });
    store.set({ ...base, config: { theme: { color: 'red' } } });
    const without = store.apply(change);
    expect(without.kind === 'applied' && without.document.origins).toBeUndefined();
  });

  it('parse from frames, and are asked for with origins=1', () => {
    const parsed = parseServerFrame(JSON.stringify({ ...frame({}), origins: { '': 'platform' } }));
    expect(parsed).toMatchObject({ origins: { '': 'platform' } });
    expect(parseServerFrame(JSON.stringify({ ...frame({}), origins: { '': 'nobody' } }))).not.toHaveProperty('origins');
    expect(connectUrl('http://h', 'acme', { since: 0, origins: true })).toBe('ws://h/v1/connect?tenant=acme&since=0&origins=1');
  });
});

describe('notifications', () => {
  it('says what changed, where, and by whom', () => {
    const note = describeChange(frame({ type: 'auth-changed', namespace: 'auth', patch: [{ op: 'add', path: '/sso~1saml', value: 1 }], triggeredBy: 'ann' }));
    expect(note.title).toBe('Sign-in settings updated');
    expect(note.message).toBe('sso/saml added — tenant acme, by ann (v2)');
    expect(describePatch([1, 2, 3, 4, 5].map((i) => ({ op: 'remove' as const, path: `/k${i}` })))).toBe('k1 removed, k2 removed, k3 removed and 2 more');
  });
});

describe('connectUrl', () => {
  it('uses ws/wss and carries tenant, since and namespaces', () => {
    expect(connectUrl('https://cascade.example/', 'acme', { since: 7 })).toBe('wss://cascade.example/v1/connect?tenant=acme&since=7');
    expect(connectUrl('http://127.0.0.1:8787', 'a b')).toBe('ws://127.0.0.1:8787/v1/connect?tenant=a+b');
    expect(connectUrl('http://h', 'acme', { since: 0, namespaces: ['auth', 'rbac'] })).toBe('ws://h/v1/connect?tenant=acme&since=0&namespaces=auth%2Crbac');
    expect(connectUrl('https://h', 'acme', { since: 3 }, 'http')).toBe('https://h/v1/connect?tenant=acme&since=3');
  });
});

describe('CascadeClient against a scripted hub', () => {
  /** A socket the test speaks for: it opens at once and delivers the frames it is given. */
  function scripted() {
    const sockets: Array<{ url: string; deliver: (frame: object) => void; sent: string[] }> = [];
    class Scripted implements WebSocketLike {
      readyState = 1;
      protocol = 'cascade';
      onopen: WebSocketLike['onopen'] = null;
      onmessage: WebSocketLike['onmessage'] = null;
      onclose: WebSocketLike['onclose'] = null;
      onerror: WebSocketLike['onerror'] = null;
      readonly sent: string[] = [];
      constructor(url: string) {
        sockets.push({ url, deliver: (frame) => this.onmessage?.({ data: JSON.stringify(frame) }), sent: this.sent });
        queueMicrotask(() => this.onopen?.({}));
      }
      send(data: string): void {
        this.sent.push(data);
      }
      close(): void {
        this.readyState = 3;
      }
    }
    return { Impl: Scripted as WebSocketConstructor, sockets };
  }

  const change = (seq: number, patch: ChangeFrame['patch'], namespace = 'notifications') =>
    ({ ...frame({ seq, version: seq, namespace, patch }), triggeredBy: 'ann' });

  it('ignores duplicates, takes seq jumps without a fetch, and resumes from the highest seq it saw', async () => {
    const { Impl, sockets } = scripted();
    const fetches: string[] = [];
    const c = new CascadeClient({
      baseUrl: 'http://hub.invalid', tenant: 'acme', token: 'opaque', WebSocket: Impl, heartbeat: false,
      fetch: async (input) => { fetches.push(String(input)); throw new Error('no HTTP expected'); },
    });
    const seqs: number[] = [];
    c.on('change', (e) => seqs.push(e.frame.seq));
    c.connect();
    await new Promise((resolve) => setTimeout(resolve, 0));
    const hub = sockets[0]!;
    expect(new URL(hub.url).searchParams.get('since')).toBe('0');
    hub.deliver({ type: 'hello', tenant: 'acme', seq: 4, resume: 'snapshot' });
    hub.deliver({ type: 'snapshot', tenant: 'acme', seq: 4, configs: { notifications: { version: 2, config: { a: 1 } } } });
    expect(c.state).toBe('connecting'); // not current before synced
    hub.deliver({ type: 'synced', seq: 4 });
    expect(c.state).toBe('open');
    hub.deliver(change(4, [{ op: 'replace', path: '/a', value: 99 }])); // at our seq: a duplicate
    hub.deliver(change(9, [{ op: 'replace', path: '/a', value: 2 }])); // a jump: normal
    hub.deliver(change(9, [{ op: 'replace', path: '/a', value: 99 }])); // duplicate
    hub.deliver(change(7, [{ op: 'replace', path: '/a', value: 99 }])); // older: duplicate
    hub.deliver(change(12, [{ op: 'add', path: '/on', value: true }], 'business')); // a new namespace
    expect(seqs).toEqual([9, 12]);
    expect(c.document('notifications')).toMatchObject({ version: 9, config: { a: 2 } });
    expect(c.document('business')).toMatchObject({ version: 12, config: { on: true } });
    expect(c.lastSeq).toBe(12);
    expect(fetches).toEqual([]);
    c.close();
  });

  it('takes a snapshot from a hub behind it as the new resume point, and a synced ahead of its last frame too', async () => {
    const { Impl, sockets } = scripted();
    const c = new CascadeClient({ baseUrl: 'http://hub.invalid', tenant: 'acme', token: 'opaque', WebSocket: Impl, heartbeat: false, backoff: { initialMs: 1, maxMs: 1 } });
    c.connect();
    await new Promise((resolve) => setTimeout(resolve, 0));
    sockets[0]!.deliver({ type: 'hello', tenant: 'acme', seq: 20, resume: 'snapshot' });
    sockets[0]!.deliver({ type: 'snapshot', tenant: 'acme', seq: 20, configs: {} });
    sockets[0]!.deliver({ type: 'synced', seq: 20 });
    sockets[0]!.deliver(change(21, [{ op: 'add', path: '/a', value: 1 }]));
    expect(c.lastSeq).toBe(21);
    // The hub lost its state (a reset): it is behind the client and sends a snapshot at 5.
    (c as unknown as { dropSocket(e: Error): void }).dropSocket(new Error('test drop'));
    await until(() => sockets.length === 2, 'reconnect');
    expect(new URL(sockets[1]!.url).searchParams.get('since')).toBe('21');
    sockets[1]!.deliver({ type: 'hello', tenant: 'acme', seq: 5, resume: 'snapshot' });
    sockets[1]!.deliver({ type: 'snapshot', tenant: 'acme', seq: 5, configs: { notifications: { version: 5, config: { b: 1 } } } });
    sockets[1]!.deliver({ type: 'synced', seq: 5 });
    expect(c.lastSeq).toBe(5);
    sockets[1]!.deliver(change(6, [{ op: 'add', path: '/c', value: 1 }]));
    expect(c.document('notifications')?.config).toEqual({ b: 1, c: 1 });
    c.close();
  });
});
