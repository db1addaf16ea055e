// Generated from the Rust protocol types (protocol/src) by ts-rs: do not edit.
// Regenerate: UPDATE_TS=1 cargo test -p cascade-protocol typescript

/** A JSON object. */
export type JsonObject = { [key: string]: unknown };

/** One RFC 6902 operation. */
export type JsonPatchOperation =
  | { op: "add"; path: string; value: unknown }
  | { op: "remove"; path: string }
  | { op: "replace"; path: string; value: unknown }
  | { op: "move"; from: string; path: string }
  | { op: "copy"; from: string; path: string }
  | { op: "test"; path: string; value: unknown };

/** The error codes of `error` frames (docs/PROTOCOL.md). */
export type FrameErrorCode =
  | "CASCADE:Frame:Malformed"
  | "CASCADE:Frame:TooLarge"
  | "CASCADE:Frame:Unsupported"
  | "CASCADE:Frame:Forbidden"
  | "CASCADE:Frame:RateLimited";

/**
 * Where the values of an effective config came from: JSON Pointer to the scope of that
 * subtree; the longest pointer that is a value's own or an ancestor's names its origin.
 */
export type Origins = { [pointer: string]: Scope };

/**
 * A caller's role, from the token's `role` claim.
 */

export type Role = "platform-admin" | "tenant-admin" | "user";

/**
 * One of the three configuration scopes, ordered top-down: `platform` > `tenant` > `user`.
 */

export type Scope = "platform" | "tenant" | "user";

/**
 * A tenant's sync state: in its hub's `sync-status` frames, in health snapshots and in the
 * platform admins' counts. Declared in alphabetical order so that maps keyed by it list
 * their keys as the JSON text always did.
 */

export type SyncState = "drifted" | "failed" | "partial" | "pending" | "success";

/**
 * One configuration change as a client receives it: an RFC 6902 patch that turns the
 * document at the previous version into the one at `version`.
 */

export type ConfigChange = { 
/**
 * The hub's sequence number this change was applied at.
 */
seq: number, 
/**
 * Tenant the change belongs to.
 */
tenant: string, 
/**
 * Scope that was written.
 */
scope: Scope, 
/**
 * Namespace (config type) that changed.
 */
namespace: string, 
/**
 * Version of the namespace document after the change (equals `seq` of its last write).
 */
version: number, 
/**
 * RFC 6902 JSON Patch from the previous document to the new one.
 */
patch: Array<JsonPatchOperation>, 
/**
 * Who made the change, as given by the writer.
 */
triggeredBy?: string, 
/**
 * Only on sockets that asked for origins (`origins=1`): the origin entries of the
 * subtrees the patch changed (docs/PROTOCOL.md, "Origins"). Every entry without an
 * ancestor entry here is a root: the client drops its own entries at and below it,
 * then takes these.
 */
origins?: Origins, };

/**
 * How a hub brings a connecting client up to date, announced in `hello`.
 */

export type Resume = "none" | "replay" | "snapshot";

/**
 * One namespace in a [`ServerFrame::Snapshot`].
 */

export type SnapshotDocument = { 
/**
 * The namespace's version (the `seq` of its last write; 0 when never written).
 */
version: number, 
/**
 * The subject's effective config of the namespace.
 */
config: JsonObject, 
/**
 * Only on sockets that asked for origins (`origins=1`): where each value of `config`
 * came from.
 */
origins?: Origins, };

/**
 * What a `sync-status` frame reports.
 */

export type SyncStatusReport = { "scope": "tenant" } & TenantSyncStatus | { "scope": "platform" } & PlatformSyncStatus;

/**
 * A tenant's sync state as its hub sees it.
 */

export type TenantSyncStatus = { 
/**
 * The tenant.
 */
tenant: string, 
/**
 * `success`, `partial` (pending changes or open conflicts) or `failed` (the hub's last
 * operation failed), classified by `SyncState::classify` from what the hub knows.
 */
status: SyncState, 
/**
 * The hub's sequence number.
 */
seq: number, 
/**
 * The platform sequence the tenant has applied.
 */
platformSeq: number, 
/**
 * Platform changes waiting for a tenant admin's decision.
 */
pendingChanges: number, 
/**
 * Conflicts waiting for a manual resolution.
 */
openConflicts: number, };

/**
 * The platform-wide view of the last health check.
 */

export type PlatformSyncStatus = { 
/**
 * When the check ran, in milliseconds since the Unix epoch.
 */
checkedAt: number, 
/**
 * The platform's sequence number at the check.
 */
platformSeq: number, 
/**
 * Share of tenants in `success`, 0 to 100.
 */
healthPercent: number, 
/**
 * Tenants per status (every state, counted or 0).
 */
tenantsByStatus: { [key in SyncState]?: number }, 
/**
 * Tenants whose status changed since the previous check, with their new status.
 */
changed: { [key in string]: SyncState }, };

/**
 * A frame a client may send. Anything else is answered with an `error` frame.
 */

export type ClientFrame = { "type": "ping" } | { "type": "status" };

/**
 * A frame sent by a hub to a connected client.
 */

export type ServerFrame = { "type": "hello", 
/**
 * Tenant the socket is attached to (`platform` on the platform hub).
 */
tenant: string, 
/**
 * The hub's current sequence number.
 */
seq: number, 
/**
 * How the frames between `hello` and `synced` bring the client to `seq`.
 */
resume: Resume, } | { "type": "snapshot", 
/**
 * Tenant the snapshot belongs to.
 */
tenant: string, 
/**
 * The hub's sequence number the snapshot was taken at.
 */
seq: number, 
/**
 * Namespace name to its effective document and version.
 */
configs: { [key in string]: SnapshotDocument }, } | { "type": "synced", 
/**
 * The sequence number the client is now at.
 */
seq: number, } | { "type": "sync-status" } & SyncStatusReport | { "type": "config-updated" } & ConfigChange | { "type": "module-changed" } & ConfigChange | { "type": "auth-changed" } & ConfigChange | { "type": "rbac-changed" } & ConfigChange | { "type": "pong" } | { "type": "error", 
/**
 * Stable error code such as `CASCADE:Frame:Malformed`.
 */
code: FrameErrorCode | (string & {}), 
/**
 * Human-readable explanation.
 */
message: string, };

/**
 * A namespace document as stored by a hub and returned by `GET .../config/{namespace}`.
 */

export type StoredDocument = { 
/**
 * Scope of the layer.
 */
scope: Scope, 
/**
 * Tenant id for tenant and user layers; absent for the platform layer.
 */
tenant?: string, 
/**
 * Namespace (config type).
 */
namespace: string, 
/**
 * Version of the document: the hub `seq` of its last write, 0 when never written.
 */
version: number, 
/**
 * The layer's own values (an effective read: the subject's effective config).
 */
config: JsonObject, 
/**
 * Tenant and user documents: the platform seq the tenant has applied (the hub always
 * says; the API answers it only beside `platform_behind`).
 */
platformSeq?: number, 
/**
 * Tenant and user documents of a tenant that lags the platform: how many platform
 * updates it has not applied yet. The read starts its catch-up; a later read shows it.
 */
platformBehind?: number, 
/**
 * Effective reads with `?origins=true` only: JSON Pointer (into `config`, array elements
 * by position) to the scope that subtree came from; the longest pointer that is a
 * value's own or an ancestor's names its origin. Always has the root `""`.
 */
origins?: Origins, };

/**
 * One history entry: one commit (one `seq`) of a tenant's hub.
 */

export type HistoryEntry = { 
/**
 * Sequence number in the hub.
 */
seq: number, 
/**
 * Namespace (the seed's event `type`).
 */
type: string, 
/**
 * The seed's `action`, or the operation (`pending.accept`, `rollback`, ...).
 */
action: string, 
/**
 * Scope written.
 */
scope: Scope, 
/**
 * Target of the write (tenant or user id).
 */
targetId: string | null, 
/**
 * What happened, in one word, most notable first: `refused`, `conflict`, `pending`,
 * `overridden`, `shadowed`, `applied`, `skipped`, `unchanged`.
 */
outcome: string, 
/**
 * Every engine outcome (at most 1,000, then `{"kind": "omitted", "count": N}`).
 */
outcomes: Array<JsonObject>, 
/**
 * Who made the change.
 */
triggeredBy: string, 
/**
 * Time spent in the hub, in milliseconds.
 */
durationMs: number, 
/**
 * Error text for failures.
 */
error: string | null, 
/**
 * Unix milliseconds.
 */
createdAt: number, 
/**
 * Propagation latency, for a platform change the fan-out delivered to this tenant: the
 * tenant hub's commit time minus the platform hub's, in milliseconds (never negative).
 * `null` for every other entry: tenant and user writes and admin operations (they start
 * at this tenant's hub, so nothing propagated), platform updates applied by a catch-up
 * (sync, healing, a new tenant), and entries recorded before the field existed.
 */
propagationMs: number | null, 
/**
 * Every namespace the entry touched (a batch touches several; `type` is the first of
 * its events'); `?namespace=` finds the entry under each.
 */
namespaces: Array<string>, 
/**
 * The writing request's id (`Cascade-Request-Id`); `null` for platform updates and
 * entries recorded before the field existed.
 */
requestId: string | null, 
/**
 * The writer's role; `null` as `requestId`.
 */
role: Role | null, 
/**
 * The layers the entry changed: `{namespace, layer: {scope, id?}, patch, replaced}` with
 * `patch` the RFC 6902 patch from the layer before to after and `replaced` the patch
 * back (what it replaced); at most 100, then `{"kind": "omitted", "count": N}`.
 */
changes: Array<JsonObject>, };

/**
 * One page of history, newest first.
 */

export type HistoryPage = { 
/**
 * The entries, newest first.
 */
entries: Array<HistoryEntry>, 
/**
 * `before` for the next page; `null` on the last one.
 */
nextBefore: number | null, };

/**
 * An RFC 7807 problem document with Cascade's stable error `code`.
 */

export type Problem = { 
/**
 * URI reference naming the problem type (`about:blank` when the code says it all).
 */
type: string, 
/**
 * Short summary of the problem type.
 */
title: string, 
/**
 * HTTP status code.
 */
status: number, 
/**
 * Precise explanation of this occurrence.
 */
detail: string, 
/**
 * Stable machine-readable code, e.g. `CASCADE:Config:NotAnObject`.
 */
code: string, 
/**
 * Seconds to wait before retrying (rate limits); also sent as `Retry-After`.
 */
retryAfter?: number, };
