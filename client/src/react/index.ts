/** React bindings of the Cascade client. */
export { useRealtimeSync } from './useRealtimeSync.js';
export type { RealtimeSync, UseRealtimeSyncOptions } from './useRealtimeSync.js';
export { configQueryKey, historyQueryKey, tenantConfigQueryKey, STATUS_QUERY_KEY } from './queryKeys.js';
