/** Formatting helpers for the dashboard. */
import { CascadeApiError } from '@cascade/client';
import type { HistoryEntry, NamespaceDrift } from '@cascade/client';

/** "14:03:12" today, else "2026-11-25 14:03". */
export function formatTime(ms: number): string {
  const date = new Date(ms);
  const today = new Date().toDateString() === date.toDateString();
  return today
    ? date.toLocaleTimeString([], { hour12: false })
    : `${date.toISOString().slice(0, 10)} ${date.toTimeString().slice(0, 5)}`;
}

/** How an event's outcome reads at a glance. */
export type OutcomeClass = 'success' | 'attention' | 'failure';

/** Classifies a history outcome: failures (refused, error), attention (conflict, pending), success. */
export function outcomeClass(entry: Pick<HistoryEntry, 'outcome' | 'error'>): OutcomeClass {
  if (entry.error || entry.outcome === 'refused' || entry.outcome === 'failed') return 'failure';
  if (entry.outcome === 'conflict' || entry.outcome === 'pending') return 'attention';
  return 'success';
}

/** A message for any thrown value. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A problem document's `detail` and stable `code` for API errors; the message otherwise. */
export function problemText(error: unknown): string {
  if (error instanceof CascadeApiError) return `${error.detail} (${error.status} ${error.code})`;
  return errorText(error);
}

/** A JSON value in one short line ("—" when absent). */
export function shortJson(value: unknown, max = 60): string {
  if (value === undefined) return '—';
  const text = JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A tenant's drift in one line: "auth (rolledBack), rbac (behind)"; "" when there is none. */
export function driftText(drift: readonly NamespaceDrift[] | undefined): string {
  return (drift ?? []).map((d) => `${d.namespace} (${d.reason})`).join(', ');
}
