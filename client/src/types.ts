/**
 * Wire types of Cascade's HTTP API and WebSocket protocol, as described by
 * `docs/openapi.json` and `docs/PROTOCOL.md`.
 */
import type { Operation } from 'fast-json-patch';

/** A JSON object document (one namespace's layer). */
export type JsonObject = { [key: string]: unknown };

/** The three configuration scopes. */
export type Scope = 'platform' | 'tenant' | 'user';

/** Event names of change frames, one per namespace family (the seed's names). */
export type ChangeEventType = 'config-updated' | 'module-changed' | 'auth-changed' | 'rbac-changed';

/** An RFC 6902 JSON Patch operation. */
export type PatchOperation = Operation;

/**
 * How a hub brings a connecting client up to date, announced in `hello`: `replay` (the change
 * frames after the client's `since` follow), `snapshot` (one `snapshot` follows), or `none`
 * (the client gave no `since`).
 */
export type ResumeMode = 'none' | 'replay' | 'snapshot';

/** First frame on every connection: where the tenant's hub is now, and how the client is brought there. */
export interface HelloFrame {
  type: 'hello';
  tenant: string;
  /** The hub's current sequence number. */
  seq: number;
  /** What follows before `synced` (absent on the wire reads as `none`). */
  resume: ResumeMode;
}

/** One namespace of a {@link SnapshotFrame}. */
export interface SnapshotDocument {
  /** The namespace's version (the `seq` of its last write; 0 when never written). */
  version: number;
  /** The subject's effective config of the namespace. */
  config: JsonObject;
}

/** The subject's whole effective config of every followed namespace that exists, at `seq`. */
export interface SnapshotFrame {
  type: 'snapshot';
  tenant: string;
  seq: number;
  configs: Record<string, SnapshotDocument>;
}

/** The catch-up after `hello` is over: the client is at `seq`; live frames follow. */
export interface SyncedFrame {
  type: 'synced';
  seq: number;
}

/** A tenant's sync state, sent to its admins after each change and on a `status` request. */
export interface TenantSyncStatusFrame {
  type: 'sync-status';
  scope: 'tenant';
  tenant: string;
  /** `success`, `partial` (pending changes or open conflicts), `pending` or `failed`. */
  status: SyncState;
  /** The hub's sequence number. */
  seq: number;
  /** The platform sequence the tenant has applied. */
  platformSeq: number;
  /** Platform changes waiting for a tenant admin's decision. */
  pendingChanges: number;
  /** Conflicts waiting for a manual resolution. */
  openConflicts: number;
}

/** The platform-wide view of the last health check, sent to platform admins. */
export interface PlatformSyncStatusFrame {
  type: 'sync-status';
  scope: 'platform';
  /** When the check ran (ms since the epoch). */
  checkedAt: number;
  platformSeq: number;
  /** Share of tenants in `success`, 0 to 100. */
  healthPercent: number;
  /** Tenants per status. */
  tenantsByStatus: Partial<Record<SyncState, number>>;
  /** Tenants whose status changed since the previous check, with their new status. */
  changed: Record<string, SyncState>;
}

/** A `sync-status` frame (admins only). */
export type SyncStatusFrame = TenantSyncStatusFrame | PlatformSyncStatusFrame;

/** One applied change: an RFC 6902 patch from the document at the previous version to `version`. */
export interface ChangeFrame {
  type: ChangeEventType;
  /**
   * The hub's sequence number this change was applied at: increasing, but not contiguous for
   * one recipient (no frame for changes that do not concern it), so a jump is not a gap.
   */
  seq: number;
  tenant: string;
  scope: Scope;
  namespace: string;
  /** Version of the namespace document after the change. */
  version: number;
  patch: PatchOperation[];
  /** `sub` of the caller who made the change. */
  triggeredBy?: string;
}

/** The answer to a heartbeat. */
export interface PongFrame {
  type: 'pong';
}

/** The error codes of `error` frames (docs/PROTOCOL.md). */
export type FrameErrorCode =
  | 'CASCADE:Frame:Malformed'
  | 'CASCADE:Frame:TooLarge'
  | 'CASCADE:Frame:Unsupported'
  | 'CASCADE:Frame:Forbidden'
  | 'CASCADE:Frame:RateLimited';

/** Something the client sent could not be handled. */
export interface ErrorFrame {
  type: 'error';
  /** One of {@link FrameErrorCode}, or a newer server's code. */
  code: FrameErrorCode | (string & {});
  message: string;
}

/** A frame of a type this client does not know (a newer server); passed through untouched. */
export interface UnknownFrame {
  type: 'unknown';
  raw: JsonObject;
}

/** Every frame the server sends. */
export type ServerFrame =
  | HelloFrame
  | SnapshotFrame
  | SyncedFrame
  | SyncStatusFrame
  | ChangeFrame
  | PongFrame
  | ErrorFrame
  | UnknownFrame;

/** Every frame a client may send: a heartbeat, or (admins) a request for a `sync-status`. */
export type ClientFrame = { type: 'ping' } | { type: 'status' };

/** A namespace document as the API returns it (`GET .../config/{namespace}`). */
export interface ConfigDocument {
  scope: Scope;
  /** Tenant id for tenant and user layers; absent for the platform layer. */
  tenant?: string;
  namespace: string;
  /** Hub `seq` of the document's last write; 0 when never written. */
  version: number;
  config: JsonObject;
}

/** Answer to a config write. */
export interface WriteAck {
  seq: number;
  version: number;
  changed: boolean;
  /** True when an `Idempotency-Key` retry returned the first answer. */
  replayed?: boolean;
}

/** A registered tenant. */
export interface Tenant {
  id: string;
  name: string;
  attributes: JsonObject;
  optOuts: string[];
  createdAt: number;
  updatedAt: number;
}

/** Body of `PUT /v1/tenants/{tenant}`. */
export interface TenantInput {
  name?: string;
  attributes?: JsonObject;
  optOuts?: string[];
}

/** One event of a tenant's sync history. */
export interface HistoryEntry {
  seq: number;
  /** The namespace (config type). */
  type: string;
  action: string;
  scope: string;
  targetId: string | null;
  /** One-word summary: `applied`, `refused`, `conflict`, `pending`, ... */
  outcome: string;
  triggeredBy: string;
  durationMs: number;
  error: string | null;
  createdAt: number;
}

/** A page of history, newest first. */
export interface HistoryPage {
  entries: HistoryEntry[];
  /** Pass as `before` for the next (older) page; null at the end. */
  nextBefore: number | null;
}

/** Sync state of a tenant in a health snapshot. */
export type SyncState = 'success' | 'partial' | 'failed' | 'pending';

/** What a tenant's hub reported to the health check. */
export interface HubStatus {
  hub: string;
  seq: number;
  connections: number;
  outboxPending: number;
  wakes: number;
  lastError?: string;
}

/** One tenant in a health snapshot. */
export interface TenantHealth {
  tenant: string;
  state: SyncState;
  hub?: HubStatus;
  error: string | null;
}

/** The latest cron health snapshot (`GET /v1/status`). */
export interface StatusSnapshot {
  takenAt: number;
  cron: string;
  healthPct: number;
  counts: Record<SyncState, number>;
  tenants: TenantHealth[];
}

/** An RFC 7807 problem document as the API sends it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  retryAfter?: number;
}
