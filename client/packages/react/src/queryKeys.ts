/** TanStack Query keys for Cascade data, shared by the hook (which invalidates) and apps (which query). */

/** `['config', tenant, namespace]`: one tenant namespace document. */
export function configQueryKey(tenant: string, namespace: string): readonly ['config', string, string] {
  return ['config', tenant, namespace] as const;
}

/** `['config', tenant]`: every namespace document of a tenant (prefix). */
export function tenantConfigQueryKey(tenant: string): readonly ['config', string] {
  return ['config', tenant] as const;
}

/** `['history', tenant]`: a tenant's sync history (prefix of paged keys). */
export function historyQueryKey(tenant: string): readonly ['history', string] {
  return ['history', tenant] as const;
}

/** `['status']`: the latest health snapshot. */
export const STATUS_QUERY_KEY = ['status'] as const;
