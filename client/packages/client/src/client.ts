/**
 * The real-time client: one WebSocket to a tenant's hub, and the subject's effective documents
 * kept current from it. Every connection resumes from the last `seq` the client has: the hub
 * replays the change frames it missed, or sends a snapshot (on the first connection, with
 * `since=0`), then `synced`; live frames follow, applied as patches in `seq` order.
 */
import { jwtDecode } from 'jwt-decode';
import mitt, { type Emitter } from 'mitt';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { covers, defaultCacheKey, parseBootstrap, type Bootstrap, type CacheOptions } from './bootstrap.js';
import { DocumentStore } from './documents.js';
import { CascadeApiError, CascadeFrameError } from './errors.js';
import {
  CLOSE_TOKEN_EXPIRED,
  isChangeFrame,
  parseServerFrame,
  PING_FRAME,
  STATUS_FRAME,
  TOKEN_EXPIRED_CODE,
} from './frames.js';
import { Heartbeat, type HeartbeatOptions } from './heartbeat.js';
import { CascadeHttp } from './http.js';
import {
  authProtocols,
  connectUrl,
  messageText,
  type CloseEventLike,
  type ConnectQuery,
  type WebSocketConstructor,
  type WebSocketLike,
} from './socket.js';
import type { DeclaredValue, DottedPath, NamespaceMap, UndeclaredPath, UntypedNamespaces, Widen } from './path.js';
import { valueAt } from './path.js';
import { originAt } from './origins.js';
import { resolveToken, type TokenSource } from './token.js';
import type {
  ChangeEventType,
  ChangeFrame,
  ConfigDocument,
  HelloFrame,
  ResumeMode,
  Scope,
  ServerFrame,
  SnapshotFrame,
  SyncedFrame,
  SyncStatusFrame,
} from './types.js';

/**
 * Where the connection is: `open` means connected and caught up (after `synced`): the held
 * documents are current.
 */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** A change as the client delivers it. */
export interface ChangeEvent {
  type: ChangeEventType;
  frame: ChangeFrame;
  /** The held document after the change (absent when the namespace is not followed). */
  document?: ConfigDocument;
  /** The held document before the change, when the patch was applied to it. */
  previous?: ConfigDocument;
}

/**
 * Why the client asked the hub for a fresh snapshot (a reconnection with `since=0`): a
 * change's patch did not apply to the held document, or the followed namespaces changed
 * ({@link CascadeClient.track}).
 */
export type ResyncReason = 'patch-failed' | 'subscription';

/** The client reconnects for a snapshot; the `snapshot` event follows. */
export interface ResyncEvent {
  reason: ResyncReason;
  /** The change whose patch did not apply. */
  frame?: ChangeFrame;
  error?: Error;
}

/** A snapshot replaced the held documents. */
export interface SnapshotEvent {
  frame: SnapshotFrame;
  /** The held documents after it (one per followed namespace that exists or is listed). */
  documents: ConfigDocument[];
  /** True when documents were held before (a reconnection or a resync, not the first connect). */
  replaced: boolean;
}

/** A connection finished its catch-up. */
export interface SyncedEvent {
  /** The client is at this `seq`. */
  seq: number;
  /** How it got there (from the connection's `hello`). */
  resume: ResumeMode;
  /** Change frames replayed between `hello` and `synced` on this connection. */
  replayed: number;
}

/** Every event the client emits, by name. */
export type ClientEvents = {
  /** The connection state changed. */
  state: ConnectionState;
  /** The server's first frame on a (re)connection. */
  hello: HelloFrame;
  /** The held documents were replaced by a snapshot. */
  snapshot: SnapshotEvent;
  /** The catch-up after `hello` is over; the state is `open`. */
  synced: SyncedEvent;
  /** Any of the four change events (live or replayed). */
  change: ChangeEvent;
  'config-updated': ChangeEvent;
  'module-changed': ChangeEvent;
  'auth-changed': ChangeEvent;
  'rbac-changed': ChangeEvent;
  /** Admins: the tenant's (or the platform's) sync state. */
  'sync-status': SyncStatusFrame;
  /** A held document has a new value (patched, or from a snapshot). */
  document: ConfigDocument;
  /** The client reconnects for a snapshot. */
  resync: ResyncEvent;
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
  /** The tenant whose hub to follow. */
  tenant: string;
  /**
   * The JWT; a function is called again on every (re)connection. Its subject decides whose
   * effective config the client holds: a user token, that user's; an admin token, the tenant's.
   */
  token: TokenSource;
  /** WebSocket class (default: `globalThis.WebSocket`; pass `ws`'s in Node 20). */
  WebSocket?: WebSocketConstructor;
  /** fetch implementation for the HTTP calls (default: the global one). */
  fetch?: typeof fetch;
  /**
   * The namespaces to follow (sent as `namespaces=`, at most 7): only their change frames
   * arrive, and only their documents are held. Absent: every namespace.
   */
  namespaces?: string[];
  /**
   * Ask the hub where each value came from (`origins=1`): snapshots and change frames then
   * carry origin maps, and {@link CascadeClient.origin} answers. Off by default (frames stay
   * small).
   */
  origins?: boolean;
  /** Heartbeat timing; `false` turns heartbeats off. */
  heartbeat?: HeartbeatOptions | false;
  /** Reconnection backoff. */
  backoff?: BackoffOptions;
  /** How long a socket may take to open (default 15 s). */
  openTimeoutMs?: number;
  /** Random source for the backoff jitter (tests pass a fixed one). */
  random?: () => number;
  /**
   * Documents to start from, e.g. taken on the server with {@link fetchBootstrap} and
   * embedded in the page: held at once (first paint needs no socket), and the first
   * connection resumes with `since=bootstrap.seq`, so the hub replays only what changed
   * since. Ignored when it is another tenant's or does not cover `namespaces`.
   */
  bootstrap?: Bootstrap;
  /**
   * Persist the held documents (after each catch-up and change) and start from them next
   * time, like a bootstrap, when no `bootstrap` is given. `{ storage: localStorage }` in
   * browsers; documents of another subject (token `sub`) are dropped at connect.
   */
  cache?: CacheOptions;
}

/** A client of any namespace map (what code that takes every client accepts). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCascadeClient = CascadeClient<any>;

/** Where the held documents came from before the first snapshot or replay. */
export type StartingPoint = 'bootstrap' | 'cache' | 'none';

/**
 * Keeps a tenant's configuration documents current over one WebSocket. `N` declares the
 * config type of each namespace (`CascadeClient<{ notifications: { email: { enabled:
 * boolean } } }>`) for typed {@link CascadeClient.get}; it is a declaration, not checked
 * against what the server holds.
 */
export class CascadeClient<N extends NamespaceMap = UntypedNamespaces> {
  /** The HTTP API wrapper this client uses (same base URL and token). */
  readonly http: CascadeHttp;
  /** The tenant this client follows. */
  readonly tenant: string;

  private readonly options: CascadeClientOptions;
  private readonly emitter: Emitter<ClientEvents> = mitt<ClientEvents>();
  private readonly store = new DocumentStore();
  private readonly heartbeat: Heartbeat | undefined;
  /** The followed namespaces; undefined follows all. */
  private subscription: string[] | undefined;
  private connection: ConnectionState = 'closed';
  /** The resume point: max(last applied change, last snapshot, last synced). */
  private seq: number | undefined;
  /** The next connection asks for a snapshot (`since=0`) whatever `seq` is. */
  private wantSnapshot = false;
  /** Scope of the held documents: `user` for a user's token. */
  private scope: 'tenant' | 'user' = 'tenant';
  private hello: HelloFrame | undefined;
  private replayed = 0;
  private status: SyncStatusFrame | undefined;
  private syncedWaiters: Array<() => void> = [];
  private error: Error | undefined;
  private socket: WebSocketLike | undefined;
  private generation = 0;
  private attempt = 0;
  private stopped = true;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private openTimer: ReturnType<typeof setTimeout> | undefined;
  /** `sub` of the token the held documents belong to, when known. */
  private subject: string | undefined;
  private readonly cacheKey: string | undefined;
  /** Where the held documents came from (before the first connection replaced or resumed them). */
  readonly startedFrom: StartingPoint = 'none';

  constructor(options: CascadeClientOptions) {
    this.options = options;
    this.tenant = options.tenant;
    this.subscription = options.namespaces ? [...new Set(options.namespaces)] : undefined;
    if (options.cache) this.cacheKey = options.cache.key ?? defaultCacheKey(options.baseUrl, options.tenant, this.subscription);
    const cached = options.cache && this.cacheKey ? parseBootstrap(safeRead(options.cache.storage, this.cacheKey)) : undefined;
    if (options.bootstrap && this.adopt(options.bootstrap)) this.startedFrom = 'bootstrap';
    else if (cached && this.adopt(cached)) this.startedFrom = 'cache';
    this.http = new CascadeHttp({ baseUrl: options.baseUrl, token: options.token, fetch: options.fetch });
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

  /**
   * The resume point: the highest of the last applied change's, the last snapshot's and the
   * last `synced`'s `seq` (undefined before the first connection delivered any).
   */
  get lastSeq(): number | undefined {
    return this.seq;
  }

  /** The followed namespaces (undefined: all). */
  get namespaces(): readonly string[] | undefined {
    return this.subscription;
  }

  /** The latest `sync-status` frame (admins), or undefined. */
  get syncStatus(): SyncStatusFrame | undefined {
    return this.status;
  }

  /** The error that closed the client, or the latest transient one. */
  get lastError(): Error | undefined {
    return this.error;
  }

  /** The held effective document of a namespace. */
  document(namespace: keyof N & string): ConfigDocument | undefined {
    return this.store.get({ namespace });
  }

  /**
   * One value of a namespace's held effective config, or `fallback` when the namespace is not
   * held or has nothing at `path`. `path` is dotted (`email.enabled`) or a JSON Pointer
   * (`/email/enabled`); `''` is the whole config. Dotted paths are typed by the namespace
   * map `N` (the fallback must have the declared type); pointers and undeclared paths take
   * the fallback's type.
   */
  get<K extends keyof N & string, P extends DottedPath<N[K]>>(namespace: K, path: P, fallback: DeclaredValue<N[K], P>): DeclaredValue<N[K], P>;
  get<K extends keyof N & string, P extends string, T>(namespace: K, path: P & UndeclaredPath<N[K], P>, fallback: T): Widen<T>;
  get(namespace: string, path: string, fallback: unknown): unknown {
    const value = valueAt(this.store.get({ namespace })?.config, path);
    return value === undefined ? fallback : value;
  }

  /**
   * The scope (`platform`, `tenant` or `user`) the held value at `path` (dotted or a JSON
   * Pointer) came from, or undefined when the namespace is not held or its document has no
   * origins (the client was created without `origins: true`, or started from documents read
   * without them and has had no snapshot since). For a container, the scope its origin entry
   * names; values inside it may come from others.
   */
  origin(namespace: keyof N & string, path: string): Scope | undefined {
    const origins = this.store.get({ namespace })?.origins;
    return origins ? originAt(origins, path) : undefined;
  }

  /**
   * The held documents and the resume point as a {@link Bootstrap} (JSON): what a server
   * embeds in a page for another client to start from. Undefined before anything is held.
   */
  toBootstrap(): Bootstrap | undefined {
    if (this.seq === undefined) return undefined;
    const bootstrap: Bootstrap = {
      tenant: this.tenant,
      seq: this.seq,
      documents: this.store.all(),
      namespaces: this.subscription ? [...this.subscription] : null,
    };
    if (this.subject !== undefined) bootstrap.subject = this.subject;
    return bootstrap;
  }

  /** Holds a bootstrap's documents and resumes from its seq; false when it does not fit this client. */
  private adopt(bootstrap: Bootstrap): boolean {
    if (bootstrap.tenant !== this.tenant || !covers(bootstrap, this.subscription)) return false;
    for (const document of bootstrap.documents) {
      if (this.follows(document.namespace)) this.store.set(document);
    }
    for (const namespace of this.subscription ?? []) {
      if (!this.store.get({ namespace })) this.store.set(this.emptyDocument(namespace));
    }
    const scope = bootstrap.documents[0]?.scope;
    if (scope === 'user') this.scope = 'user';
    this.seq = bootstrap.seq;
    this.subject = bootstrap.subject;
    return true;
  }

  /** Writes the held documents to the cache, when one is configured. */
  private persist(): void {
    const cache = this.options.cache;
    const bootstrap = this.toBootstrap();
    if (!cache || !this.cacheKey || !bootstrap) return;
    try {
      cache.storage.setItem(this.cacheKey, JSON.stringify(bootstrap));
    } catch (error) {
      this.emitError(new Error(`could not persist the documents to the cache: ${toError(error).message}`));
    }
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

  /** Closes the connection for good (until {@link connect} is called again, which resumes). */
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
   * Asks the hub for a `sync-status` frame now (admins; a user gets a
   * `CASCADE:Frame:Forbidden` error). Returns false when no connection is open.
   */
  requestStatus(): boolean {
    if (!this.socket || this.connection !== 'open') return false;
    this.socket.send(STATUS_FRAME);
    return true;
  }

  /**
   * Resolves with the held document of `namespace` once the client is caught up. When the
   * client follows a list of namespaces without this one, it is added, and the client
   * reconnects for a snapshot (a `resync` with reason `subscription`).
   */
  async track(namespace: string): Promise<ConfigDocument> {
    if (this.subscription && !this.subscription.includes(namespace)) {
      const problem = subscriptionProblem([...this.subscription, namespace]);
      if (problem) throw problem;
      this.subscription = [...this.subscription, namespace];
      const synced = this.nextSynced();
      this.resync({ reason: 'subscription' });
      await synced;
    } else if (this.connection !== 'open') {
      await this.nextSynced();
    }
    const held = this.store.get({ namespace });
    if (held) return held;
    const empty = this.emptyDocument(namespace);
    this.store.set(empty);
    return empty;
  }

  private nextSynced(): Promise<void> {
    return new Promise((resolve) => this.syncedWaiters.push(resolve));
  }

  private follows(namespace: string): boolean {
    return this.subscription === undefined || this.subscription.includes(namespace);
  }

  /**
   * A namespace never written: its effective config is empty, at version 0 (all of it the
   * platform's, so a client that asked for origins has an exact map for it).
   */
  private emptyDocument(namespace: string): ConfigDocument {
    const document: ConfigDocument = { scope: this.scope, tenant: this.tenant, namespace, version: 0, config: {} };
    if (this.options.origins) document.origins = { '': 'platform' };
    return document;
  }

  private query(): ConnectQuery {
    return {
      since: this.wantSnapshot ? 0 : (this.seq ?? 0),
      namespaces: this.subscription,
      ...(this.options.origins ? { origins: true } : {}),
    };
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
    this.scope = subjectScope(token);
    // Documents held for another subject (a cache or bootstrap of another user) must not be
    // resumed: drop them and ask for a snapshot.
    const subject = tokenSubject(token);
    if (this.subject !== undefined && subject !== this.subject) {
      this.store.clear();
      this.seq = undefined;
    }
    this.subject = subject;
    // The hub refuses a bad list with 400 during the handshake, which neither browsers nor
    // the HTTP probe (it stops at 426) can read: check it here, by the hub's rules.
    const badSubscription = subscriptionProblem(this.subscription);
    if (badSubscription) {
      this.fatal(badSubscription);
      return;
    }
    const Impl = this.options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Impl) {
      this.fatal(new Error('no WebSocket implementation: pass one in the options (e.g. the ws package in Node)'));
      return;
    }
    const query = this.query();
    let socket: WebSocketLike;
    try {
      socket = new Impl(connectUrl(this.options.baseUrl, this.tenant, query), authProtocols(token));
    } catch (error) {
      this.fatal(toError(error));
      return;
    }
    this.socket = socket;
    this.hello = undefined;
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
      try {
        this.handle(frame);
      } catch (error) {
        if (current()) this.connectionFailed(toError(error));
      }
    };
    socket.onerror = () => {
      // a close event follows and decides what to do
    };
    socket.onclose = (event: CloseEventLike) => {
      if (!current()) return;
      void this.socketClosed(opened, event, query);
    };
  }

  private async socketClosed(opened: boolean, event: CloseEventLike, query: ConnectQuery): Promise<void> {
    const generation = ++this.generation;
    this.heartbeat?.stop();
    this.clearTimers();
    this.socket = undefined;
    if (this.stopped) return;
    if (!opened) {
      // The handshake was refused or failed: browsers do not tell why, so ask over HTTP,
      // with the same query (a bad `namespaces` list is refused with 400 too).
      try {
        await this.http.probeConnect(this.tenant, query);
      } catch (error) {
        if (generation !== this.generation || this.stopped) return;
        if (isPermanent(error)) {
          this.fatal(error);
          return;
        }
      }
      if (generation !== this.generation || this.stopped) return;
    }
    if (opened && event.code === CLOSE_TOKEN_EXPIRED && this.attempt === 0) {
      this.renewToken();
      return;
    }
    this.emitError(new Error(`connection closed (${event.code}${event.reason ? `: ${event.reason}` : ''})`));
    this.scheduleReconnect();
  }

  /**
   * The token expired on an open connection (the hub's notice frame, or its 4001 close): a
   * fresh token from the token source, at once, resuming after the last seq. A source that
   * keeps handing out expired tokens gets the backoff, then the hub's 401.
   */
  private renewToken(): void {
    if (this.attempt !== 0) {
      this.dropSocket(new Error('the token expired again: reconnecting after a backoff'));
      return;
    }
    this.attempt++;
    this.abandonSocket();
    if (this.stopped) return;
    this.setState('reconnecting');
    void this.openSocket();
  }

  /** Abandons the current socket (dead, or out of step) and reconnects after a backoff delay. */
  private dropSocket(reason: Error): void {
    this.abandonSocket();
    if (this.stopped) return;
    this.emitError(reason);
    this.scheduleReconnect();
  }

  private abandonSocket(): void {
    this.generation++;
    this.heartbeat?.stop();
    this.clearTimers();
    const socket = this.socket;
    this.socket = undefined;
    if (socket) detach(socket).close(4000, 'reconnecting');
  }

  /** Reconnects at once asking for a snapshot (`since=0`). */
  private resync(event: ResyncEvent): void {
    this.wantSnapshot = true;
    this.emitter.emit('resync', event);
    if (this.stopped) return;
    this.abandonSocket();
    this.setState('reconnecting');
    void this.openSocket();
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

  private handle(frame: ServerFrame): void {
    this.emitter.emit('frame', frame);
    switch (frame.type) {
      case 'hello':
        this.hello = frame;
        this.replayed = 0;
        this.emitter.emit('hello', frame);
        // A server that does not resume (no `synced` follows): nothing to wait for.
        if (frame.resume === 'none') this.caughtUp(frame.seq);
        return;
      case 'snapshot':
        this.handleSnapshot(frame);
        return;
      case 'synced':
        this.handleSynced(frame);
        return;
      case 'sync-status':
        this.status = frame;
        this.emitter.emit('sync-status', frame);
        return;
      case 'pong':
        this.emitter.emit('pong', { rttMs: this.heartbeat?.pong() });
        return;
      case 'error':
        if (frame.code === TOKEN_EXPIRED_CODE) {
          this.renewToken();
          return;
        }
        this.emitError(new CascadeFrameError(frame.code, frame.message));
        return;
      case 'unknown':
        return;
      default:
        if (isChangeFrame(frame)) this.handleChange(frame);
    }
  }

  /** Replaces the held documents with the snapshot's (the followed namespaces' whole state). */
  private handleSnapshot(frame: SnapshotFrame): void {
    const before = new Map(this.store.all().map((d) => [d.namespace, d] as const));
    this.store.clear();
    const documents: ConfigDocument[] = [];
    for (const [namespace, { version, config, origins }] of Object.entries(frame.configs)) {
      if (!this.follows(namespace)) continue;
      documents.push({ scope: this.scope, tenant: frame.tenant, namespace, version, config, ...(origins ? { origins } : {}) });
    }
    // Listed namespaces absent from the snapshot were never written.
    for (const namespace of this.subscription ?? []) {
      if (!(namespace in frame.configs)) documents.push(this.emptyDocument(namespace));
    }
    for (const document of documents) this.store.set(document);
    // The snapshot is the whole state at its seq, also from a hub the client is ahead of.
    this.seq = frame.seq;
    this.wantSnapshot = false;
    for (const document of documents) {
      const held = before.get(document.namespace);
      if (!held || held.version !== document.version) this.emitter.emit('document', document);
    }
    this.emitter.emit('snapshot', { frame, documents, replaced: before.size > 0 });
  }

  private handleSynced(frame: SyncedFrame): void {
    this.emitter.emit('synced', { seq: frame.seq, resume: this.hello?.resume ?? 'none', replayed: this.replayed });
    this.caughtUp(frame.seq);
  }

  private caughtUp(seq: number): void {
    this.seq = Math.max(this.seq ?? 0, seq);
    this.attempt = 0;
    this.persist();
    this.setState('open');
    for (const resolve of this.syncedWaiters.splice(0)) resolve();
  }

  private handleChange(frame: ChangeFrame): void {
    // `seq` jumps for frames that do not concern this socket; at or below ours is a duplicate.
    if (this.seq !== undefined && frame.seq <= this.seq) return;
    if (this.connection !== 'open') this.replayed++;
    if (!this.follows(frame.namespace)) {
      this.seq = frame.seq;
      this.emitChange({ type: frame.type, frame });
      return;
    }
    const result = this.store.apply(frame, this.emptyDocument(frame.namespace));
    if (result.kind === 'failed') {
      const error = new Error(`patch for ${frame.namespace} v${frame.version} did not apply: ${result.error.message}`);
      this.emitError(error);
      this.resync({ reason: 'patch-failed', frame, error });
      return;
    }
    this.seq = frame.seq;
    if (result.kind === 'applied') {
      this.emitter.emit('document', result.document);
      this.emitChange({ type: frame.type, frame, document: result.document, previous: result.previous });
    } else {
      this.emitChange({ type: frame.type, frame, document: result.kind === 'included' ? result.document : undefined });
    }
  }

  private emitChange(event: ChangeEvent): void {
    if (this.connection === 'open') this.persist();
    this.emitter.emit('change', event);
    this.emitter.emit(event.type, event);
  }
}

/** The most namespaces one connection may follow (the hub's `MAX_SUBSCRIPTIONS`). */
export const MAX_NAMESPACES = 7;

/** The 400 the hub would answer a bad `namespaces` list with, or undefined when it is fine. */
function subscriptionProblem(namespaces: readonly string[] | undefined): CascadeApiError | undefined {
  if (namespaces === undefined) return undefined;
  let detail: string | undefined;
  if (namespaces.length === 0) detail = 'namespaces must name at least one namespace (leave it out to follow all)';
  else if (namespaces.length > MAX_NAMESPACES) detail = `at most ${MAX_NAMESPACES} namespaces per connection, not ${namespaces.length}`;
  else {
    const bad = namespaces.find((n) => !/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(n));
    if (bad !== undefined) detail = `namespace ${JSON.stringify(bad)}: 1 to 64 letters, digits, '-' or '_', starting with a letter`;
  }
  if (detail === undefined) return undefined;
  return new CascadeApiError({ type: 'about:blank', title: 'Bad Request', status: 400, code: 'CASCADE:Connect:BadQuery', detail });
}

/** The token's `sub`, when it has one. */
function tokenSubject(token: string): string | undefined {
  try {
    const { sub } = jwtDecode<{ sub?: unknown }>(token);
    return typeof sub === 'string' ? sub : undefined;
  } catch {
    return undefined;
  }
}

/** Reads a storage item; a storage that throws (disabled, corrupt) counts as empty. */
function safeRead(storage: { getItem(key: string): string | null }, key: string): string | null {
  try {
    return storage.getItem(key);
  } catch {
    return null;
  }
}

/** `user` for a user's token (the hub sends that user's effective config), else `tenant`. */
function subjectScope(token: string): 'tenant' | 'user' {
  try {
    return jwtDecode<{ role?: string }>(token).role === 'user' ? 'user' : 'tenant';
  } catch {
    return 'tenant';
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
