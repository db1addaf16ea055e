/**
 * Whose configuration the editor works on: a tenant's layer or the platform's. One place for
 * what differs between the two: the API calls, the query key, the labels, and what a save
 * reports (a platform write also says how many tenants it reaches, or why none).
 */
import { configQueryKey } from '@cascade/react';
import type { CascadeHttp, WriteOptions } from '@cascade/client';
import type { ConfigDocument, JsonObject, WriteAck } from '@cascade/client';

/** The layer an editor reads and writes. */
export type EditorScope = { kind: 'tenant'; tenant: string } | { kind: 'platform' };

/** Namespaces offered in the editors' pickers (any other may be typed). */
export const KNOWN_NAMESPACES = ['notifications', 'auth', 'rbac', 'modules', 'business', 'mfa'];

/** The query key of one document of `scope`. */
export function scopeQueryKey(scope: EditorScope, namespace: string): readonly string[] {
  return scope.kind === 'tenant' ? configQueryKey(scope.tenant, namespace) : (['platform-config', namespace] as const);
}

/** Who owns the document, as the editor names it: the tenant id, or "platform". */
export function scopeLabel(scope: EditorScope): string {
  return scope.kind === 'tenant' ? scope.tenant : 'platform';
}

/** The accessible name of the editor's card; distinct per kind so both can be on one page. */
export function scopeTitle(scope: EditorScope): string {
  return scope.kind === 'tenant' ? 'Config editor' : 'Platform config editor';
}

/** Reads and writes one document of a scope. */
export interface ScopeDocuments {
  get(namespace: string): Promise<ConfigDocument>;
  put(namespace: string, config: JsonObject, options: WriteOptions): Promise<WriteAck>;
}

/** The API calls of `scope` on `http`. */
export function scopeDocuments(http: CascadeHttp, scope: EditorScope): ScopeDocuments {
  if (scope.kind === 'tenant') {
    return {
      get: (namespace) => http.getConfig(scope.tenant, namespace),
      put: (namespace, config, options) => http.putConfig(scope.tenant, namespace, config, options),
    };
  }
  return {
    get: (namespace) => http.getPlatformConfig(namespace),
    put: (namespace, config, options) => http.putPlatformConfig(namespace, config, options),
  };
}

/** What the editor shows after a save. */
export interface SaveOutcome {
  /** "Saved as version N." or "No change (still version N)." */
  saved: string;
  /** Platform writes: "Reaches N tenants." (when the server reported it). */
  reach?: string;
  /** Platform writes that reach no tenant: the server's reason, shown prominently. */
  warning?: string;
}

/** "1 tenant", "3 tenants". */
export function tenantCount(n: number): string {
  return `${n} ${n === 1 ? 'tenant' : 'tenants'}`;
}

/** What to show for the answer `ack` to a save in `scope`. */
export function describeSave(scope: EditorScope, ack: WriteAck): SaveOutcome {
  const saved = ack.changed ? `Saved as version ${ack.version}.` : `No change (still version ${ack.version}).`;
  if (scope.kind === 'tenant') return { saved };
  const outcome: SaveOutcome = { saved };
  if (typeof ack.targetedTenants === 'number') outcome.reach = `Reaches ${tenantCount(ack.targetedTenants)}.`;
  if (ack.warning) outcome.warning = ack.warning;
  else if (ack.targetedTenants === 0) outcome.warning = 'This change reaches no tenant.';
  return outcome;
}
