/**
 * Types of Cascade's HTTP API and WebSocket protocol (`docs/openapi.json`,
 * `docs/PROTOCOL.md`). The wire types — frames, stored documents, problems — are the ones
 * generated from the Rust protocol types (`generated/protocol.ts`, ts-rs, kept current by
 * the `typescript` test of cascade-protocol), named here as the client uses them; the rest of
 * this file is the HTTP API's other answers and the client's own types.
 */
import type * as Wire from './generated/protocol.js';
import type { JsonObject, Scope, SyncState } from './generated/protocol.js';

export type {
  ClientFrame,
  FrameErrorCode,
  JsonObject,
  Origins,
  Problem,
  Scope,
  SnapshotDocument,
  SyncState,
} from './generated/protocol.js';

/** Event names of change frames, one per namespace family (the seed's names). */
export type ChangeEventType = 'config-updated' | 'module-changed' | 'auth-changed' | 'rbac-changed';

/** An RFC 6902 JSON Patch operation. */
export type PatchOperation = Wire.JsonPatchOperation;

/**
 * How a hub brings a connecting client up to date, announced in `hello`: `replay` (the change
 * frames after the client's `since` follow), `snapshot` (one `snapshot` follows), or `none`
 * (the client gave no `since`).
 */
export type ResumeMode = Wire.Resume;

/** The server frame of one `type`. */
type FrameOf<T extends Wire.ServerFrame['type']> = Extract<Wire.ServerFrame, { type: T }>;

/** First frame on every connection: where the tenant's hub is now, and how the client is brought there. */
export type HelloFrame = FrameOf<'hello'>;

/** The subject's whole effective config of every followed namespace that exists, at `seq`. */
export type SnapshotFrame = FrameOf<'snapshot'>;

/** The catch-up after `hello` is over: the client is at `seq`; live frames follow. */
export type SyncedFrame = FrameOf<'synced'>;

/** A tenant's sync state, sent to its admins after each change and on a `status` request. */
export type TenantSyncStatusFrame = { type: 'sync-status'; scope: 'tenant' } & Wire.TenantSyncStatus;

/** The platform-wide view of the last health check, sent to platform admins. */
export type PlatformSyncStatusFrame = { type: 'sync-status'; scope: 'platform' } & Wire.PlatformSyncStatus;

/** A `sync-status` frame (admins only). */
export type SyncStatusFrame = TenantSyncStatusFrame | PlatformSyncStatusFrame;

/**
 * One applied change: an RFC 6902 patch from the document at the previous version to
 * `version`. `seq` increases, but is not contiguous for one recipient (no frame for changes
 * that do not concern it), so a jump is not a gap.
 */
export type ChangeFrame = { type: ChangeEventType } & Wire.ConfigChange;

/** The answer to a heartbeat. */
export type PongFrame = FrameOf<'pong'>;

/** Something the client sent could not be handled (`code`: a {@link Wire.FrameErrorCode}, or a newer server's). */
export type ErrorFrame = FrameOf<'error'>;

/** A frame of a type this client does not know (a newer server); passed through untouched. */
export interface UnknownFrame {
  type: 'unknown';
  raw: Wire.JsonObject;
}

/** Every frame the server sends, and the unknown ones of a newer server. */
export type ServerFrame = HelloFrame | SnapshotFrame | SyncedFrame | SyncStatusFrame | ChangeFrame | PongFrame | ErrorFrame | UnknownFrame;

/** A namespace document as the API returns it (`GET .../config/{namespace}`, `.../effective/{namespace}`). */
export type ConfigDocument = Wire.StoredDocument;

/** Answer to a config write. */
export interface WriteAck {
  seq: number;
  version: number;
  changed: boolean;
  /** True when an `Idempotency-Key` retry returned the first answer. */
  replayed?: boolean;
  /** Platform writes: how many tenants the change reaches. */
  targetedTenants?: number;
  /** Platform writes: why the change reaches no tenant, when it reaches none. */
  warning?: string;
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
  /** Time the hub spent applying the change (its own work), in ms. */
  durationMs: number;
  /**
   * Propagation latency of a platform change the fan-out delivered to this tenant: the
   * tenant hub's commit time minus the platform hub's, in ms (never negative). `null` for
   * entries that start at the tenant (tenant and user writes, pending, conflict and rollback
   * operations) and for platform updates applied by a catch-up; absent from servers older
   * than the field.
   */
  propagationMs?: number | null;
  error: string | null;
  createdAt: number;
  /** Every namespace the entry touched, sorted (a batch touches several). */
  namespaces?: string[];
  /** The writing request's id (`Cascade-Request-Id`); null for platform updates. */
  requestId?: string | null;
  /** The writer's role; null for platform updates. */
  role?: string | null;
  /** Per changed layer: the RFC 6902 `patch` forward and `replaced` (the patch back). */
  changes?: LayerChangeEntry[];
}

/** One layer a history entry changed, or the `omitted` count past the listed ones. */
export interface LayerChangeEntry {
  namespace?: string;
  layer?: { scope: 'platform' | 'tenant' | 'user'; id?: string };
  patch?: JsonObject[];
  replaced?: JsonObject[];
  kind?: 'omitted';
  count?: number;
}

/** A page of history, newest first. */
export interface HistoryPage {
  entries: HistoryEntry[];
  /** Pass as `before` for the next (older) page; null at the end. */
  nextBefore: number | null;
}

/** Why a tenant's copy of a platform layer differs from the platform's. */
export type DriftReason = 'optedOut' | 'noRule' | 'pending' | 'rolledBack' | 'behind';

/** A namespace whose copy of the platform layer differs from the platform's. */
export interface NamespaceDrift {
  namespace: string;
  reason: DriftReason;
  /** Whether the rules require it to converge (`behind`; `rolledBack` under platform-wins). */
  mustConverge: boolean;
}

/** What a tenant's hub reported to the health check. */
export interface HubStatus {
  hub: string;
  seq: number;
  connections: number;
  outboxPending: number;
  wakes: number;
  lastError?: string;
  /** The platform sequence the tenant has applied. */
  platformSeq?: number;
  /** Platform changes waiting for a tenant admin's decision. */
  pendingChanges?: number;
  /** Conflicts waiting for a manual resolution. */
  openConflicts?: number;
  /** Open connections per role (`admins`, `users`); absent from hubs older than this field. */
  connectionsByRole?: Record<string, number>;
}

/** One tenant in a health snapshot. */
export interface TenantHealth {
  tenant: string;
  state: SyncState;
  hub?: HubStatus;
  error: string | null;
  /** When the tenant lagged: platform updates the check's resync applied. */
  resynced?: number;
  resyncError?: string;
  /** Namespaces whose copy still differs from the platform's after the check. */
  drift?: NamespaceDrift[];
  /** Namespaces the check converged with the platform layer. */
  converged?: string[];
  convergeError?: string;
}

/** The latest cron health snapshot (`GET /v1/status`). */
export interface StatusSnapshot {
  takenAt: number;
  cron: string;
  healthPct: number;
  /** Tenants per state (`drifted` absent from servers older than convergence). */
  counts: Partial<Record<SyncState, number>>;
  tenants: TenantHealth[];
}

/** History filters of `GET /v1/tenants/{tenant}/history`. */
export interface HistoryFilter {
  namespace?: string;
  scope?: Scope;
  /** `applied`, `overridden`, `shadowed`, `conflict`, `pending`, `skipped`, `refused`, `unchanged`. */
  outcome?: string;
  /** Unix ms, inclusive. */
  since?: number;
  /** Unix ms, exclusive. */
  until?: number;
}

/** The seed's change event, as pending changes carry it. */
export interface ConfigChangeEvent {
  type: string;
  action: string;
  scope: Scope;
  targetId?: string;
  config: JsonObject;
  triggeredBy: string;
}

/** A platform change held at a tenant by a rule with `autoApply: false` (`GET .../pending`). */
export interface PendingChange {
  /** `{seq}.{n}`, unique within the tenant. */
  id: string;
  namespace: string;
  platformSeq: number;
  event: ConfigChangeEvent;
  rule: string;
  strategy: string;
  targets: Scope[];
  /** True when only queued behind another pending change (its own rule auto-applies). */
  autoApply: boolean;
  createdSeq: number;
  createdAt: number;
}

/** An open merge conflict: the same leaf changed above and below (`GET .../conflicts`). */
export interface Conflict {
  /** `{seq}.{n}`, unique within the tenant. */
  id: string;
  namespace: string;
  /** Whose layer holds the customization. */
  subject: { scope: 'tenant' } | { scope: 'user'; id: string };
  /** The leaf, as a JSON Pointer-like path. */
  path: string;
  /** The upper value the customization was based on (absent: none). */
  base?: unknown;
  /** The upper value now (absent: removed above). */
  upper?: unknown;
  /** The lower value, in effect until resolved. */
  lower: unknown;
  rule: string;
  openedSeq: number;
  openedAt: number;
}

/** How an admin resolves a conflict. */
export type ConflictResolution = { action: 'takeUpper' } | { action: 'keepLower' } | { action: 'setValue'; value: unknown };

/** Answer to `POST /v1/tenants/{tenant}/sync`. */
export interface SyncAck {
  platformSeq: number;
  /** Platform updates applied by this sync. */
  applied: number;
}

/** One tenant's line in the answer to `POST /v1/sync`. */
export interface SyncAllLine {
  tenant: string;
  /** Platform updates this sync applied. */
  applied?: number;
  /** The platform sequence the tenant is at now. */
  platformSeq?: number;
  /** Why this tenant could not be synced (the others still were). */
  error?: { code?: string; detail?: string; status?: number };
}

/** Answer to `POST /v1/sync` (sync every tenant, a page at a time): one line per tenant of
 * the page, the page's totals, and the cursor of the next page (null after the last). */
export interface SyncAllResult {
  tenants: SyncAllLine[];
  totals: { tenants: number; synced: number; failed: number; applied: number };
  /** Continue with `POST /v1/sync?after={next}`; null when every tenant was synced. */
  next?: string | null;
}
