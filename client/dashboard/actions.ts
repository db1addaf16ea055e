/**
 * The dashboard's operator actions ("run health check / sync"). Each is one entry here, so a
 * new server endpoint (a manual resync, say) becomes a new button without touching the UI.
 */
import type { QueryClient } from '@tanstack/react-query';
import { STATUS_QUERY_KEY } from '@cascade/react';
import type { SyncAllResult } from '@cascade/client';
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
      const result: SyncAllResult = await http.syncAll();
      await queryClient.invalidateQueries();
      return describeSyncAll(result);
    },
  },
  {
    id: 'run-health-check',
    label: 'Run health check',
    description: 'Runs the cron health check now (local runtime started with --test-scheduled only).',
    available: ({ session }) => session.role === 'platform-admin' && isLocal(),
    async run({ baseUrl, http, queryClient }) {
      const before = (await http.status())?.takenAt ?? 0;
      const res = await fetch(`${baseUrl}/__scheduled?cron=${encodeURIComponent('*/5 * * * *')}`);
      if (!res.ok) throw new Error(`health check trigger answered ${res.status}`);
      await waitForSnapshotAfter(http, before);
      await queryClient.invalidateQueries({ queryKey: STATUS_QUERY_KEY });
      await queryClient.invalidateQueries({ queryKey: ['tenants'] });
      return 'Health check ran; status updated.';
    },
  },
];

/** How long the dashboard waits for a triggered health check's snapshot. */
const HEALTH_CHECK_WAIT_MS = 60_000;

/**
 * Waits until the latest health snapshot is newer than `before`: the trigger only starts the
 * check, which the platform hub walks over its alarm runs a page of tenants at a time.
 */
export async function waitForSnapshotAfter(
  http: { status(): Promise<{ takenAt: number } | null> },
  before: number,
  waitMs = HEALTH_CHECK_WAIT_MS,
): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const latest = await http.status();
    if (latest && latest.takenAt > before) return;
    if (Date.now() > deadline) throw new Error(`the health check did not finish within ${waitMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Describes the sync-all answer: a totals line, and one line per tenant. */
export function describeSyncAll(result: SyncAllResult): ActionResult {
  const details = result.tenants.map((r) => ({
    label: r.tenant,
    text: r.error
      ? (r.error.detail ?? r.error.code ?? 'failed')
      : `applied ${r.applied ?? 0}${r.platformSeq !== undefined ? ` (platform seq ${r.platformSeq})` : ''}`,
    failed: Boolean(r.error),
  }));
  const t = result.totals;
  const summary = `tenants ${t.tenants}, synced ${t.synced}, failed ${t.failed}, applied ${t.applied}`;
  return { text: `Synced all tenants: ${summary}.`, details };
}
