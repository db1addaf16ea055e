/** Pure parts of the client: backoff, frame parsing, patching, notification text. */
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../src/backoff.js';
import { DocumentStore } from '../src/documents.js';
import { parseServerFrame } from '../src/frames.js';
import { describeChange, describePatch } from '../src/notifications.js';
import { connectUrl } from '../src/socket.js';
import type { ChangeFrame } from '../src/types.js';

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
    expect(parseServerFrame('{"type":"snapshot","seq":9}')).toEqual({ type: 'unknown', raw: { type: 'snapshot', seq: 9 } });
  });

  it('rejects frames that miss what the client relies on', () => {
    expect(() => parseServerFrame('[1]')).toThrow(/not a frame/);
    expect(() => parseServerFrame('{"type":"hello","tenant":"a"}')).toThrow(/malformed hello/);
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
    const failed = store.apply(frame({ seq: 3, version: 3, patch: [{ op: 'remove', path: '/missing' }] }));
    expect(failed.kind).toBe('failed');
    expect(store.get(first)?.version).toBe(2);
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
  it('uses ws/wss and carries tenant and since', () => {
    expect(connectUrl('https://cascade.example/', 'acme', 7)).toBe('wss://cascade.example/v1/connect?tenant=acme&since=7');
    expect(connectUrl('http://127.0.0.1:8787', 'a b')).toBe('ws://127.0.0.1:8787/v1/connect?tenant=a+b');
  });
});
