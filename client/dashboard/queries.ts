/** Query keys and queries for a tenant's open items, shared by the views that list and count them. */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback } from 'react';
import { STATUS_QUERY_KEY } from '@cascade/react';
import { useApi } from './api.js';

/** `['pending', tenant]`. */
export const pendingKey = (tenant: string) => ['pending', tenant] as const;
/** `['conflicts', tenant]`. */
export const conflictsKey = (tenant: string) => ['conflicts', tenant] as const;

/** How often open items are polled when no live frame told us they moved. */
const POLL_MS = 10_000;

/** The tenant's pending changes. */
export function usePending(tenant: string) {
  const { http } = useApi();
  return useQuery({ queryKey: pendingKey(tenant), queryFn: () => http.listPending(tenant), refetchInterval: POLL_MS });
}

/** The tenant's open conflicts. */
export function useConflicts(tenant: string) {
  const { http } = useApi();
  return useQuery({ queryKey: conflictsKey(tenant), queryFn: () => http.listConflicts(tenant), refetchInterval: POLL_MS });
}

/** Refetches everything a tenant operation can move: open items, history, configs, status. */
export function useRefreshTenant(): (tenant: string) => Promise<void> {
  const queryClient = useQueryClient();
  return useCallback(
    async (tenant: string) => {
      await Promise.all(
        [pendingKey(tenant), conflictsKey(tenant), ['history', tenant], ['config', tenant], ['modules', tenant], STATUS_QUERY_KEY].map(
          (queryKey) => queryClient.invalidateQueries({ queryKey }),
        ),
      );
    },
    [queryClient],
  );
}

/** How many recent history rows the module view and the charts read. */
export const RECENT_LIMIT = 500;

/** The tenant's latest history rows (one page of up to 500), refetched whenever the hook invalidates history. */
export function useRecentHistory(tenant: string) {
  const { http } = useApi();
  return useQuery({
    queryKey: ['history', tenant, 'recent'],
    queryFn: () => http.history(tenant, { limit: RECENT_LIMIT }),
  });
}
