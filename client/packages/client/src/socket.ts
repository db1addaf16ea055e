/** The WebSocket surface the client needs, met by browsers' `WebSocket` and the `ws` package. */

// Method-style signature: parameters are checked bivariantly, so both browsers' handler
// types and `ws`'s fit.
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

/** A message event: text frames carry a string (`ws` may hand over a Buffer). */
export interface MessageEventLike {
  data: unknown;
}

/** A close event. */
export interface CloseEventLike {
  code: number;
  reason: string;
}

/** The part of the WHATWG WebSocket API the client uses. */
export interface WebSocketLike {
  readonly readyState: number;
  readonly protocol: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onmessage: Handler<MessageEventLike> | null;
  onclose: Handler<CloseEventLike> | null;
  onerror: Handler<unknown> | null;
}

/** A WebSocket class: `globalThis.WebSocket` in browsers, `ws`'s `WebSocket` in Node. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** The subprotocol the server accepts next to the bearer token. */
export const SUBPROTOCOL = 'cascade';

/** The subprotocols that carry a token the way browsers can: `['cascade', 'bearer.<jwt>']`. */
export function authProtocols(token: string): string[] {
  return [SUBPROTOCOL, `bearer.${token}`];
}

/** What a connection asks the hub for, besides the tenant. */
export interface ConnectQuery {
  /** The last `seq` the client has (its resume point); `0` asks for a snapshot; absent: neither. */
  since?: number;
  /** Namespaces to follow (at most 7); absent follows all. */
  namespaces?: readonly string[];
  /** Ask for origins in snapshots and change frames (`origins=1`). */
  origins?: boolean;
}

/**
 * `ws(s)://host/v1/connect?tenant=..[&since=..][&namespaces=a,b][&origins=1]` for an `http(s)://host`
 * base URL (`http(s)` with `scheme: 'http'`, for diagnosing a refused handshake over HTTP).
 */
export function connectUrl(baseUrl: string, tenant: string, query: ConnectQuery = {}, scheme: 'ws' | 'http' = 'ws'): string {
  const url = new URL('/v1/connect', baseUrl.replace(/\/+$/, '') + '/');
  if (scheme === 'ws') url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('tenant', tenant);
  if (query.since !== undefined) url.searchParams.set('since', String(query.since));
  if (query.namespaces !== undefined) url.searchParams.set('namespaces', query.namespaces.join(','));
  if (query.origins) url.searchParams.set('origins', '1');
  return url.toString();
}

/** The text of a message event (`ws` gives Buffers for binary frames; those are decoded as UTF-8). */
export function messageText(event: MessageEventLike): string | undefined {
  const { data } = event;
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new TextDecoder().decode(data);
  if (ArrayBuffer.isView(data)) return new TextDecoder().decode(data);
  return undefined;
}
