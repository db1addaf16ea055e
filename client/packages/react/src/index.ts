/**
 * React bindings of the Cascade client, without TanStack Query (for its invalidation, use
 * `@cascade/react/query` or pass `queryClient`).
 */
export { useRealtimeSync } from './useRealtimeSync.js';
export type { RealtimeSync, UseRealtimeSyncOptions } from './useRealtimeSync.js';
export { useConfig, typedUseConfig } from './useConfig.js';
export type { ConfigSelector, TypedUseConfig, UseConfigOptions } from './useConfig.js';
export { CascadeProvider, useCascadeClient, useOptionalCascadeClient } from './context.js';
export { RealtimeStore } from './store.js';
export type { QueryInvalidator, RealtimeSnapshot, StoreCallbacks } from './store.js';
export { configQueryKey, historyQueryKey, tenantConfigQueryKey, STATUS_QUERY_KEY } from './queryKeys.js';
