/**
 * The dashboard's operator actions ("run health check / sync"). Each is one entry here, so a
 * new server endpoint (a manual resync, say) becomes a new button without touching the UI.
 */
import type { QueryClient } from '@tanstack/react-query';
import { CascadeApiError } from '../src/errors.js';
import { STATUS_QUERY_KEY } from '../src/react/queryKeys.js';
import type { SyncAllResult } from '../src/types.js';
import type { ApiContextValue } from './api.js';

/** What an action can use. */
export interface ActionContext extends ApiContextValue {
  queryClient: QueryClient;
}

/** What an action reports: a line, and optionally one line per item (tenant results). */
export interface ActionResult {
  text: string;
  details?: Array<{ label: string; text: string; failed: boolean }>;
}

/** One button. */
export interface DashboardAction {
  id: string;
  label: string;
  /** Tooltip: what it does. */
  description: string;
  /** Whether to show it for this session and place. */
  available(context: ActionContext): boolean;
  /** Does it; resolves with a result for the operator. */
  run(context: ActionContext): Promise<string | ActionResult>;
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
    id: 'sync-all',
    label: 'Sync all tenants',
    description: 'POST /v1/sync: applies every platform update each tenant lacks.',
    available: ({ session }) => session.role === 'platform-admin',
    async run({ http, queryClient }) {
      let result: SyncAllResult;
      try {
        result = await http.syncAll();
      } catch (e) {
        if (e instanceof CascadeApiError && e.status === 404) {
          throw new Error('Sync all is not available on this server yet (POST /v1/sync answered 404); sync tenants one by one.');
        }
        throw e;
      }
      await queryClient.invalidateQueries();
      return describeSyncAll(result);
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

/** Reads the sync-all answer defensively: per-tenant lines and a totals line. */
export function describeSyncAll(result: SyncAllResult): ActionResult {
  const rows = Array.isArray(result.results) ? result.results : [];
  const details = rows.map((r) => ({
    label: r.tenant,
    text: r.error ? String(r.error) : `applied ${r.applied ?? 0}${r.platformSeq !== undefined ? ` (platform seq ${r.platformSeq})` : ''}`,
    failed: Boolean(r.error),
  }));
  const totals = result.totals && typeof result.totals === 'object' ? Object.entries(result.totals) : [];
  const summary = totals.length > 0 ? totals.map(([k, v]) => `${k} ${v}`).join(', ') : `${rows.length} tenants`;
  return { text: `Synced all tenants: ${summary}.`, details };
}
