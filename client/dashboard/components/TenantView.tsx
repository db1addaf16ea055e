/** One tenant, live: its connection, its event log and its config editor. */
import { useEffect, useMemo, useState } from 'react';
import type { ChangeEvent } from '../../src/client.js';
import { useRealtimeSync } from '../../src/react/useRealtimeSync.js';
import { useApi } from '../api.js';
import { ConfigEditor } from './ConfigEditor.js';
import { ConnectionBadge } from './ConnectionBadge.js';
import { EventLog } from './EventLog.js';
import { Toasts } from './Toasts.js';

const MAX_LIVE = 200;

/** Follows `tenant` over the WebSocket while shown. */
export function TenantView(props: { tenant: string }) {
  const { session, baseUrl } = useApi();
  const [live, setLive] = useState<Array<ChangeEvent & { at: number }>>([]);
  const sync = useRealtimeSync({ baseUrl, tenant: props.tenant, token: session.token });

  useEffect(() => {
    setLive([]);
    if (!sync.client) return undefined;
    return sync.client.on('change', (event) => setLive((list) => [{ ...event, at: Date.now() }, ...list].slice(0, MAX_LIVE)));
  }, [sync.client]);

  const namespaces = useMemo(
    () => [...new Set(['notifications', 'auth', 'rbac', 'modules', 'business', 'mfa', ...live.map((e) => e.frame.namespace)])].sort(),
    [live],
  );

  return (
    <div className="tenant-view">
      <div className="section-head">
        <h2 className="tenant-title">Tenant {props.tenant}</h2>
        <ConnectionBadge state={sync.state} tenant={props.tenant} error={sync.error} />
        {sync.lastSeq !== undefined && <span className="muted">seq {sync.lastSeq}</span>}
        {sync.state === 'closed' && sync.error && <span className="error">{sync.error.message}</span>}
      </div>
      <div className="columns">
        <EventLog tenant={props.tenant} live={live} />
        <ConfigEditor tenant={props.tenant} namespaces={namespaces} />
      </div>
      <Toasts notifications={sync.notifications} dismiss={sync.dismiss} />
    </div>
  );
}
