/**
 * `useConfig(namespace, selector, fallback)`: one value of a namespace's held effective
 * config, read with `useSyncExternalStore`. The component re-renders only when the selected
 * value changes (compared as JSON), not on every change of the namespace.
 */
import {
  jsonEqual,
  valueAt,
  type AnyCascadeClient,
  type CascadeClient,
  type ConfigDocument,
  type DeclaredValue,
  type DottedPath,
  type JsonObject,
  type NamespaceMap,
  type UndeclaredPath,
  type Widen,
} from '@cascade/client';
import { useCallback, useRef, useSyncExternalStore } from 'react';
import { useOptionalCascadeClient } from './context.js';

/** What to read: a path (dotted or JSON Pointer, as `client.get`) or a function of the config. */
export type ConfigSelector<C, T> = string | ((config: C) => T | undefined);

/** Options of {@link useConfig}. */
export interface UseConfigOptions {
  /** The client to read (default: the `CascadeProvider`'s). */
  client?: AnyCascadeClient | undefined;
}

interface Selected<T> {
  document: ConfigDocument | undefined;
  selector: unknown;
  fallback: T;
  value: T;
}

/**
 * The value `selector` picks from the held effective config of `namespace`, or `fallback`
 * when it is undefined (namespace not held, nothing at the path, no client yet). A selector
 * function gets the config (`{}` when the namespace is not held); use optional chaining.
 */
export function useConfig<T>(
  namespace: string,
  selector: ConfigSelector<JsonObject, T>,
  fallback: T,
  options: UseConfigOptions = {},
): Widen<T> {
  const provided = useOptionalCascadeClient();
  const client = options.client ?? provided;
  const last = useRef<Selected<T> | undefined>(undefined);

  const subscribe = useCallback(
    (notify: () => void) => {
      if (!client) return () => {};
      const offs = [
        client.on('document', (document) => {
          if (document.namespace === namespace) notify();
        }),
        client.on('snapshot', notify),
      ];
      return () => offs.forEach((off) => off());
    },
    [client, namespace],
  );

  const read = (): T => {
    const document = client?.document(namespace);
    const previous = last.current;
    if (previous && previous.document === document && previous.selector === selector && Object.is(previous.fallback, fallback)) {
      return previous.value;
    }
    const config = document?.config ?? {};
    const picked = typeof selector === 'string' ? valueAt(config, selector) : selector(config);
    const next = picked === undefined ? fallback : (picked as T);
    // An equal value keeps its identity: React bails out of the render.
    const value = previous && jsonEqual(previous.value, next) ? previous.value : next;
    last.current = { document, selector, fallback, value };
    return value;
  };

  return useSyncExternalStore(subscribe, read, read) as Widen<T>;
}

/** {@link useConfig} typed by a namespace map, as `CascadeClient<N>.get` is. */
export interface TypedUseConfig<N extends NamespaceMap> {
  <K extends keyof N & string, P extends DottedPath<N[K]>>(namespace: K, path: P, fallback: DeclaredValue<N[K], P>, options?: UseConfigOptions): DeclaredValue<N[K], P>;
  <K extends keyof N & string, P extends string, T>(namespace: K, path: P & UndeclaredPath<N[K], P>, fallback: T, options?: UseConfigOptions): Widen<T>;
  <K extends keyof N & string, T>(namespace: K, selector: (config: N[K]) => T | undefined, fallback: T, options?: UseConfigOptions): T;
}

/**
 * `useConfig` typed by a namespace map: `export const useAppConfig = typedUseConfig<MyNamespaces>()`.
 * A declaration only, like `CascadeClient<N>`.
 */
export function typedUseConfig<N extends NamespaceMap>(): TypedUseConfig<N> {
  return useConfig as unknown as TypedUseConfig<N>;
}
