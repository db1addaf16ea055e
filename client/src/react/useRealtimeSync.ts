/**
 * `useRealtimeSync`: the React side of the client. Follows one tenant over a WebSocket,
 * keeps its documents current, invalidates the matching TanStack Query caches on every
 * change (and everything of the tenant after a snapshot), exposes the connection state (for
 * a "reconnecting…" indicator) and, to admins, the latest `sync-status`, and turns each
 * change into a short notification for the app to show.
 */
import { useQueryClient, type QueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useRef, useState } from 'react';
import { CascadeClient, type CascadeClientOptions, type ChangeEvent, type ConnectionState } from '../client.js';
import { describeChange, type ChangeNotification } from '../notifications.js';
import type { ConfigDocument, SyncStatusFrame } from '../types.js';
import { configQueryKey, historyQueryKey, STATUS_QUERY_KEY, tenantConfigQueryKey } from './queryKeys.js';

/** Options of {@link useRealtimeSync}. */
export interface UseRealtimeSyncOptions
  extends Pick<CascadeClientOptions, 'baseUrl' | 'tenant' | 'token' | 'WebSocket' | 'fetch' | 'heartbeat' | 'backoff'> {
  /**
   * The namespaces to follow: only their changes arrive, and only their documents are held
   * in `documents`. Absent: every namespace.
   */
  namespaces?: string[];
  /** False keeps the connection closed (e.g. until signed in). Default true. */
  enabled?: boolean;
  /** The query client to invalidate (default: the one from `QueryClientProvider`). */
  queryClient?: QueryClient;
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
  /** Held effective documents by namespace. */
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
  /** The underlying client (undefined while disabled). */
  client: CascadeClient | undefined;
}

type Handlers = Pick<
  UseRealtimeSyncOptions,
  'onConfigUpdated' | 'onModuleChanged' | 'onAuthChanged' | 'onRbacChanged' | 'onNotification'
>;

function tenantDocuments(client: CascadeClient): Record<string, ConfigDocument> {
  const out: Record<string, ConfigDocument> = {};
  for (const document of client.documents()) out[document.namespace] = document;
  return out;
}

/** Follows a tenant in real time; see the module documentation. */
export function useRealtimeSync(options: UseRealtimeSyncOptions): RealtimeSync {
  const contextClient = useQueryClient();
  const queryClient = options.queryClient ?? contextClient;
  const { baseUrl, tenant, token, enabled = true, maxNotifications = 20 } = options;
  // undefined (follow all) and [] (a mistake the client reports) stay apart.
  const namespacesKey = options.namespaces?.join('\u0000');

  // Handlers and transport options may change identity on every render: read them through
  // refs so that only the connection's identity (URL, tenant, token, namespaces) reconnects.
  const handlers = useRef<Handlers>(options);
  handlers.current = options;
  const transport = useRef(options);
  transport.current = options;

  const [client, setClient] = useState<CascadeClient>();
  const [state, setState] = useState<ConnectionState>('closed');
  const [lastSeq, setLastSeq] = useState<number>();
  const [documents, setDocuments] = useState<Record<string, ConfigDocument>>({});
  const [notifications, setNotifications] = useState<ChangeNotification[]>([]);
  const [lastEvent, setLastEvent] = useState<ChangeEvent>();
  const [syncStatus, setSyncStatus] = useState<SyncStatusFrame>();
  const [error, setError] = useState<Error>();

  useEffect(() => {
    if (!enabled) return undefined;
    const { WebSocket, fetch, heartbeat, backoff } = transport.current;
    const next = new CascadeClient({
      baseUrl,
      tenant,
      token,
      WebSocket,
      fetch,
      heartbeat,
      backoff,
      namespaces: namespacesKey === undefined ? undefined : namespacesKey === '' ? [] : namespacesKey.split('\u0000'),
    });
    const offs = [
      next.on('state', (s) => {
        setState(s);
        setLastSeq(next.lastSeq);
        if (s === 'closed') setError(next.lastError);
        if (s === 'open') setError(undefined);
      }),
      next.on('error', (e) => setError(e)),
      next.on('document', () => setDocuments(tenantDocuments(next))),
      next.on('snapshot', () => {
        // The snapshot replaced every held document (also one that would no longer be held).
        setDocuments(tenantDocuments(next));
        // A snapshot says where the tenant is, not what changed: anything cached may be stale.
        void queryClient.invalidateQueries({ queryKey: tenantConfigQueryKey(tenant) });
        void queryClient.invalidateQueries({ queryKey: historyQueryKey(tenant) });
      }),
      next.on('synced', () => setLastSeq(next.lastSeq)),
      next.on('sync-status', (status) => {
        setSyncStatus(status);
        // The platform's report follows a health check: the cached snapshot is outdated.
        if (status.scope === 'platform') void queryClient.invalidateQueries({ queryKey: STATUS_QUERY_KEY });
      }),
      next.on('change', (event) => {
        const { frame } = event;
        setLastSeq(next.lastSeq);
        setLastEvent(event);
        void queryClient.invalidateQueries({ queryKey: configQueryKey(frame.tenant, frame.namespace) });
        void queryClient.invalidateQueries({ queryKey: historyQueryKey(frame.tenant) });
        const notification = describeChange(frame);
        setNotifications((list) => [notification, ...list.filter((n) => n.id !== notification.id)].slice(0, maxNotifications));
        const h = handlers.current;
        const specific = {
          'config-updated': h.onConfigUpdated,
          'module-changed': h.onModuleChanged,
          'auth-changed': h.onAuthChanged,
          'rbac-changed': h.onRbacChanged,
        }[event.type];
        specific?.(event);
        h.onNotification?.(notification);
      }),
    ];
    setClient(next);
    setDocuments({});
    setSyncStatus(undefined);
    setError(undefined);
    next.connect();
    return () => {
      for (const off of offs) off();
      next.close();
      setClient(undefined);
      setState('closed');
    };
  }, [baseUrl, tenant, token, enabled, namespacesKey, queryClient, maxNotifications]);

  const dismiss = useCallback((id: string) => setNotifications((list) => list.filter((n) => n.id !== id)), []);
  const requestStatus = useCallback(() => client?.requestStatus() ?? false, [client]);

  return {
    state,
    isConnected: state === 'open',
    isReconnecting: state === 'reconnecting',
    lastSeq,
    documents,
    notifications,
    lastEvent,
    syncStatus,
    requestStatus,
    error,
    dismiss,
    client,
  };
}
