/** `CascadeProvider` and `useCascadeClient`: one client for a tree of components. */
import type { AnyCascadeClient, CascadeClient, NamespaceMap } from '@cascade/client';
import { createContext, useContext, type ReactNode } from 'react';

const CascadeContext = createContext<AnyCascadeClient | undefined>(undefined);

/**
 * Makes `client` the one `useConfig` reads below. Create it once (outside the component, or
 * take `useRealtimeSync(...).client`); the provider neither connects nor closes it.
 */
export function CascadeProvider<N extends NamespaceMap>(props: { client: CascadeClient<N> | undefined; children?: ReactNode }) {
  return <CascadeContext.Provider value={props.client as AnyCascadeClient | undefined}>{props.children}</CascadeContext.Provider>;
}

/** The provider's client; throws when there is none (the component is outside a `CascadeProvider`). */
export function useCascadeClient<N extends NamespaceMap = NamespaceMap>(): CascadeClient<N> {
  const client = useContext(CascadeContext);
  if (!client) throw new Error('useCascadeClient: no client; wrap the tree in <CascadeProvider client={client}> or pass `client`');
  return client as unknown as CascadeClient<N>;
}

/** The provider's client, or undefined. */
export function useOptionalCascadeClient(): AnyCascadeClient | undefined {
  return useContext(CascadeContext);
}
