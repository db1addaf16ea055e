/** Helpers shared by the tests that talk to the running Worker. */
import { inject } from 'vitest';
import WebSocket from 'ws';
import { CascadeHttp } from '@cascade/client';
import type { WebSocketConstructor, WebSocketLike } from '@cascade/client';
import { mintToken } from './token.js';

/** URL of the shared runtime. */
export function baseUrl(): string {
  return inject('baseUrl');
}

/** A platform admin's token. */
export const adminToken = (): string => mintToken('platform-admin', undefined, 'test-admin');

/** The HTTP API as a platform admin. */
export function adminHttp(): CascadeHttp {
  return new CascadeHttp({ baseUrl: baseUrl(), token: adminToken() });
}

let counter = 0;

/** A tenant id no other test uses, registered on the runtime. */
export async function freshTenant(prefix = 't'): Promise<string> {
  const id = `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`;
  await adminHttp().putTenant(id, { name: id });
  return id;
}

/** `ws`'s WebSocket as the client's constructor type. */
export const NodeWebSocket = WebSocket as unknown as WebSocketConstructor;

/** Resolves when `check` returns a value other than undefined/false; polls every 20 ms. */
export async function until<T>(check: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * `ws` WebSockets that the tests can misbehave with: every instance is recorded (so a test
 * can cut one with `terminate()`), and `dropFrame` decides which incoming text frames never
 * reach the client (a lossy network).
 */
export function instrumentedWebSocket(dropFrame: (text: string) => boolean = () => false): {
  Impl: WebSocketConstructor;
  sockets: WebSocket[];
  urls: string[];
} {
  const sockets: WebSocket[] = [];
  const urls: string[] = [];
  class Instrumented implements WebSocketLike {
    onopen: WebSocketLike['onopen'] = null;
    onmessage: WebSocketLike['onmessage'] = null;
    onclose: WebSocketLike['onclose'] = null;
    onerror: WebSocketLike['onerror'] = null;
    private readonly inner: WebSocket;

    constructor(url: string, protocols?: string | string[]) {
      this.inner = new WebSocket(url, protocols);
      sockets.push(this.inner);
      urls.push(url);
      this.inner.onopen = (event) => this.onopen?.(event);
      this.inner.onerror = (event) => this.onerror?.(event);
      this.inner.onclose = (event) => this.onclose?.(event);
      this.inner.onmessage = (event) => {
        if (!dropFrame(String(event.data))) this.onmessage?.(event);
      };
    }

    get readyState(): number {
      return this.inner.readyState;
    }

    get protocol(): string {
      return this.inner.protocol;
    }

    send(data: string): void {
      this.inner.send(data);
    }

    close(code?: number, reason?: string): void {
      this.inner.close(code, reason);
    }
  }
  return { Impl: Instrumented, sockets, urls };
}
