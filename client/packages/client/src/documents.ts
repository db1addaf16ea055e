/** The documents a client holds, kept current by applying change frames' patches. */
// fast-json-patch is CommonJS (its "module" build is for bundlers only): Node's ESM loader
// cannot see its named exports, so take the default export, which every loader provides.
import jsonPatch from 'fast-json-patch';
import { applyOrigins } from './origins.js';
import type { ChangeFrame, ConfigDocument, JsonObject, Scope } from './types.js';

/**
 * Identifies a held document. The client holds one document per namespace: the effective
 * config of its subject (the tenant, or one user). Change frames of every scope (platform,
 * tenant, user) patch that same document, so the key is the namespace alone.
 */
export interface DocumentKey {
  scope: Scope;
  namespace: string;
}

/** What applying a change frame did. */
export type ApplyResult =
  /** The patch was applied; `document` is the new one. */
  | { kind: 'applied'; previous: ConfigDocument; document: ConfigDocument }
  /** The held document already includes this change (it was fetched at or after `version`). */
  | { kind: 'included'; document: ConfigDocument }
  /** No document is held for this namespace (and no base was given). */
  | { kind: 'not-held' }
  /** The patch does not apply to the held document: it must be fetched again. */
  | { kind: 'failed'; error: Error };

/** Stable string form of a {@link DocumentKey}: the namespace (see {@link DocumentKey}). */
export function documentKey(key: Pick<DocumentKey, 'namespace'>): string {
  return key.namespace;
}

/**
 * Per-namespace documents in memory. Documents are immutable values: every change makes a
 * new object, so UIs can compare by reference.
 */
export class DocumentStore {
  private readonly docs = new Map<string, ConfigDocument>();

  /** The held document, if any. */
  get(key: Pick<DocumentKey, 'namespace'>): ConfigDocument | undefined {
    return this.docs.get(documentKey(key));
  }

  /** Every held document. */
  all(): ConfigDocument[] {
    return [...this.docs.values()];
  }

  /** Stores a document as fetched (replacing what was held). */
  set(document: ConfigDocument): void {
    this.docs.set(documentKey(document), document);
  }

  /** Forgets every document. */
  clear(): void {
    this.docs.clear();
  }

  /** Forgets a document. */
  delete(key: Pick<DocumentKey, 'namespace'>): void {
    this.docs.delete(documentKey(key));
  }

  /**
   * Applies a change frame to the held document, or to `base` when none is held (a namespace
   * first written after the snapshot starts from an empty document at version 0). The caller
   * guarantees ordering (frames in `seq` order, none missed); a version at or below the held
   * one means the change is already in the document.
   */
  apply(frame: ChangeFrame, base?: ConfigDocument): ApplyResult {
    const current = this.get(frame) ?? base;
    if (!current) return { kind: 'not-held' };
    if (frame.version <= current.version) return { kind: 'included', document: current };
    try {
      const result = jsonPatch.applyPatch(jsonPatch.deepClone(current.config) as JsonObject, frame.patch, true, true);
      const config = result.newDocument;
      if (typeof config !== 'object' || config === null || Array.isArray(config)) {
        throw new Error('the patch did not leave a JSON object');
      }
      const document: ConfigDocument = { ...current, version: frame.version, config };
      // The frame's origin entries update an exact map; without one (a document read without
      // origins), only entries that cover the whole document make one.
      delete document.origins;
      if (frame.origins && (current.origins || '' in frame.origins)) {
        document.origins = applyOrigins(current.origins ?? {}, frame.origins);
      }
      this.set(document);
      return { kind: 'applied', previous: current, document };
    } catch (error) {
      return { kind: 'failed', error: error instanceof Error ? error : new Error(String(error)) };
    }
  }
}
