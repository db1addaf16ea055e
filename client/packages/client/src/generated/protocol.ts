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

/** The three configuration scopes. */
export type Scope = "platform" | "tenant" | "user";

/** Sync state of a tenant: `success`, `partial`, `drifted`, `failed` or `pending`. */
export type SyncState = "success" | "partial" | "drifted" | "failed" | "pending";

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
 * Scope that was written: `platform`, `tenant` or `user`.
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
 * `success`, `partial` (pending changes or open conflicts), `pending` (platform
 * changes not applied yet) or `failed` (the hub's last operation failed).
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
 * Tenants per status (`success`, `partial`, `pending`, `failed`).
 */
tenantsByStatus: Partial<Record<SyncState, number>>, 
/**
 * Tenants whose status changed since the previous check, with their new status.
 */
changed: Record<string, SyncState>, };

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
 * Scope of the layer: `platform`, `tenant` or `user`.
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
 * The layer's own values.
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
 * Effective reads with `?origins=true`: where each value of `config` came from.
 */
origins?: Origins, };

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
