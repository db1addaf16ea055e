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

/** First frame on every connection: where the tenant's hub is now. */
export interface HelloFrame {
  type: 'hello';
  tenant: string;
  seq: number;
}

/** One applied change: an RFC 6902 patch from the document at the previous version to `version`. */
export interface ChangeFrame {
  type: ChangeEventType;
  /** The hub's sequence number this change was applied at (gap-free, increasing). */
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

/** Something the client sent could not be handled. */
export interface ErrorFrame {
  type: 'error';
  code: string;
  message: string;
}

/** A frame of a type this client does not know (a newer server); passed through untouched. */
export interface UnknownFrame {
  type: 'unknown';
  raw: JsonObject;
}

/** Every frame the server sends. */
export type ServerFrame = HelloFrame | ChangeFrame | PongFrame | ErrorFrame | UnknownFrame;

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
