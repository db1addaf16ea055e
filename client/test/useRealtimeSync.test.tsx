// @vitest-environment jsdom
/** The React hook, rendered in jsdom, against the running Worker. */
import { QueryClient, QueryClientProvider, useQuery } from '@tanstack/react-query';
import { act, cleanup, configure, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChangeEvent } from '@cascade/client';
import type { ChangeNotification } from '@cascade/client';
import { configQueryKey } from '@cascade/react';
import { useRealtimeSync, type UseRealtimeSyncOptions } from '@cascade/react/query';
import { adminHttp, adminToken, baseUrl, freshTenant, instrumentedWebSocket, NodeWebSocket } from './support/harness.js';

afterEach(cleanup);
// A real runtime on a shared machine: a first connection to a cold hub can take over the
// default second (seen at load 17, 'connecting' still shown after 1 s).
configure({ asyncUtilTimeout: 5_000 });

/** Shows what an app would: connection state, a config read through TanStack Query, notifications. */
function Probe(props: { options: UseRealtimeSyncOptions; namespace: string }) {
  const sync = useRealtimeSync(props.options);
  const { tenant } = props.options;
  const query = useQuery({
    queryKey: configQueryKey(tenant, props.namespace),
    queryFn: () => adminHttp().getConfig(tenant, props.namespace),
  });
  return (
    <div>
      <p data-testid="state">{sync.state}</p>
      {sync.isReconnecting && <p>reconnecting…</p>}
      <p data-testid="seq">{sync.lastSeq ?? '-'}</p>
      <p data-testid="query">{query.data ? JSON.stringify(query.data.config) : 'loading'}</p>
      <p data-testid="held">{JSON.stringify(sync.documents[props.namespace]?.config ?? null)}</p>
      <p data-testid="error">{sync.error ? sync.error.message : ''}</p>
      <p data-testid="status">
        {sync.syncStatus?.scope === 'tenant' ? `${sync.syncStatus.status} at ${sync.syncStatus.seq}` : '-'}
      </p>
      <ul>
        {sync.notifications.map((n) => (
          <li key={n.id}>
            {n.title}: {n.message}
          </li>
        ))}
      </ul>
    </div>
  );
}

function renderProbe(options: Partial<UseRealtimeSyncOptions> & { tenant: string }, namespace = 'notifications') {
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: Infinity } } });
  const full: UseRealtimeSyncOptions = { baseUrl: baseUrl(), token: adminToken(), WebSocket: NodeWebSocket, ...options };
  const view = render(
    <QueryClientProvider client={queryClient}>
      <Probe options={full} namespace={namespace} />
    </QueryClientProvider>,
  );
  return { view, queryClient };
}

const text = (id: string) => screen.getByTestId(id).textContent;

describe('useRealtimeSync', () => {
  it('keeps the config current, invalidates its query, notifies, and calls the event handler', async () => {
    const tenant = await freshTenant('hook');
    const http = adminHttp();
    await http.putConfig(tenant, 'notifications', { email: { enabled: true } });
    const updated: ChangeEvent[] = [];
    const notified: ChangeNotification[] = [];
    const modules: ChangeEvent[] = [];
    renderProbe({
      tenant,
      onConfigUpdated: (e) => updated.push(e),
      onModuleChanged: (e) => modules.push(e),
      onNotification: (n) => notified.push(n),
    });
    await waitFor(() => expect(text('state')).toBe('open'));
    await waitFor(() => expect(text('query')).toBe('{"email":{"enabled":true}}'));
    expect(text('held')).toBe('{"email":{"enabled":true}}');

    // staleTime is Infinity: only the hook's invalidation can make the query read again.
    await act(() => http.putConfig(tenant, 'notifications', { email: { enabled: false }, sms: { provider: 'twilio' } }));
    await waitFor(() => expect(text('query')).toBe('{"email":{"enabled":false},"sms":{"provider":"twilio"}}'));
    expect(text('held')).toBe('{"email":{"enabled":false},"sms":{"provider":"twilio"}}');
    await screen.findByText(
      `Notifications settings updated: email.enabled changed, sms added — tenant ${tenant}, by test-admin (v2)`,
    );
    expect(updated.map((e) => e.frame.seq)).toEqual([2]);
    expect(notified.map((n) => n.id)).toEqual([`${tenant}:2`]);

    await act(() => http.putConfig(tenant, 'modules', { billing: { enabled: true } }));
    await screen.findByText(`Modules updated: billing added — tenant ${tenant}, by test-admin (v3)`);
    expect(modules.map((e) => e.frame.namespace)).toEqual(['modules']);
    expect(updated).toHaveLength(1);
    expect(text('seq')).toBe('3');
    // A platform admin follows the tenant's hub as one of its admins: it sees the sync state.
    await waitFor(() => expect(text('status')).toBe('success at 3'));
  });

  it('follows only the subscribed namespaces', async () => {
    const tenant = await freshTenant('hooksub');
    const http = adminHttp();
    await http.putConfig(tenant, 'modules', { before: true });
    const updated: ChangeEvent[] = [];
    const modules: ChangeEvent[] = [];
    renderProbe({ tenant, namespaces: ['notifications'], onConfigUpdated: (e) => updated.push(e), onModuleChanged: (e) => modules.push(e) });
    await waitFor(() => expect(text('state')).toBe('open'));
    expect(text('held')).toBe('{}');
    await act(() => http.putConfig(tenant, 'modules', { billing: true }));
    await act(() => http.putConfig(tenant, 'notifications', { email: true }));
    await waitFor(() => expect(text('held')).toBe('{"email":true}'));
    await screen.findByText(`Notifications settings updated: email added — tenant ${tenant}, by test-admin (v3)`);
    expect(updated.map((e) => e.frame.seq)).toEqual([3]);
    expect(modules).toEqual([]);
    expect(screen.queryByText(/Modules updated/)).toBeNull();
  });

  it('shows reconnecting while the connection is restored, then catches up', async () => {
    const tenant = await freshTenant('hookre');
    const http = adminHttp();
    // Resume from seq 1 (a client at 0 would get a snapshot: since=0 asks for one).
    await http.putConfig(tenant, 'notifications', { before: true });
    const { Impl, sockets } = instrumentedWebSocket();
    renderProbe({ tenant, namespaces: ['notifications'], WebSocket: Impl, backoff: { initialMs: 400, maxMs: 400 } });
    await waitFor(() => expect(text('state')).toBe('open'));
    act(() => sockets[0]!.terminate());
    await screen.findByText('reconnecting…');
    await act(() => http.putConfig(tenant, 'notifications', { while: 'away' }));
    await waitFor(() => expect(text('state')).toBe('open'));
    expect(screen.queryByText('reconnecting…')).toBeNull();
    await waitFor(() => expect(text('held')).toBe('{"while":"away"}'));
    // The replayed change invalidated its query, so the cached read caught up too, and its
    // notification is shown like a live one's.
    await waitFor(() => expect(text('query')).toBe('{"while":"away"}'));
    await screen.findByText(/^Notifications settings updated: .*while added.* \(v2\)$/);
  });

  it('ends in the closed state with the server refusal when the token is rejected', async () => {
    const tenant = await freshTenant('hookauth');
    renderProbe({ tenant, token: 'not-a-jwt' });
    await waitFor(() => expect(text('state')).toBe('closed'));
    await waitFor(() => expect(text('error')).toMatch(/401 CASCADE:Auth:Unauthenticated/));
  });

  it('ends closed with the 400 the hub would give a subscription it refuses', async () => {
    const tenant = await freshTenant('hookbad');
    renderProbe({ tenant, namespaces: [] });
    await waitFor(() => expect(text('state')).toBe('closed'));
    expect(text('error')).toMatch(/400 CASCADE:Connect:BadQuery: namespaces must name at least one/);
  });
});
