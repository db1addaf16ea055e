/**
 * Cascade's TypeScript client for browsers and Node: real-time configuration over one
 * WebSocket per tenant, and a typed wrapper of the HTTP API.
 */
export { CascadeClient, MAX_NAMESPACES } from './client.js';
export type {
  CascadeClientOptions,
  AnyCascadeClient,
  StartingPoint,
  ChangeEvent,
  ClientEvents,
  ConnectionState,
  ResyncEvent,
  ResyncReason,
  SnapshotEvent,
  SyncedEvent,
} from './client.js';
export { fetchBootstrap } from './ssr.js';
export type { FetchBootstrapOptions } from './ssr.js';
export { browserStorage, memoryStorage, parseBootstrap } from './bootstrap.js';
export type { Bootstrap, CacheOptions, CacheStorage } from './bootstrap.js';
export { jsonEqual, pathSegments, valueAt } from './path.js';
export { applyOrigins, originAt, toPointer } from './origins.js';
export type { DeclaredValue, DottedPath, NamespaceMap, PathValue, UndeclaredPath, UntypedNamespaces, Widen } from './path.js';
export { CascadeHttp } from './http.js';
export type { CascadeHttpOptions, HistoryOptions, WriteOptions } from './http.js';
export { CascadeApiError, CascadeFrameError, problemFromResponse } from './errors.js';
export { changeStream } from './stream.js';
export type { ChangeStreamOptions } from './stream.js';
export { DocumentStore, documentKey } from './documents.js';
export type { ApplyResult, DocumentKey } from './documents.js';
export {
  CHANGE_EVENT_TYPES,
  CLOSE_TOKEN_EXPIRED,
  TOKEN_EXPIRED_CODE,
  PING_FRAME,
  STATUS_FRAME,
  isChangeFrame,
  parseServerFrame,
} from './frames.js';
export { backoffDelay } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export { Heartbeat } from './heartbeat.js';
export type { HeartbeatOptions } from './heartbeat.js';
export { authProtocols, connectUrl, SUBPROTOCOL } from './socket.js';
export type { ConnectQuery, WebSocketConstructor, WebSocketLike } from './socket.js';
export { describeChange, describePatch, describePath } from './notifications.js';
export type { ChangeNotification } from './notifications.js';
export { resolveToken } from './token.js';
export type { TokenSource } from './token.js';
export * from './types.js';
/** The wire types as generated from the Rust protocol types (ts-rs). */
export type * as wire from './generated/protocol.js';
