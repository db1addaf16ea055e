/**
 * One tenant, live: its connection and manual sync, its notifications (in the page's flow,
 * under the header, so they never cover a button), module states, open items (pending
 * changes, conflicts), history with diffs and rollback, activity charts, the event log and
 * the config editor.
 */
import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import type { ChangeEvent } from '@cascade/client';
import { STATUS_QUERY_KEY } from '@cascade/react';
import { useRealtimeSync } from '@cascade/react/query';
import { useApi } from '../api.js';
import { KNOWN_NAMESPACES } from '../configScope.js';
import { conflictsKey, pendingKey } from '../queries.js';
import { Activity } from './Activity.js';
import { ConfigEditor } from './ConfigEditor.js';
import { Conflicts } from './Conflicts.js';
import { ConnectionBadge } from './ConnectionBadge.js';
import { EventLog } from './EventLog.js';
import { History } from './History.js';
import { ModuleState } from './ModuleState.js';
import { PendingChanges } from './PendingChanges.js';
import { SyncButton } from './SyncButton.js';
import { Toasts } from './Toasts.js';

const MAX_LIVE = 200;

/** Follows `tenant` over the WebSocket while shown. */
export function TenantView(props: { tenant: string }) {
  const { session, baseUrl } = useApi();
  const queryClient = useQueryClient();
  const [live, setLive] = useState<Array<ChangeEvent & { at: number }>>([]);
  const sync = useRealtimeSync({ baseUrl, tenant: props.tenant, token: session.token });

  useEffect(() => {
    setLive([]);
    if (!sync.client) return undefined;
    const refreshItems = () => {
      for (const queryKey of [pendingKey(props.tenant), conflictsKey(props.tenant), ['modules', props.tenant]]) {
        void queryClient.invalidateQueries({ queryKey });
      }
    };
    const offChange = sync.client.on('change', (event) => {
      setLive((list) => [{ ...event, at: Date.now() }, ...list].slice(0, MAX_LIVE));
      refreshItems();
    });
    // `sync-status` (admins, after every commit): a held platform change or a decision moves
    // the open items without any change frame; the platform's report moves the health.
    const offStatus = sync.client.on('sync-status', (status) => {
      if (status.scope === 'platform') void queryClient.invalidateQueries({ queryKey: STATUS_QUERY_KEY });
      else refreshItems();
    });
    return () => {
      offChange();
      offStatus();
    };
  }, [sync.client, props.tenant, queryClient]);

  const liveNamespaces = useMemo(() => [...new Set(live.map((e) => e.frame.namespace))], [live]);
  const namespaces = useMemo(() => [...new Set([...KNOWN_NAMESPACES, ...liveNamespaces])].sort(), [liveNamespaces]);
  const liveEvents = useMemo(() => live.map((e) => ({ seq: e.frame.seq, at: e.at, namespace: e.frame.namespace })), [live]);

  return (
    <div className="tenant-view">
      <div className="section-head">
        <h2 className="tenant-title">Tenant {props.tenant}</h2>
        <ConnectionBadge state={sync.state} tenant={props.tenant} error={sync.error} />
        {sync.lastSeq !== undefined && <span className="muted">seq {sync.lastSeq}</span>}
        {sync.state === 'closed' && sync.error && <span className="error">{sync.error.message}</span>}
        <span className="spacer" />
        <SyncButton tenant={props.tenant} />
      </div>
      <Toasts notifications={sync.notifications} dismiss={sync.dismiss} />
      <div className="columns">
        <ModuleState tenant={props.tenant} extra={liveNamespaces} />
        <div className="stack">
          <PendingChanges tenant={props.tenant} />
          <Conflicts tenant={props.tenant} />
        </div>
      </div>
      <History tenant={props.tenant} />
      <Activity tenant={props.tenant} live={liveEvents} />
      <div className="columns">
        <EventLog tenant={props.tenant} live={live} />
        <ConfigEditor scope={{ kind: 'tenant', tenant: props.tenant }} namespaces={namespaces} />
      </div>
    </div>
  );
}
