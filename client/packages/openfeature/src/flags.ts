/**
 * How an OpenFeature flag key names a value of Cascade's configuration, and the lookup both
 * providers share (no OpenFeature SDK here).
 *
 * A flag key is `namespace/path`: everything before the first `/` is the namespace, the rest
 * the path in its effective config, dotted (`modules/billing.enabled`) or, when it starts
 * with `/`, a JSON Pointer (`modules//billing/enabled`, for keys holding a `.`). A key
 * without a `/` is a whole namespace (an object flag).
 */
import { valueAt, type AnyCascadeClient, type ChangeFrame, type ConfigDocument } from '@cascade/client';

/** A flag key, split. */
export interface FlagAddress {
  namespace: string;
  /** Dotted or JSON Pointer; `''` for the whole namespace. */
  path: string;
}

/** Splits a flag key into namespace and path (see the module documentation). */
export function parseFlagKey(flagKey: string): FlagAddress {
  const slash = flagKey.indexOf('/');
  if (slash < 0) return { namespace: flagKey, path: '' };
  return { namespace: flagKey.slice(0, slash), path: flagKey.slice(slash + 1) };
}

/** The flag key of a JSON Pointer into a namespace: dotted when no segment holds a `.` or `/`. */
export function flagKeyOf(namespace: string, pointer: string): string {
  if (pointer === '') return namespace;
  const segments = pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (segments.some((s) => s.includes('.') || s.includes('/') || s === '')) return `${namespace}/${pointer}`;
  return `${namespace}/${segments.join('.')}`;
}

/** The flag keys a change frame's patch touched. */
export function changedFlags(frame: ChangeFrame): string[] {
  return [...new Set(frame.patch.map((op) => flagKeyOf(frame.namespace, op.path)))];
}

/** The kinds of value OpenFeature evaluates. */
export type FlagType = 'boolean' | 'string' | 'number' | 'object';

/** What a lookup found. */
export type FlagLookup =
  | { kind: 'found'; value: unknown; document: ConfigDocument; address: FlagAddress }
  | { kind: 'not-ready'; message: string }
  | { kind: 'not-found'; message: string }
  | { kind: 'type-mismatch'; message: string };

/** True when `value` is of the OpenFeature type `type`. */
export function hasFlagType(value: unknown, type: FlagType): boolean {
  if (type === 'object') return typeof value === 'object' && value !== null;
  return typeof value === type;
}

/** Looks a flag up in the client's held documents. */
export function lookupFlag(client: AnyCascadeClient, flagKey: string, type: FlagType): FlagLookup {
  const address = parseFlagKey(flagKey);
  const document = client.document(address.namespace);
  if (!document) {
    if (client.lastSeq === undefined) return { kind: 'not-ready', message: `no configuration held yet for ${flagKey}` };
    return { kind: 'not-found', message: `namespace ${JSON.stringify(address.namespace)} is not held (never written, or not followed)` };
  }
  const value = valueAt(document.config, address.path);
  if (value === undefined) return { kind: 'not-found', message: `${flagKey}: nothing at ${JSON.stringify(address.path)} in namespace ${address.namespace}` };
  if (!hasFlagType(value, type)) return { kind: 'type-mismatch', message: `${flagKey} is ${value === null ? 'null' : typeof value}, not ${type}` };
  return { kind: 'found', value, document, address };
}

/**
 * The flag metadata of a found value: where it was read. `subject` is whose effective config
 * it is (`tenant`, or `user` for a user's token); `scope` is the layer the value itself came
 * from (`platform`, `tenant` or `user`), present when the client asked for origins
 * (`new CascadeClient({ ..., origins: true })`). For an object flag it is the scope of the
 * object's own origin entry; members inside it may come from others.
 */
export function flagMetadata(found: Extract<FlagLookup, { kind: 'found' }>, client: AnyCascadeClient): Record<string, string | number> {
  const metadata: Record<string, string | number> = {
    namespace: found.address.namespace,
    path: found.address.path,
    version: found.document.version,
    subject: found.document.scope,
    tenant: client.tenant,
  };
  if (client.lastSeq !== undefined) metadata.seq = client.lastSeq;
  const scope = client.origin(found.address.namespace, found.address.path);
  if (scope !== undefined) metadata.scope = scope;
  return metadata;
}

/**
 * Resolves once `client` holds documents (at once when it already has a `seq`), or rejects
 * when it closes first: what both providers' `initialize` waits for.
 */
export function caughtUp(client: AnyCascadeClient): Promise<void> {
  if (client.lastSeq !== undefined) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const offs = [
      client.on('synced', () => {
        offs.forEach((off) => off());
        resolve();
      }),
      client.on('state', (state) => {
        if (state !== 'closed') return;
        offs.forEach((off) => off());
        reject(client.lastError ?? new Error('the Cascade client closed before it caught up'));
      }),
    ];
  });
}
