/**
 * The real-time client: one WebSocket to a tenant's hub, the tenant's documents kept current
 * by applying each change's patch in `seq` order, and a fall-back to HTTP whenever that order
 * is broken (first connect, reconnect, a gap, a patch that does not apply).
 */
import mitt, { type Emitter } from 'mitt';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { DocumentStore, type DocumentKey } from './documents.js';
import { CascadeApiError, CascadeFrameError } from './errors.js';
import { isChangeFrame, parseServerFrame, PING_FRAME } from './frames.js';
import { Heartbeat, type HeartbeatOptions } from './heartbeat.js';
import { CascadeHttp } from './http.js';
import {
  authProtocols,
  connectUrl,
  messageText,
  type CloseEventLike,
  type WebSocketConstructor,
  type WebSocketLike,
} from './socket.js';
import { resolveToken, type TokenSource } from './token.js';
import type { ChangeEventType, ChangeFrame, ConfigDocument, HelloFrame, ServerFrame } from './types.js';

/** Where the connection is: `open` means connected and the held documents are current. */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** A change as the client delivers it. */
export interface ChangeEvent {
  type: ChangeEventType;
  frame: ChangeFrame;
  /** The held document after the change (absent when the namespace is not tracked). */
  document?: ConfigDocument;
  /** The held document before the change, when the patch was applied to it. */
  previous?: ConfigDocument;
  /** True when `document` was fetched over HTTP instead of patched (after a gap or failed patch). */
  resynced: boolean;
}

/** Why documents were fetched again over HTTP. */
export type ResyncReason = 'connect' | 'reconnect' | 'gap' | 'patch-failed' | 'track';

/** Documents fetched again over HTTP. */
export interface ResyncEvent {
  reason: ResyncReason;
  documents: ConfigDocument[];
}

/** A change frame arrived whose `seq` is not the next one. */
export interface GapEvent {
  expected: number;
  received: number;
}

/** Every event the client emits, by name. */
export type ClientEvents = {
  /** The connection state changed. */
  state: ConnectionState;
  /** The server's first frame on a (re)connection. */
  hello: HelloFrame;
  /** Any of the four change events. */
  change: ChangeEvent;
  'config-updated': ChangeEvent;
  'module-changed': ChangeEvent;
  'auth-changed': ChangeEvent;
  'rbac-changed': ChangeEvent;
  /** A held document has a new value (patched or fetched). */
  document: ConfigDocument;
  resync: ResyncEvent;
  gap: GapEvent;
  /** A heartbeat answer; `rttMs` is the ping's round trip. */
  pong: { rttMs: number | undefined };
  /** Something went wrong; when the error is fatal the state is also `closed`. */
  error: Error;
  /** Every frame as received, also of types this client does not know. */
  frame: ServerFrame;
};

/** Options of {@link CascadeClient}. */
export interface CascadeClientOptions {
  /** Origin of the service, e.g. `http://127.0.0.1:8787`. */
  baseUrl: string;
  /**
   * The user whose effective config to hold (an end user's client); absent: the tenant's
   * effective config (admins). Must match the token's subject for a user token.
   */
  user?: string;
  /** The tenant whose hub to follow. */
  tenant: string;
  /** The JWT; a function is called again on every (re)connection. */
  token: TokenSource;
  /** WebSocket class (default: `globalThis.WebSocket`; pass `ws`'s in Node 20). */
  WebSocket?: WebSocketConstructor;
  /** fetch implementation for the HTTP calls (default: the global one). */
  fetch?: typeof fetch;
  /** Tenant namespaces to hold from the start. */
  namespaces?: string[];
  /** Heartbeat timing; `false` turns heartbeats off. */
  heartbeat?: HeartbeatOptions | false;
  /** Reconnection backoff. */
  backoff?: BackoffOptions;
  /** How long a socket may take to open (default 15 s). */
  openTimeoutMs?: number;
  /** Random source for the backoff jitter (tests pass a fixed one). */
  random?: () => number;
}

type Trackable = DocumentKey;

/** Keeps a tenant's configuration documents current over one WebSocket. */
export class CascadeClient {
  /** The HTTP API wrapper this client uses (same base URL and token). */
  readonly http: CascadeHttp;
  /** The tenant this client follows. */
  readonly tenant: string;

  private readonly options: CascadeClientOptions;
  private readonly emitter: Emitter<ClientEvents> = mitt<ClientEvents>();
  private readonly store = new DocumentStore();
  private readonly tracked = new Map<string, Trackable>();
  private readonly heartbeat: Heartbeat | undefined;
  private connection: ConnectionState = 'closed';
  private seq: number | undefined;
  private error: Error | undefined;
  private socket: WebSocketLike | undefined;
  private generation = 0;
  private attempt = 0;
  private stopped = true;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private openTimer: ReturnType<typeof setTimeout> | undefined;
  private pipeline: Promise<void> = Promise.resolve();

  constructor(options: CascadeClientOptions) {
    this.options = options;
    this.tenant = options.tenant;
    this.http = new CascadeHttp({ baseUrl: options.baseUrl, token: options.token, fetch: options.fetch });
    for (const namespace of options.namespaces ?? []) this.addTracked(this.keyFor(namespace));
    if (options.heartbeat !== false) {
      this.heartbeat = new Heartbeat(
        () => this.socket?.send(PING_FRAME),
        () => this.dropSocket(new Error('heartbeat: no pong in time, the connection is dead')),
        options.heartbeat,
      );
    }
  }

  /** The connection state. */
  get state(): ConnectionState {
    return this.connection;
  }

  /** The last `seq` applied (undefined before the first `hello`). */
  get lastSeq(): number | undefined {
    return this.seq;
  }

  /** The error that closed the client, or the latest transient one. */
  get lastError(): Error | undefined {
    return this.error;
  }

  /** The held effective document of a namespace. */
  document(namespace: string): ConfigDocument | undefined {
    return this.store.get({ namespace });
  }

  /** Every held document. */
  documents(): ConfigDocument[] {
    return this.store.all();
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<K extends keyof ClientEvents>(type: K, handler: (event: ClientEvents[K]) => void): () => void {
    this.emitter.on(type, handler);
    return () => this.emitter.off(type, handler);
  }

  /**
   * Subscribes to changes, optionally only of some namespaces or event types; returns the
   * function that unsubscribes.
   */
  subscribe(
    handler: (event: ChangeEvent) => void,
    filter: { namespaces?: string[]; types?: ChangeEventType[] } = {},
  ): () => void {
    return this.on('change', (event) => {
      if (filter.namespaces && !filter.namespaces.includes(event.frame.namespace)) return;
      if (filter.types && !filter.types.includes(event.type)) return;
      handler(event);
    });
  }

  /** Opens the connection (no-op unless `closed`). */
  connect(): void {
    if (this.connection !== 'closed') return;
    this.stopped = false;
    this.error = undefined;
    this.attempt = 0;
    this.setState('connecting');
    void this.openSocket();
  }

  /** Closes the connection for good (until {@link connect} is called again). */
  close(): void {
    this.stopped = true;
    this.generation++;
    this.clearTimers();
    this.heartbeat?.stop();
    const socket = this.socket;
    this.socket = undefined;
    if (socket) detach(socket).close(1000, 'client closed');
    this.setState('closed');
  }

  /**
   * Starts holding a namespace document: fetches it now over HTTP and keeps it current from
   * then on. Resolves with the fetched document.
   */
  track(namespace: string): Promise<ConfigDocument> {
    const key = this.keyFor(namespace);
    this.addTracked(key);
    return this.enqueue(async () => {
      const [document] = await this.refetch([key], 'track');
      return document as ConfigDocument;
    });
  }

  /** Stops holding a namespace document. */
  untrack(namespace: string): void {
    this.tracked.delete(namespace);
    this.store.delete({ namespace });
  }

  private keyFor(namespace: string): Trackable {
    return { scope: this.options.user === undefined ? 'tenant' : 'user', namespace };
  }

  private addTracked(key: Trackable): void {
    this.tracked.set(key.namespace, key);
  }

  private setState(state: ConnectionState): void {
    if (this.connection === state) return;
    this.connection = state;
    this.emitter.emit('state', state);
  }

  private emitError(error: Error): void {
    this.error = error;
    this.emitter.emit('error', error);
  }

  private clearTimers(): void {
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    if (this.openTimer !== undefined) clearTimeout(this.openTimer);
    this.reconnectTimer = undefined;
    this.openTimer = undefined;
  }

  /** Runs `task` after every frame and task queued before it. */
  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.pipeline.then(task);
    this.pipeline = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async openSocket(): Promise<void> {
    const generation = ++this.generation;
    let token: string;
    try {
      token = await resolveToken(this.options.token);
    } catch (error) {
      this.fatal(toError(error));
      return;
    }
    if (generation !== this.generation || this.stopped) return;
    const Impl = this.options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Impl) {
      this.fatal(new Error('no WebSocket implementation: pass one in the options (e.g. the ws package in Node)'));
      return;
    }
    let socket: WebSocketLike;
    try {
      socket = new Impl(connectUrl(this.options.baseUrl, this.tenant, this.seq), authProtocols(token));
    } catch (error) {
      this.fatal(toError(error));
      return;
    }
    this.socket = socket;
    let opened = false;
    const current = () => generation === this.generation;
    this.openTimer = setTimeout(() => {
      if (current() && !opened) this.dropSocket(new Error('the connection did not open in time'));
    }, this.options.openTimeoutMs ?? 15_000);
    socket.onopen = () => {
      if (!current()) return;
      opened = true;
      clearTimeout(this.openTimer);
      this.heartbeat?.start();
    };
    socket.onmessage = (event) => {
      if (!current()) return;
      const text = messageText(event);
      if (text === undefined) return;
      let frame: ServerFrame;
      try {
        frame = parseServerFrame(text);
      } catch (error) {
        this.emitError(toError(error));
        return;
      }
      void this.enqueue(() => this.handle(frame, generation)).catch((error: unknown) => {
        if (current()) this.connectionFailed(toError(error));
      });
    };
    socket.onerror = () => {
      // a close event follows and decides what to do
    };
    socket.onclose = (event: CloseEventLike) => {
      if (!current()) return;
      void this.socketClosed(opened, event);
    };
  }

  private async socketClosed(opened: boolean, event: CloseEventLike): Promise<void> {
    const generation = ++this.generation;
    this.heartbeat?.stop();
    this.clearTimers();
    this.socket = undefined;
    if (this.stopped) return;
    if (!opened) {
      // The handshake was refused or failed: browsers do not tell why, so ask over HTTP.
      try {
        await this.http.probeConnect(this.tenant);
      } catch (error) {
        if (generation !== this.generation || this.stopped) return;
        if (isPermanent(error)) {
          this.fatal(error);
          return;
        }
      }
      if (generation !== this.generation || this.stopped) return;
    }
    this.emitError(new Error(`connection closed (${event.code}${event.reason ? `: ${event.reason}` : ''})`));
    this.scheduleReconnect();
  }

  /** Abandons the current socket (dead, or out of step) and reconnects. */
  private dropSocket(reason: Error): void {
    this.generation++;
    this.heartbeat?.stop();
    this.clearTimers();
    const socket = this.socket;
    this.socket = undefined;
    if (socket) detach(socket).close(4000, 'reconnecting');
    if (this.stopped) return;
    this.emitError(reason);
    this.scheduleReconnect();
  }

  private connectionFailed(error: Error): void {
    if (isPermanent(error)) {
      this.fatal(error);
    } else {
      this.dropSocket(error);
    }
  }

  private scheduleReconnect(): void {
    this.setState('reconnecting');
    const delay = backoffDelay(this.attempt++, this.options.backoff, this.options.random);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.stopped) void this.openSocket();
    }, delay);
  }

  private fatal(error: Error): void {
    this.error = error;
    this.close();
    this.emitter.emit('error', error);
  }

  private async handle(frame: ServerFrame, generation: number): Promise<void> {
    if (generation !== this.generation) return;
    this.emitter.emit('frame', frame);
    switch (frame.type) {
      case 'hello':
        await this.handleHello(frame, generation);
        return;
      case 'pong':
        this.emitter.emit('pong', { rttMs: this.heartbeat?.pong() });
        return;
      case 'error':
        this.emitError(new CascadeFrameError(frame.code, frame.message));
        return;
      case 'unknown':
        return;
      default:
        if (isChangeFrame(frame)) await this.handleChange(frame, generation);
    }
  }

  private async handleHello(frame: HelloFrame, generation: number): Promise<void> {
    this.emitter.emit('hello', frame);
    if (this.seq !== frame.seq) {
      // First connection, or changes happened while away (or the hub was reset): what we
      // hold may be stale, so read it again. A server that replays from `since` sends the
      // missed frames next; their versions are then already included and they are skipped.
      await this.refetch([...this.tracked.values()], this.seq === undefined ? 'connect' : 'reconnect');
      if (generation !== this.generation) return;
      this.seq = frame.seq;
    }
    this.attempt = 0;
    this.setState('open');
  }

  private async handleChange(frame: ChangeFrame, generation: number): Promise<void> {
    const last = this.seq;
    if (last !== undefined && frame.seq <= last) return; // already seen (a replay)
    if (last !== undefined && frame.seq !== last + 1) {
      this.emitter.emit('gap', { expected: last + 1, received: frame.seq });
      await this.refetch([...this.tracked.values()], 'gap');
      if (generation !== this.generation) return;
      this.seq = frame.seq;
      this.emitChange({ type: frame.type, frame, document: this.store.get(frame), resynced: true });
      return;
    }
    const result = this.store.apply(frame);
    if (result.kind === 'failed') {
      this.emitError(new Error(`patch for ${frame.namespace} v${frame.version} did not apply: ${result.error.message}`));
      const key = this.tracked.get(frame.namespace);
      if (key) await this.refetch([key], 'patch-failed');
      if (generation !== this.generation) return;
      this.seq = frame.seq;
      this.emitChange({ type: frame.type, frame, document: this.store.get(frame), resynced: true });
      return;
    }
    this.seq = frame.seq;
    if (result.kind === 'applied') {
      this.emitter.emit('document', result.document);
      this.emitChange({ type: frame.type, frame, document: result.document, previous: result.previous, resynced: false });
    } else {
      this.emitChange({ type: frame.type, frame, document: result.kind === 'included' ? result.document : undefined, resynced: false });
    }
  }

  private emitChange(event: ChangeEvent): void {
    this.emitter.emit('change', event);
    this.emitter.emit(event.type, event);
  }

  /** Fetches documents over HTTP, stores them, and reports those that changed. */
  private async refetch(keys: Trackable[], reason: ResyncReason): Promise<ConfigDocument[]> {
    const documents = await Promise.all(
      keys.map((key) => this.http.getEffective(this.tenant, key.namespace, this.options.user)),
    );
    for (const document of documents) {
      const key = { namespace: document.namespace };
      if (!this.tracked.has(key.namespace)) continue; // untracked meanwhile
      const held = this.store.get(key);
      this.store.set(document);
      if (!held || held.version !== document.version) this.emitter.emit('document', document);
    }
    this.emitter.emit('resync', { reason, documents });
    return documents;
  }
}

function detach(socket: WebSocketLike): WebSocketLike {
  socket.onopen = null;
  socket.onmessage = null;
  socket.onclose = null;
  socket.onerror = () => {};
  return socket;
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** Errors that retrying with the same token will not fix: 4xx but 408 and 429. */
function isPermanent(error: unknown): error is CascadeApiError {
  return error instanceof CascadeApiError && error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429;
}
