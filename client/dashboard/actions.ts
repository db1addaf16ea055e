/**
 * The dashboard's operator actions ("run health check / sync"). Each is one entry here, so a
 * new server endpoint (a manual resync, say) becomes a new button without touching the UI.
 */
import type { QueryClient } from '@tanstack/react-query';
import { STATUS_QUERY_KEY } from '../src/react/queryKeys.js';
import type { ApiContextValue } from './api.js';

/** What an action can use. */
export interface ActionContext extends ApiContextValue {
  queryClient: QueryClient;
}

/** One button. */
export interface DashboardAction {
  id: string;
  label: string;
  /** Tooltip: what it does. */
  description: string;
  /** Whether to show it for this session and place. */
  available(context: ActionContext): boolean;
  /** Does it; resolves with a one-line result for the operator. */
  run(context: ActionContext): Promise<string>;
}

const isLocal = () => ['127.0.0.1', 'localhost', '[::1]'].includes(window.location.hostname);

/** Every action, in button order. */
export const ACTIONS: DashboardAction[] = [
  {
    id: 'refresh-status',
    label: 'Refresh status',
    description: 'Reads the latest health snapshot and tenant list again.',
    available: ({ session }) => session.role === 'platform-admin',
    async run({ queryClient }) {
      await queryClient.invalidateQueries({ queryKey: STATUS_QUERY_KEY });
      await queryClient.invalidateQueries({ queryKey: ['tenants'] });
      return 'Status refreshed.';
    },
  },
  {
    id: 'run-health-check',
    label: 'Run health check',
    description: 'Runs the cron health check now (local runtime started with --test-scheduled only).',
    available: ({ session }) => session.role === 'platform-admin' && isLocal(),
    async run({ baseUrl, queryClient }) {
      const res = await fetch(`${baseUrl}/__scheduled?cron=${encodeURIComponent('*/5 * * * *')}`);
      if (!res.ok) throw new Error(`health check trigger answered ${res.status}`);
      await queryClient.invalidateQueries({ queryKey: STATUS_QUERY_KEY });
      await queryClient.invalidateQueries({ queryKey: ['tenants'] });
      return 'Health check ran; status updated.';
    },
  },
];
