/**
 * Reading one value out of a configuration document by path, and the types that make
 * `client.get(namespace, path, fallback)` typed by a declared namespace map.
 *
 * A path is either a JSON Pointer (RFC 6901: starts with `/`, segments escaped with `~0` for
 * `~` and `~1` for `/`, e.g. `/email/enabled`) or a dotted path (`email.enabled`; a key that
 * holds a `.` needs the pointer form). The empty string is the whole document. Numeric
 * segments index arrays. Only dotted paths are typed by the namespace map.
 */
import type { JsonObject } from './types.js';

/**
 * The shape of a namespace map: an object type (an interface will do) from namespace name to
 * the type of its config object, e.g. `{ notifications: { email: { enabled: boolean } } }`.
 */
export type NamespaceMap = object;

/** What a client knows without a declared map: every namespace is a JSON object. */
export type UntypedNamespaces = Record<string, JsonObject>;

type Leaf = string | number | boolean | null | undefined | readonly unknown[];
type Depth = [never, 0, 1, 2, 3, 4, 5, 6];

/** Every dotted path into `T` (up to 7 levels deep), e.g. `'email' | 'email.enabled'`. */
export type DottedPath<T, D extends number = 7> = [D] extends [never]
  ? never
  : T extends Leaf
    ? never
    : {
        [K in keyof T & string]: K | (NonNullable<T[K]> extends Leaf ? never : `${K}.${DottedPath<NonNullable<T[K]>, Depth[D]>}`);
      }[keyof T & string];

/** The declared type at a dotted path of `T`; `unknown` where nothing is declared. */
export type PathValue<T, P extends string> = P extends ''
  ? T
  : P extends `${infer Head}.${infer Rest}`
    ? Head extends keyof NonNullable<T>
      ? PathValue<NonNullable<T>[Head], Rest>
      : unknown
    : P extends keyof NonNullable<T>
      ? NonNullable<T>[P]
      : unknown;

/** `P` when the namespace map declares no type at it (pointers, untyped maps), else never. */
export type UndeclaredPath<T, P extends string> = unknown extends PathValue<T, P> ? P : never;

/**
 * The declared type at a path without `undefined` (the fallback stands in for it); never
 * where nothing is declared, so that such a path takes the fallback's type instead.
 */
export type DeclaredValue<T, P extends string> = unknown extends PathValue<T, P> ? never : Exclude<PathValue<T, P>, undefined>;

/** A fallback's type as a value type: `''` reads as `string`, `false` as `boolean`, `3` as `number`. */
export type Widen<T> = T extends string ? string : T extends number ? number : T extends boolean ? boolean : T;

/** Splits a path into its segments; see the module documentation for the two forms. */
export function pathSegments(path: string): string[] {
  if (path === '') return [];
  if (path.startsWith('/')) return path.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  return path.split('.');
}

/** The value at `path` in `root`, or undefined when any segment is missing. */
export function valueAt(root: unknown, path: string): unknown {
  let value: unknown = root;
  for (const segment of pathSegments(path)) {
    if (Array.isArray(value)) {
      if (!/^(0|[1-9][0-9]*)$/.test(segment)) return undefined;
      value = value[Number(segment)];
    } else if (typeof value === 'object' && value !== null && Object.prototype.hasOwnProperty.call(value, segment)) {
      value = (value as Record<string, unknown>)[segment];
    } else {
      return undefined;
    }
  }
  return value;
}

/** Structural equality of JSON values (what a selected config value can be). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((item, i) => jsonEqual(item, other[i]));
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) return false;
  return keys.every((key) => Object.prototype.hasOwnProperty.call(right, key) && jsonEqual(left[key], right[key]));
}
