/** Reading one value by path: dotted and JSON Pointer forms, fallbacks, JSON equality. */
import { CascadeClient, jsonEqual, pathSegments, valueAt } from '@cascade/client';
import { describe, expect, it } from 'vitest';

const config = { email: { enabled: false, from: 'ops@example.com' }, 'a/b~c': { 'x.y': 1 }, channels: ['email', { kind: 'push' }], nothing: null };

describe('paths', () => {
  it('reads dotted paths and JSON Pointers, with RFC 6901 escapes, and indexes arrays', () => {
    expect(valueAt(config, 'email.enabled')).toBe(false);
    expect(valueAt(config, '/email/from')).toBe('ops@example.com');
    expect(valueAt(config, '/a~1b~0c/x.y')).toBe(1);
    expect(valueAt(config, 'channels.1.kind')).toBe('push');
    expect(valueAt(config, '/channels/0')).toBe('email');
    expect(valueAt(config, '')).toBe(config);
    expect(valueAt(config, 'nothing')).toBeNull();
    for (const missing of ['email.enabled.deeper', 'channels.2', 'channels.01', '/nope', 'toString', 'email.']) {
      expect(valueAt(config, missing), missing).toBeUndefined();
    }
    expect(pathSegments('/a~1b~0c/x')).toEqual(['a/b~c', 'x']);
  });

  it('client.get falls back only when nothing is there (false and null are values)', () => {
    const c = new CascadeClient({
      baseUrl: 'http://127.0.0.1:1',
      tenant: 't',
      token: 'x',
      bootstrap: { tenant: 't', seq: 3, namespaces: null, documents: [{ scope: 'tenant', tenant: 't', namespace: 'n', version: 3, config }] },
    });
    expect(c.get('n', 'email.enabled', true)).toBe(false);
    expect(c.get('n', 'nothing', 'fallback')).toBeNull();
    expect(c.get('n', 'email.missing', 'fallback')).toBe('fallback');
    expect(c.get('other', 'email.enabled', 'fallback')).toBe('fallback');
  });

  it('compares JSON values structurally', () => {
    expect(jsonEqual({ a: [1, { b: null }] }, { a: [1, { b: null }] })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(jsonEqual([1, 2], { 0: 1, 1: 2 })).toBe(false);
    expect(jsonEqual({ a: 1 }, { b: 1 })).toBe(false);
  });
});
