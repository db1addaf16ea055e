/**
 * The dashboard: sign-in, then the health overview, the tenant table (live from the platform
 * admins' room), the platform editor, the sync rules and the selected tenant.
 */
import { useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { STATUS_QUERY_KEY } from '@cascade/react';
import type { Tenant } from '@cascade/client';
import { ApiContext, apiFor, useApi } from './api.js';
import { KNOWN_NAMESPACES, type EditorScope } from './configScope.js';
import { AllTenantsActivity } from './components/Activity.js';
import { ConfigEditor } from './components/ConfigEditor.js';
import { Connections } from './components/Connections.js';
import { Overview } from './components/Overview.js';
import { Rules } from './components/Rules.js';
import { SignIn } from './components/SignIn.js';
import { TenantTable } from './components/TenantTable.js';
import { TenantView } from './components/TenantView.js';
import { errorText } from './format.js';
import { usePlatformRoom } from './platformRoom.js';
import { loadSession, storeSession, type Session } from './session.js';

const BASE_URL = window.location.origin;
const PLATFORM: EditorScope = { kind: 'platform' };

/** Root component. */
export function App() {
  const [session, setSession] = useState<Session | undefined>(loadSession);
  const api = useMemo(() => (session ? apiFor(session, BASE_URL) : undefined), [session]);
  const signIn = (s: Session | undefined) => {
    storeSession(s);
    setSession(s);
  };
  if (!api) return <SignIn baseUrl={BASE_URL} onSignedIn={signIn} />;
  return (
    <ApiContext.Provider value={api}>
      <Shell onSignOut={() => signIn(undefined)} />
    </ApiContext.Provider>
  );
}

function Shell(props: { onSignOut: () => void }) {
  const { session } = useApi();
  return (
    <>
      <header className="topbar">
        <strong>Cascade</strong>
        <span className="muted">configuration sync</span>
        <span className="spacer" />
        <span data-testid="whoami">
          {session.sub} · {session.role}
          {session.tenant ? ` · ${session.tenant}` : ''}
        </span>
        <button className="secondary" onClick={props.onSignOut}>
          Sign out
        </button>
      </header>
      <main>{session.role === 'platform-admin' ? <PlatformDashboard /> : <TenantDashboard />}</main>
    </>
  );
}

function PlatformDashboard() {
  const { http, baseUrl, session } = useApi();
  const room = usePlatformRoom(baseUrl, session.token);
  const status = useQuery({ queryKey: STATUS_QUERY_KEY, queryFn: () => http.status(), refetchInterval: 30_000 });
  const tenants = useQuery({ queryKey: ['tenants'], queryFn: () => http.listTenants(), refetchInterval: 30_000 });
  const [selected, setSelected] = useState<string>();
  const snapshotSeenAt = useFirstSeen(status.data?.takenAt);
  return (
    <>
      <Overview status={status.data} loading={status.isLoading} error={status.error} />
      {tenants.error ? (
        <p className="error">Tenants unavailable: {errorText(tenants.error)}</p>
      ) : (
        <TenantTable tenants={tenants.data ?? []} status={status.data} selected={selected} onSelect={setSelected} live={room.live} snapshotSeenAt={snapshotSeenAt} />
      )}
      <Connections status={status.data} />
      <ConfigEditor scope={PLATFORM} namespaces={KNOWN_NAMESPACES} />
      <Rules />
      <AllTenantsActivity />
      {selected ? <TenantView key={selected} tenant={selected} /> : <p className="muted">Select a tenant to follow its events live, resolve its pending changes and conflicts, and edit its configuration.</p>}
    </>
  );
}

/** When (by this browser's clock) `key` first took its current value; 0 while undefined. */
function useFirstSeen(key: number | undefined): number {
  const [seen, setSeen] = useState<{ key: number | undefined; at: number }>({ key: undefined, at: 0 });
  if (seen.key !== key) {
    const next = { key, at: key === undefined ? 0 : Date.now() };
    setSeen(next);
    return next.at;
  }
  return seen.at;
}

function TenantDashboard() {
  const { session, http } = useApi();
  const tenant = useQuery({
    queryKey: ['tenant', session.tenant],
    queryFn: () => http.getTenant(session.tenant ?? ''),
    enabled: session.role === 'tenant-admin' && session.tenant !== undefined,
  });
  if (!session.tenant) return <p className="error">This token names no tenant.</p>;
  if (session.role !== 'tenant-admin') {
    return <p className="muted">Signed in as a user of {session.tenant}: the dashboard is for administrators.</p>;
  }
  const t: Tenant | undefined = tenant.data;
  return (
    <>
      {t && <TenantTable tenants={[t]} status={undefined} selected={t.id} onSelect={() => undefined} />}
      <TenantView tenant={session.tenant} />
    </>
  );
}
