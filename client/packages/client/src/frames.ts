/** Parsing and classifying the frames the server sends. */
import type {
  ChangeEventType,
  ChangeFrame,
  JsonObject,
  Origins,
  ResumeMode,
  ServerFrame,
  SnapshotDocument,
  SyncState,
} from './types.js';

/** The four change event names, in the seed's order. */
export const CHANGE_EVENT_TYPES: readonly ChangeEventType[] = [
  'config-updated',
  'module-changed',
  'auth-changed',
  'rbac-changed',
];

/** The exact heartbeat text the runtime answers without waking the hub. */
export const PING_FRAME = '{"type":"ping"}';

/** The frame that asks the hub for a `sync-status` now (admins; users get `CASCADE:Frame:Forbidden`). */
export const STATUS_FRAME = '{"type":"status"}';

/**
 * Close code of a socket whose token expired (docs/PROTOCOL.md): the client asks its token
 * source again and reconnects at once with `since` = the last `seq` it saw.
 */
export const CLOSE_TOKEN_EXPIRED = 4001;

/**
 * Code of the `error` frame the hub sends just before that close: the client reconnects on
 * it, without waiting for the close handshake to finish.
 */
export const TOKEN_EXPIRED_CODE = 'CASCADE:Auth:TokenExpired';

const RESUME_MODES: readonly ResumeMode[] = ['none', 'replay', 'snapshot'];

/** True for the four change frames. */
export function isChangeFrame(frame: ServerFrame): frame is ChangeFrame {
  return (CHANGE_EVENT_TYPES as readonly string[]).includes(frame.type);
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isInt = (value: unknown): value is number => Number.isSafeInteger(value);

const SCOPES: readonly unknown[] = ['platform', 'tenant', 'user'];

/** An `origins` map when `value` is one (pointer to scope), else undefined. */
function parseOrigins(value: unknown): Origins | undefined {
  if (!isObject(value)) return undefined;
  return Object.values(value).every((scope) => SCOPES.includes(scope)) ? (value as Origins) : undefined;
}

/**
 * Parses one text frame. Known frames are checked for the fields this client relies on;
 * frames of other types come back as `{type: 'unknown', raw}` so a newer server's frames
 * pass through instead of breaking the connection.
 * Throws on text that is not a JSON object or a known frame with missing fields.
 */
export function parseServerFrame(text: string): ServerFrame {
  const value: unknown = JSON.parse(text);
  if (!isObject(value) || typeof value.type !== 'string') throw new Error(`not a frame: ${text.slice(0, 200)}`);
  switch (value.type) {
    case 'hello': {
      const resume = value.resume ?? 'none';
      if (typeof value.tenant !== 'string' || !isInt(value.seq)) break;
      if (!(RESUME_MODES as readonly unknown[]).includes(resume)) break;
      return { type: 'hello', tenant: value.tenant, seq: value.seq, resume: resume as ResumeMode };
    }
    case 'snapshot': {
      const { tenant, seq, configs } = value;
      if (typeof tenant !== 'string' || !isInt(seq) || !isObject(configs)) break;
      const documents: Record<string, SnapshotDocument> = {};
      let ok = true;
      for (const [namespace, document] of Object.entries(configs)) {
        if (!isObject(document) || !isInt(document.version) || !isObject(document.config)) {
          ok = false;
          break;
        }
        const origins = parseOrigins(document.origins);
        documents[namespace] = { version: document.version, config: document.config, ...(origins ? { origins } : {}) };
      }
      if (!ok) break;
      return { type: 'snapshot', tenant, seq, configs: documents };
    }
    case 'synced':
      if (!isInt(value.seq)) break;
      return { type: 'synced', seq: value.seq };
    case 'sync-status':
      if (value.scope === 'tenant') {
        const { tenant, status, seq, platformSeq, pendingChanges, openConflicts } = value;
        if (typeof tenant !== 'string' || typeof status !== 'string') break;
        if (![seq, platformSeq, pendingChanges, openConflicts].every(isInt)) break;
        return {
          type: 'sync-status',
          scope: 'tenant',
          tenant,
          status: status as SyncState,
          seq: seq as number,
          platformSeq: platformSeq as number,
          pendingChanges: pendingChanges as number,
          openConflicts: openConflicts as number,
        };
      }
      if (value.scope === 'platform') {
        const { checkedAt, platformSeq, healthPercent, tenantsByStatus, changed = {} } = value;
        if (!isInt(checkedAt) || !isInt(platformSeq) || typeof healthPercent !== 'number') break;
        if (!isObject(tenantsByStatus) || !isObject(changed)) break;
        return {
          type: 'sync-status',
          scope: 'platform',
          checkedAt,
          platformSeq,
          healthPercent,
          tenantsByStatus: tenantsByStatus as Partial<Record<SyncState, number>>,
          changed: changed as Record<string, SyncState>,
        };
      }
      break;
    case 'pong':
      return { type: 'pong' };
    case 'error':
      return { type: 'error', code: String(value.code ?? ''), message: String(value.message ?? '') };
    case 'config-updated':
    case 'module-changed':
    case 'auth-changed':
    case 'rbac-changed': {
      const { seq, tenant, scope, namespace, version, patch, triggeredBy } = value;
      const origins = parseOrigins(value.origins);
      if (!isInt(seq) || !isInt(version) || typeof tenant !== 'string' || typeof namespace !== 'string') break;
      if (scope !== 'platform' && scope !== 'tenant' && scope !== 'user') break;
      if (!Array.isArray(patch)) break;
      return {
        type: value.type,
        seq,
        tenant,
        scope,
        namespace,
        version,
        patch: patch as ChangeFrame['patch'],
        ...(typeof triggeredBy === 'string' ? { triggeredBy } : {}),
        ...(origins ? { origins } : {}),
      };
    }
    default:
      return { type: 'unknown', raw: value };
  }
  throw new Error(`malformed ${value.type} frame: ${text.slice(0, 200)}`);
}
