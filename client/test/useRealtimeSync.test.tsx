// @vitest-environment jsdom
/** The React hook, rendered in jsdom, against the running Worker. */
import { QueryClient, QueryClientProvider, useQuery } from '@tanstack/react-query';
import { act, cleanup, configure, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../src/client.js';
import type { ChangeNotification } from '../src/notifications.js';
import { configQueryKey } from '../src/react/queryKeys.js';
import { useRealtimeSync, type UseRealtimeSyncOptions } from '../src/react/useRealtimeSync.js';
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
      namespaces: ['notifications'],
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
  });

  it('shows reconnecting while the connection is restored, then catches up', async () => {
    const tenant = await freshTenant('hookre');
    const http = adminHttp();
    const { Impl, sockets } = instrumentedWebSocket();
    renderProbe({ tenant, namespaces: ['notifications'], WebSocket: Impl, backoff: { initialMs: 400, maxMs: 400 } });
    await waitFor(() => expect(text('state')).toBe('open'));
    act(() => sockets[0]!.terminate());
    await screen.findByText('reconnecting…');
    await act(() => http.putConfig(tenant, 'notifications', { while: 'away' }));
    await waitFor(() => expect(text('state')).toBe('open'));
    expect(screen.queryByText('reconnecting…')).toBeNull();
    await waitFor(() => expect(text('held')).toBe('{"while":"away"}'));
    // The reconnect invalidated the tenant's queries, so the cached read caught up too.
    await waitFor(() => expect(text('query')).toBe('{"while":"away"}'));
  });

  it('ends in the closed state with the server refusal when the token is rejected', async () => {
    const tenant = await freshTenant('hookauth');
    renderProbe({ tenant, token: 'not-a-jwt' });
    await waitFor(() => expect(text('state')).toBe('closed'));
    await waitFor(() => expect(text('error')).toMatch(/401 CASCADE:Auth:Unauthenticated/));
  });
});
