// @vitest-environment jsdom
/**
 * The React bindings against the running Worker: a token function that is new on every
 * render connects once; a query client works without a provider; one change renders a
 * consumer once; useConfig renders only when its value changes; a bootstrap paints at once.
 */
import { CascadeClient, fetchBootstrap, type Bootstrap } from '@cascade/client';
import { CascadeProvider, useConfig, useRealtimeSync, type UseRealtimeSyncOptions } from '@cascade/react';
import { useRealtimeSync as useRealtimeSyncWithQuery } from '@cascade/react/query';
import { QueryClient } from '@tanstack/react-query';
import { act, cleanup, configure, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { adminHttp, adminToken, baseUrl, freshTenant, instrumentedWebSocket, NodeWebSocket, until } from './support/harness.js';

afterEach(cleanup);
configure({ asyncUtilTimeout: 5_000 });

const text = (id: string) => screen.getByTestId(id).textContent;
const settle = (ms = 300) => act(() => new Promise((resolve) => setTimeout(resolve, ms)));

/** Shows the hook's state and counts its renders. */
function Sync(props: { options: UseRealtimeSyncOptions; renders: { count: number }; withQuery?: boolean }) {
  props.renders.count++;
  const sync = (props.withQuery ? useRealtimeSyncWithQuery : useRealtimeSync)(props.options);
  return (
    <div>
      <p data-testid="state">{sync.state}</p>
      <p data-testid="held">{JSON.stringify(sync.documents.notifications?.config ?? null)}</p>
    </div>
  );
}

describe('useRealtimeSync', () => {
  it('connects once with an inline token function, however often the component renders', async () => {
    const tenant = await freshTenant('inline');
    const { Impl, urls } = instrumentedWebSocket();
    const renders = { count: 0 };
    const options = () => ({ baseUrl: baseUrl(), tenant, token: () => adminToken(), WebSocket: Impl });
    const view = render(<Sync options={options()} renders={renders} />);
    // A parent re-rendering with fresh options objects and fresh token functions.
    for (let i = 0; i < 30; i++) view.rerender(<Sync options={options()} renders={renders} />);
    await waitFor(() => expect(text('state')).toBe('open'));
    await settle();
    expect(urls).toHaveLength(1);
    // 31 renders of ours, then connecting, open: nothing renders on its own.
    expect(renders.count).toBeLessThanOrEqual(34);
  });

  it('reconnects when a string token changes (another identity)', async () => {
    const tenant = await freshTenant('tokenkey');
    const { Impl, urls } = instrumentedWebSocket();
    const renders = { count: 0 };
    // Minted once: two tokens minted a second apart differ in `exp`, which is another token.
    const token = adminToken();
    const view = render(<Sync options={{ baseUrl: baseUrl(), tenant, token, WebSocket: Impl }} renders={renders} />);
    await waitFor(() => expect(text('state')).toBe('open'));
    view.rerender(<Sync options={{ baseUrl: baseUrl(), tenant, token: `${token}`, WebSocket: Impl }} renders={renders} />);
    await settle();
    expect(urls).toHaveLength(1);
    view.rerender(<Sync options={{ baseUrl: baseUrl(), tenant, token: `${token}x`, WebSocket: Impl }} renders={renders} />);
    await waitFor(() => expect(urls).toHaveLength(2));
  });

  it('invalidates a query client given as an option, without a QueryClientProvider', async () => {
    const tenant = await freshTenant('noprov');
    const queryClient = new QueryClient();
    const invalidated: unknown[] = [];
    const invalidate = queryClient.invalidateQueries.bind(queryClient);
    queryClient.invalidateQueries = ((filters: { queryKey: unknown[] }) => {
      invalidated.push(filters.queryKey);
      return invalidate(filters);
    }) as typeof queryClient.invalidateQueries;
    const renders = { count: 0 };
    render(<Sync withQuery options={{ baseUrl: baseUrl(), tenant, token: adminToken(), WebSocket: NodeWebSocket, queryClient }} renders={renders} />);
    await waitFor(() => expect(text('state')).toBe('open'));
    await act(() => adminHttp().putConfig(tenant, 'notifications', { on: true }));
    await waitFor(() => expect(invalidated).toContainEqual(['config', tenant, 'notifications']));
    expect(invalidated).toContainEqual(['history', tenant]);
  });

  it('renders a consumer once per change', async () => {
    const tenant = await freshTenant('renders');
    const renders = { count: 0 };
    render(<Sync options={{ baseUrl: baseUrl(), tenant, token: adminToken(), WebSocket: NodeWebSocket, namespaces: ['notifications'] }} renders={renders} />);
    await waitFor(() => expect(text('state')).toBe('open'));
    await settle();
    const before = renders.count;
    await act(() => adminHttp().putConfig(tenant, 'notifications', { email: true }));
    await waitFor(() => expect(text('held')).toBe('{"email":true}'));
    await settle();
    expect(renders.count - before).toBe(1);
  });

  it('paints a bootstrap on the first render, before the socket', async () => {
    const tenant = await freshTenant('bootpaint');
    await adminHttp().putConfig(tenant, 'notifications', { banner: 'hello' });
    const bootstrap = await fetchBootstrap({ baseUrl: baseUrl(), tenant, token: adminToken(), WebSocket: NodeWebSocket, namespaces: ['notifications'] });
    const firstPaint: string[] = [];
    function First(props: { bootstrap: Bootstrap }) {
      const sync = useRealtimeSync({ baseUrl: baseUrl(), tenant, token: adminToken(), WebSocket: NodeWebSocket, namespaces: ['notifications'], bootstrap: props.bootstrap });
      firstPaint.push(`${sync.state}:${JSON.stringify(sync.documents.notifications?.config ?? null)}`);
      return <p data-testid="state">{sync.state}</p>;
    }
    render(<First bootstrap={bootstrap} />);
    expect(firstPaint[0]).toBe('closed:{"banner":"hello"}');
    await waitFor(() => expect(text('state')).toBe('open'));
  });
});

describe('useConfig', () => {
  const clients: CascadeClient[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  it('renders only when the selected value changes', async () => {
    const tenant = await freshTenant('useconfig');
    const http = adminHttp();
    await http.putConfig(tenant, 'notifications', { email: { enabled: true, from: 'a@example.com' } });
    const client = new CascadeClient({ baseUrl: baseUrl(), tenant, token: adminToken(), WebSocket: NodeWebSocket });
    clients.push(client);
    const renders = { path: 0, selector: 0 };
    function ByPath() {
      renders.path++;
      return <p data-testid="enabled">{String(useConfig('notifications', 'email.enabled', false))}</p>;
    }
    function BySelector() {
      renders.selector++;
      const email = useConfig('notifications', (c) => c.email as { from?: string } | undefined, {});
      return <p data-testid="from">{email.from ?? '-'}</p>;
    }
    render(
      <CascadeProvider client={client}>
        <ByPath />
        <BySelector />
      </CascadeProvider>,
    );
    expect(text('enabled')).toBe('false'); // the fallback, before anything is held
    act(() => client.connect());
    await waitFor(() => expect(text('enabled')).toBe('true'));
    expect(text('from')).toBe('a@example.com');
    await settle();
    const before = { ...renders };

    // A change elsewhere in the namespace: the selected values are equal, nothing renders.
    await act(() => http.putConfig(tenant, 'notifications', { email: { enabled: true, from: 'a@example.com' }, sms: true }));
    await until(() => client.document('notifications')?.config.sms === true, 'the sms change');
    await settle();
    expect(renders).toEqual(before);

    // The selected value changes: one render each.
    await act(() => http.putConfig(tenant, 'notifications', { email: { enabled: false, from: 'b@example.com' }, sms: true }));
    await waitFor(() => expect(text('enabled')).toBe('false'));
    await waitFor(() => expect(text('from')).toBe('b@example.com'));
    await settle();
    expect(renders).toEqual({ path: before.path + 1, selector: before.selector + 1 });
  });
});
