/**
 * `@cascade/react/query`: everything of `@cascade/react`, with a `useRealtimeSync` that
 * invalidates the `QueryClientProvider`'s TanStack Query client when no `queryClient` is
 * given (and none at all, without an error, when there is neither).
 */
import { QueryClientContext } from '@tanstack/react-query';
import { useContext } from 'react';
import { useRealtimeSync as useRealtimeSyncCore, type RealtimeSync, type UseRealtimeSyncOptions } from './useRealtimeSync.js';

export * from './index.js';

/** `useRealtimeSync` of `@cascade/react`, defaulting `queryClient` to the provider's. */
export function useRealtimeSync(options: UseRealtimeSyncOptions): RealtimeSync {
  const provided = useContext(QueryClientContext);
  return useRealtimeSyncCore({ ...options, queryClient: options.queryClient ?? provided });
}
