/** Short human-readable descriptions of changes, for toasts and logs. */
import type { ChangeFrame, PatchOperation } from './types.js';

/** A notification an app can show for one change. */
export interface ChangeNotification {
  /** Unique per change: `{tenant}:{seq}`. */
  id: string;
  /** e.g. "Notifications settings updated". */
  title: string;
  /** e.g. "email.enabled changed, sms added — tenant acme, by ann". */
  message: string;
  /** The change it describes. */
  frame: ChangeFrame;
  /** When it was produced (ms since the epoch). */
  at: number;
}

const VERBS: Record<PatchOperation['op'], string> = {
  add: 'added',
  remove: 'removed',
  replace: 'changed',
  move: 'moved',
  copy: 'copied',
  test: 'checked',
};

const SUBJECTS: Record<ChangeFrame['type'], string> = {
  'config-updated': 'settings',
  'module-changed': 'modules',
  'auth-changed': 'sign-in settings',
  'rbac-changed': 'roles and permissions',
};

/** `/email/enabled` → `email.enabled`; the root → `everything`. */
export function describePath(pointer: string): string {
  if (pointer === '') return 'everything';
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}

/** What a patch did, e.g. "email.enabled changed, sms added and 2 more". */
export function describePatch(patch: readonly PatchOperation[], limit = 3): string {
  const parts = patch.filter((op) => op.op !== 'test').map((op) => `${describePath(op.path)} ${VERBS[op.op]}`);
  if (parts.length === 0) return 'no visible change';
  if (parts.length <= limit) return parts.join(', ');
  return `${parts.slice(0, limit).join(', ')} and ${parts.length - limit} more`;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Describes a change: what changed, at which scope, by whom. */
export function describeChange(frame: ChangeFrame, now: number = Date.now()): ChangeNotification {
  const subject = frame.type === 'config-updated' ? `${capitalise(frame.namespace)} settings` : capitalise(SUBJECTS[frame.type]);
  const where = frame.scope === 'platform' ? 'platform-wide' : `${frame.scope} ${frame.tenant}`;
  const who = frame.triggeredBy ? `, by ${frame.triggeredBy}` : '';
  return {
    id: `${frame.tenant}:${frame.seq}`,
    title: `${subject} updated`,
    message: `${describePatch(frame.patch)} — ${where}${who} (v${frame.version})`,
    frame,
    at: now,
  };
}
