/**
 * `useRealtimeSync`: the React side of the client. Follows one tenant over a WebSocket,
 * keeps its documents current, exposes the connection state (for a "reconnecting…"
 * indicator) and, to admins, the latest `sync-status`, turns each change into a short
 * notification, and — given a TanStack Query client (`queryClient`, or from the provider with
 * `@cascade/react/query`) — invalidates the matching queries on every change.
 *
 * The connection's identity is `baseUrl`, `tenant`, `namespaces` and a string `token`: only a
 * change of one of them makes a new client. A token function, the handlers, the query client
 * and the transport options are read through a ref, so a new function on every render
 * (`token: () => jwt`) never reconnects. The view is an external store
 * (`useSyncExternalStore`): one change re-renders the component once, and only when it
 * changed a field the component read (the returned fields are getters that record it).
 */
import {
  CascadeClient,
  resolveToken,
  type CascadeClientOptions,
  type ChangeEvent,
  type ChangeNotification,
  type ConfigDocument,
  type ConnectionState,
  type SyncStatusFrame,
} from '@cascade/client';
import { useCallback, useEffect, useMemo, useRef, useSyncExternalStore } from 'react';
import { RealtimeStore, type QueryInvalidator, type RealtimeSnapshot, type StoreCallbacks } from './store.js';

/** Options of {@link useRealtimeSync}. */
export interface UseRealtimeSyncOptions
  extends Pick<
      CascadeClientOptions,
      'baseUrl' | 'tenant' | 'token' | 'WebSocket' | 'fetch' | 'heartbeat' | 'backoff' | 'bootstrap' | 'cache' | 'openTimeoutMs'
    >,
    Omit<StoreCallbacks, 'queryClient'> {
  /**
   * The namespaces to follow: only their changes arrive, and only their documents are held
   * in `documents`. Absent: every namespace.
   */
  namespaces?: string[];
  /** False keeps the connection closed (e.g. until signed in). Default true. */
  enabled?: boolean;
  /**
   * The TanStack Query client to invalidate (no provider needed). Absent: none with
   * `@cascade/react`, the provider's with `@cascade/react/query`.
   */
  queryClient?: QueryInvalidator | undefined;
  /** How many notifications to keep (default 20). */
  maxNotifications?: number;
  /** Called for every change in a namespace without its own event (`config-updated`). */
  onConfigUpdated?: (event: ChangeEvent) => void;
  /** Called when the `modules` namespace changes (`module-changed`). */
  onModuleChanged?: (event: ChangeEvent) => void;
  /** Called when the `auth` namespace changes (`auth-changed`). */
  onAuthChanged?: (event: ChangeEvent) => void;
  /** Called when the `rbac` namespace changes (`rbac-changed`). */
  onRbacChanged?: (event: ChangeEvent) => void;
  /** Called with the notification of each change, e.g. to show a toast. */
  onNotification?: (notification: ChangeNotification) => void;
}

/** What {@link useRealtimeSync} returns. */
export interface RealtimeSync {
  /** Connection state. */
  state: ConnectionState;
  /** True when connected and current. */
  isConnected: boolean;
  /** True while the connection is being restored. */
  isReconnecting: boolean;
  /** The resume point: the last `seq` the client has. */
  lastSeq: number | undefined;
  /** Held effective documents by namespace (from the bootstrap or cache before the socket's). */
  documents: Record<string, ConfigDocument>;
  /** Notifications of recent changes, newest first. */
  notifications: ChangeNotification[];
  /** The latest change. */
  lastEvent: ChangeEvent | undefined;
  /** Admins: the latest `sync-status` frame (after each change, or on `requestStatus`). */
  syncStatus: SyncStatusFrame | undefined;
  /** Admins: asks the hub for a `sync-status` now; false when not connected. */
  requestStatus: () => boolean;
  /** The latest error (fatal when `state` is `closed`). */
  error: Error | undefined;
  /** Removes one notification. */
  dismiss: (id: string) => void;
  /** The underlying client (undefined while disabled); give it to `CascadeProvider` for `useConfig`. */
  client: CascadeClient | undefined;
}

/** Stands for "a token function" in the connection's identity: functions never reconnect. */
const TOKEN_FUNCTION = '\u0000function';

/** Follows a tenant in real time; see the module documentation. */
export function useRealtimeSync(options: UseRealtimeSyncOptions): RealtimeSync {
  const { baseUrl, tenant, enabled = true } = options;
  const latest = useRef(options);
  latest.current = options;
  // undefined (follow all) and [] (a mistake the client reports) stay apart.
  const namespacesKey = options.namespaces?.join('\u0000');
  // A different string token is another identity (sign-in as someone else): reconnect.
  const tokenKey = typeof options.token === 'string' ? options.token : TOKEN_FUNCTION;

  const store = useMemo(() => {
    const { WebSocket, fetch, heartbeat, backoff, bootstrap, cache, openTimeoutMs } = latest.current;
    const client = new CascadeClient({
      baseUrl,
      tenant,
      token: () => resolveToken(latest.current.token),
      WebSocket,
      fetch,
      heartbeat,
      backoff,
      bootstrap,
      cache,
      openTimeoutMs,
      namespaces: namespacesKey === undefined ? undefined : namespacesKey === '' ? [] : namespacesKey.split('\u0000'),
    });
    return new RealtimeStore(client, () => latest.current);
    // tokenKey is part of the identity on purpose, though the token is read through the ref.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [baseUrl, tenant, tokenKey, namespacesKey]);

  useEffect(() => {
    if (!enabled) return undefined;
    store.start();
    return () => store.stop();
  }, [store, enabled]);

  // Like SWR, re-render only for what this component reads: the fields it touched last
  // render are compared, the rest (e.g. an admin's sync-status after each change) is not.
  const accessed = useRef(new Set<keyof RealtimeSnapshot>());
  const rendered = useRef<RealtimeSnapshot | undefined>(undefined);
  const getSnapshot = useCallback((): RealtimeSnapshot => {
    const next = store.getSnapshot();
    const previous = rendered.current;
    if (!previous || previous === next) return next;
    for (const field of accessed.current) if (!Object.is(previous[field], next[field])) return next;
    return previous;
  }, [store]);
  const view = useSyncExternalStore(store.subscribe, getSnapshot, getSnapshot);
  rendered.current = view;
  const requestStatus = useCallback(() => store.client.requestStatus(), [store]);

  const track = <K extends keyof RealtimeSnapshot>(field: K): RealtimeSnapshot[K] => {
    accessed.current.add(field);
    return view[field];
  };
  return {
    get state() {
      return track('state');
    },
    get isConnected() {
      return track('state') === 'open';
    },
    get isReconnecting() {
      return track('state') === 'reconnecting';
    },
    get lastSeq() {
      return track('lastSeq');
    },
    get documents() {
      return track('documents');
    },
    get notifications() {
      return track('notifications');
    },
    get lastEvent() {
      return track('lastEvent');
    },
    get syncStatus() {
      return track('syncStatus');
    },
    get error() {
      return track('error');
    },
    requestStatus,
    dismiss: store.dismiss,
    client: enabled ? store.client : undefined,
  };
}
