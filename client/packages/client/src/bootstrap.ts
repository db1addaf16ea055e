/**
 * Starting state for a client before its socket delivers anything: a bootstrap document
 * (taken on the server, embedded in the page) or a persisted cache. Either holds documents
 * at a hub `seq`; the client shows them at once and connects with `since=seq`, so the hub
 * replays exactly the changes after them (docs/PROTOCOL.md, Resume) instead of a snapshot.
 */
import type { ConfigDocument } from './types.js';

/** The subject's effective documents at a hub `seq`, as JSON (safe to embed in HTML). */
export interface Bootstrap {
  /** The tenant whose hub `seq` this is. */
  tenant: string;
  /** Every change up to this hub `seq` is in `documents`. */
  seq: number;
  /** The effective documents, one per namespace (followed namespaces never written included, at version 0). */
  documents: ConfigDocument[];
  /** The namespaces it covers: the subscription it was taken with, or null for all. */
  namespaces: string[] | null;
  /** `sub` of the token it was taken with, when known: a client with another subject ignores it. */
  subject?: string;
}

/**
 * Synchronous key-value storage for the persisted cache: `localStorage` and `sessionStorage`
 * fit as they are; {@link memoryStorage} is one for tests and Node.
 */
export interface CacheStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Where and under which key a client persists its documents. */
export interface CacheOptions {
  storage: CacheStorage;
  /** Default: `cascade:{baseUrl}:{tenant}:{namespaces or *}`. */
  key?: string;
}

/** A {@link CacheStorage} in memory. */
export function memoryStorage(): CacheStorage & { readonly size: number } {
  const items = new Map<string, string>();
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
    get size() {
      return items.size;
    },
  };
}

/** `localStorage` when this runtime has one (browsers), else undefined. */
export function browserStorage(): CacheStorage | undefined {
  try {
    return (globalThis as { localStorage?: CacheStorage }).localStorage;
  } catch {
    return undefined; // storage disabled by the browser's settings
  }
}

/** The default cache key of a client. */
export function defaultCacheKey(baseUrl: string, tenant: string, namespaces: readonly string[] | undefined): string {
  return `cascade:${baseUrl.replace(/\/+$/, '')}:${tenant}:${namespaces ? [...namespaces].sort().join(',') : '*'}`;
}

/** Parses a stored bootstrap; undefined for anything that is not one. */
export function parseBootstrap(text: string | null): Bootstrap | undefined {
  if (text === null) return undefined;
  try {
    const value = JSON.parse(text) as Partial<Bootstrap>;
    if (typeof value !== 'object' || value === null) return undefined;
    if (typeof value.tenant !== 'string' || !Number.isSafeInteger(value.seq) || !Array.isArray(value.documents)) return undefined;
    if (value.namespaces !== null && !Array.isArray(value.namespaces)) return undefined;
    return value as Bootstrap;
  } catch {
    return undefined;
  }
}

/** True when `bootstrap` holds every namespace a client following `subscription` needs. */
export function covers(bootstrap: Bootstrap, subscription: readonly string[] | undefined): boolean {
  if (bootstrap.namespaces === null) return true;
  if (subscription === undefined) return false;
  return subscription.every((namespace) => bootstrap.namespaces!.includes(namespace));
}
