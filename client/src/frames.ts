/** Parsing and classifying the frames the server sends. */
import type { ChangeEventType, ChangeFrame, JsonObject, ServerFrame } from './types.js';

/** The four change event names, in the seed's order. */
export const CHANGE_EVENT_TYPES: readonly ChangeEventType[] = [
  'config-updated',
  'module-changed',
  'auth-changed',
  'rbac-changed',
];

/** The exact heartbeat text the runtime answers without waking the hub. */
export const PING_FRAME = '{"type":"ping"}';

/** True for the four change frames. */
export function isChangeFrame(frame: ServerFrame): frame is ChangeFrame {
  return (CHANGE_EVENT_TYPES as readonly string[]).includes(frame.type);
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isInt = (value: unknown): value is number => Number.isSafeInteger(value);

/**
 * Parses one text frame. Known frames are checked for the fields this client relies on;
 * frames of other types come back as `{type: 'unknown', raw}` so a newer server's frames
 * (snapshots, sync status, ...) pass through instead of breaking the connection.
 * Throws on text that is not a JSON object or a known frame with missing fields.
 */
export function parseServerFrame(text: string): ServerFrame {
  const value: unknown = JSON.parse(text);
  if (!isObject(value) || typeof value.type !== 'string') throw new Error(`not a frame: ${text.slice(0, 200)}`);
  switch (value.type) {
    case 'hello':
      if (typeof value.tenant !== 'string' || !isInt(value.seq)) break;
      return { type: 'hello', tenant: value.tenant, seq: value.seq };
    case 'pong':
      return { type: 'pong' };
    case 'error':
      return { type: 'error', code: String(value.code ?? ''), message: String(value.message ?? '') };
    case 'config-updated':
    case 'module-changed':
    case 'auth-changed':
    case 'rbac-changed': {
      const { seq, tenant, scope, namespace, version, patch, triggeredBy } = value;
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
      };
    }
    default:
      return { type: 'unknown', raw: value };
  }
  throw new Error(`malformed ${value.type} frame: ${text.slice(0, 200)}`);
}
