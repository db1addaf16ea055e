/**
 * `RealtimeStore`: what `useRealtimeSync` shows of one client, as an external store for
 * `useSyncExternalStore`. Each client event that changes what is shown makes one new
 * immutable snapshot and one notification, so one change re-renders a consumer once.
 */
import {
  describeChange,
  type AnyCascadeClient,
  type CascadeClient,
  type ChangeEvent,
  type ChangeNotification,
  type ConfigDocument,
  type ConnectionState,
  type NamespaceMap,
  type SyncStatusFrame,
} from '@cascade/client';
import { configQueryKey, historyQueryKey, STATUS_QUERY_KEY, tenantConfigQueryKey } from './queryKeys.js';

/** The part of TanStack Query's `QueryClient` the hook uses (any object with it will do). */
export interface QueryInvalidator {
  invalidateQueries(filters: { queryKey: readonly unknown[] }): unknown;
}

/** The callbacks a store calls, read anew on each event (the hook passes its latest props). */
export interface StoreCallbacks {
  queryClient?: QueryInvalidator | undefined;
  onConfigUpdated?: ((event: ChangeEvent) => void) | undefined;
  onModuleChanged?: ((event: ChangeEvent) => void) | undefined;
  onAuthChanged?: ((event: ChangeEvent) => void) | undefined;
  onRbacChanged?: ((event: ChangeEvent) => void) | undefined;
  onNotification?: ((notification: ChangeNotification) => void) | undefined;
  maxNotifications?: number | undefined;
}

/** One immutable view of the connection and its data. */
export interface RealtimeSnapshot {
  state: ConnectionState;
  lastSeq: number | undefined;
  documents: Record<string, ConfigDocument>;
  notifications: ChangeNotification[];
  lastEvent: ChangeEvent | undefined;
  syncStatus: SyncStatusFrame | undefined;
  error: Error | undefined;
}

function heldDocuments(client: AnyCascadeClient): Record<string, ConfigDocument> {
  const out: Record<string, ConfigDocument> = {};
  for (const document of client.documents()) out[document.namespace] = document;
  return out;
}

/** Follows one client for React; `start`/`stop` connect and close it. */
export class RealtimeStore {
  private snapshot: RealtimeSnapshot;
  private readonly listeners = new Set<() => void>();
  private offs: Array<() => void> = [];

  constructor(
    readonly client: AnyCascadeClient,
    private readonly callbacks: () => StoreCallbacks,
  ) {
    // Documents from a bootstrap or cache are there before the socket: the first paint shows them.
    this.snapshot = {
      state: client.state,
      lastSeq: client.lastSeq,
      documents: heldDocuments(client),
      notifications: [],
      lastEvent: undefined,
      syncStatus: undefined,
      error: undefined,
    };
  }

  /** For `useSyncExternalStore`. */
  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** For `useSyncExternalStore`. */
  readonly getSnapshot = (): RealtimeSnapshot => this.snapshot;

  /** Removes one notification. */
  readonly dismiss = (id: string): void => {
    this.update({ notifications: this.snapshot.notifications.filter((n) => n.id !== id) });
  };

  private update(patch: Partial<RealtimeSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...patch };
    for (const listener of [...this.listeners]) listener();
  }

  private invalidate(queryKey: readonly unknown[]): void {
    void this.callbacks().queryClient?.invalidateQueries({ queryKey });
  }

  /** Listens to the client and connects it. */
  start(): void {
    const client = this.client;
    const { tenant } = client;
    this.offs = [
      client.on('state', (state) => {
        const error = state === 'closed' ? client.lastError : state === 'open' ? undefined : this.snapshot.error;
        this.update({ state, lastSeq: client.lastSeq, error });
      }),
      client.on('error', (error) => this.update({ error })),
      client.on('snapshot', () => {
        // The snapshot replaced every held document; anything cached may be stale.
        this.update({ documents: heldDocuments(client), lastSeq: client.lastSeq });
        this.invalidate(tenantConfigQueryKey(tenant));
        this.invalidate(historyQueryKey(tenant));
      }),
      client.on('synced', () => {
        if (client.lastSeq !== this.snapshot.lastSeq) this.update({ lastSeq: client.lastSeq });
      }),
      client.on('sync-status', (syncStatus) => {
        this.update({ syncStatus });
        // The platform's report follows a health check: the cached status is outdated.
        if (syncStatus.scope === 'platform') this.invalidate(STATUS_QUERY_KEY);
      }),
      client.on('change', (event) => this.changed(event)),
    ];
    client.connect();
  }

  /** Stops listening and closes the client. */
  stop(): void {
    for (const off of this.offs.splice(0)) off();
    this.client.close();
    this.update({ state: 'closed' });
  }

  private changed(event: ChangeEvent): void {
    const { frame } = event;
    const callbacks = this.callbacks();
    const notification = describeChange(frame);
    const max = callbacks.maxNotifications ?? 20;
    const documents = event.document && this.snapshot.documents[frame.namespace] !== event.document
      ? { ...this.snapshot.documents, [frame.namespace]: event.document }
      : this.snapshot.documents;
    // One update for everything the change shows: one render.
    this.update({
      documents,
      lastSeq: this.client.lastSeq,
      lastEvent: event,
      notifications: [notification, ...this.snapshot.notifications.filter((n) => n.id !== notification.id)].slice(0, max),
    });
    this.invalidate(configQueryKey(frame.tenant, frame.namespace));
    this.invalidate(historyQueryKey(frame.tenant));
    const specific = {
      'config-updated': callbacks.onConfigUpdated,
      'module-changed': callbacks.onModuleChanged,
      'auth-changed': callbacks.onAuthChanged,
      'rbac-changed': callbacks.onRbacChanged,
    }[event.type];
    specific?.(event);
    callbacks.onNotification?.(notification);
  }
}
