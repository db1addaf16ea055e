/**
 * Where each value of a held effective config came from (docs/PROTOCOL.md, "Origins"): an
 * {@link Origins} map from JSON Pointer to scope, deeper entries overriding. The client
 * keeps one per held document when it asked for origins, from snapshots and effective
 * reads, and updates it from each change frame's entries.
 */
import { pathSegments } from './path.js';
import type { Origins, Scope } from './types.js';

/** The pointer of a pointer's parent, or undefined for the root `''`. */
function parent(pointer: string): string | undefined {
  const cut = pointer.lastIndexOf('/');
  return cut < 0 ? undefined : pointer.slice(0, cut);
}

/** A dotted path or a JSON Pointer as a JSON Pointer (`email.enabled` → `/email/enabled`). */
export function toPointer(path: string): string {
  if (path === '' || path.startsWith('/')) return path;
  return pathSegments(path)
    .map((segment) => '/' + segment.replace(/~/g, '~0').replace(/\//g, '~1'))
    .join('');
}

/**
 * The origin of the value at `path` (dotted or a pointer): the entry with the longest
 * pointer that is the value's own or an ancestor's. Undefined for a map without a root.
 */
export function originAt(origins: Origins, path: string): Scope | undefined {
  let at: string | undefined = toPointer(path);
  while (at !== undefined) {
    const scope = origins[at];
    if (scope !== undefined) return scope;
    at = parent(at);
  }
  return undefined;
}

/**
 * `held` updated with a change frame's entries: every entry of `change` without an ancestor
 * entry in `change` is a root; `held`'s entries at and below each root are dropped, then
 * `change`'s are taken. A new object (`held` is not modified).
 */
export function applyOrigins(held: Origins, change: Origins): Origins {
  const roots = Object.keys(change).filter((pointer) => {
    for (let at = parent(pointer); at !== undefined; at = parent(at)) if (at in change) return false;
    return true;
  });
  const next: Origins = {};
  for (const [pointer, scope] of Object.entries(held)) {
    const covered = roots.some((root) => root === '' || pointer === root || pointer.startsWith(root + '/'));
    if (!covered) next[pointer] = scope;
  }
  return { ...next, ...change };
}
