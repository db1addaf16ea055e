/**
 * A history entry's changes as lines a person reads: per changed layer, each path with its
 * value before and after. The entry carries, per layer, the RFC 6902 `patch` (before → after)
 * and `replaced` (the patch back); a path's value before is what `replaced` puts back there.
 */
import type { HistoryEntry, JsonObject, LayerChangeEntry } from '@cascade/client';

/** One changed path of one layer. */
export interface DiffLine {
  /** JSON Pointer, e.g. `/email/enabled`. */
  path: string;
  /** Absent when the path was added. */
  before?: unknown;
  /** Absent when the path was removed. */
  after?: unknown;
}

/** One layer's part of an entry. */
export interface LayerDiff {
  namespace: string;
  /** `tenant`, `platform` copy, or `user {id}`. */
  layer: string;
  lines: DiffLine[];
}

/** What an entry changed, layer by layer, and how many layers the server left out. */
export interface EntryDiff {
  layers: LayerDiff[];
  omitted: number;
}

type Op = { op?: string; path?: string; value?: unknown; from?: string };

function layerName(change: LayerChangeEntry): string {
  const layer = change.layer;
  if (!layer) return 'layer';
  return layer.scope === 'user' ? `user ${layer.id ?? ''}`.trim() : layer.scope;
}

/** The lines of one layer's patch, each path's old value taken from `replaced`. */
export function layerLines(patch: readonly JsonObject[], replaced: readonly JsonObject[] = []): DiffLine[] {
  const back = new Map<string, Op>();
  for (const op of replaced as Op[]) if (op.path !== undefined) back.set(op.path, op);
  return (patch as Op[])
    .filter((op) => op.path !== undefined && op.op !== 'test')
    .map((op) => {
      const path = op.path ?? '';
      const undo = back.get(path);
      const line: DiffLine = { path };
      // The way back restores the old value ("add"/"replace"), or removes a path that was new.
      if (undo && (undo.op === 'add' || undo.op === 'replace')) line.before = undo.value;
      if (op.op === 'add' || op.op === 'replace') line.after = op.value;
      return line;
    });
}

/** The diff of a history entry; empty when it changed nothing (a rejected pending change). */
export function entryDiff(entry: Pick<HistoryEntry, 'changes' | 'type'>): EntryDiff {
  const diff: EntryDiff = { layers: [], omitted: 0 };
  for (const change of entry.changes ?? []) {
    if (change.kind === 'omitted') {
      diff.omitted += change.count ?? 0;
      continue;
    }
    diff.layers.push({
      namespace: change.namespace ?? entry.type,
      layer: layerName(change),
      lines: layerLines(change.patch ?? [], change.replaced ?? []),
    });
  }
  return diff;
}

/** The namespaces whose layers an entry changed, for its rollback buttons. */
export function changedNamespaces(entry: Pick<HistoryEntry, 'changes' | 'type'>): string[] {
  return [...new Set(entryDiff(entry).layers.map((l) => l.namespace))].sort();
}

/** A value in a diff line: compact JSON, "—" when absent. */
export function diffValue(value: unknown, max = 80): string {
  if (value === undefined) return '—';
  const text = JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
