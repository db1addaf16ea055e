//! Which users a change can reach: the paths a change touches and the paths a user's layer
//! holds, in one comparable form, so a hub loads (and computes a personal patch for) only
//! the users whose own layer bears on a change.
//!
//! A user's effective config is the tenant's with the user's own layer laid over it. When a
//! change alters the tenant's effective config only at paths that none of a user's own
//! leaves lies on, above or below, the user's effective config changes exactly as the
//! tenant's does: the tenant's RFC 6902 patch applies to it unchanged, and no strategy has
//! anything to settle in the user's layer. Such users share the tenant's frame and need not
//! be loaded at all; that is what keeps a write's cost independent of how many users a
//! tenant has.
//!
//! Paths here are RFC 6901 JSON Pointers (the form RFC 6902 patches use). A user's leaf
//! inside an id array (`/roles/[admin]/permissions`) is indexed by the array's own path
//! (`/roles`): a patch addresses array elements by position, which cannot be compared with
//! an id, so the whole array counts as touched. Overlap is tested segment-wise, prefix
//! either way: `/a` reaches a user holding `/a/b`, and `/a/b/c` reaches a user holding
//! `/a/b`.
//!
//! One more case needs the shapes: a user holding an object where the tenant holds an array
//! (the user's object replaces the array, see [`crate::document::overlay`]). A patch inside
//! that array (`/c/0/id`) lies beside the user's leaves (`/c/x`), yet cannot apply to the
//! user's config. A pointer steps into an array only by a position (digits, or `-`), so
//! every pointer that continues a path with a position reaches the users holding anything
//! below that path ([`array_parents`]). An object member named like a position reaches
//! a few users too many, which costs a load and nothing else.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::document::leaves;
use crate::path::{LeafPath, Seg};
use crate::state::LowerLayer;

/// RFC 6901 escaping of one reference token.
fn token(raw: &str) -> String {
    raw.replace('~', "~0").replace('/', "~1")
}

/// The pointer a user's leaf is indexed under: its path up to the first id-array element.
#[must_use]
pub fn index_pointer(path: &LeafPath) -> String {
    let mut out = String::new();
    for seg in &path.0 {
        match seg {
            Seg::Key(key) => {
                out.push('/');
                out.push_str(&token(key));
            }
            Seg::Id(_) => break,
        }
    }
    out
}

/// The pointers a lower layer is indexed under (deduplicated, sorted).
#[must_use]
pub fn layer_pointers(layer: &LowerLayer) -> BTreeSet<String> {
    leaves(layer.layer.as_value())
        .into_iter()
        .map(|(path, _)| index_pointer(&path))
        .collect()
}

/// The pointers an RFC 7396 merge patch touches: each member that is not an object with
/// members to recurse into (a scalar, an array, `null` for a deletion, or an empty object).
#[must_use]
pub fn merge_patch_pointers(config: &Value) -> BTreeSet<String> {
    fn walk(value: &Value, at: &str, out: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (key, child) in map {
                    walk(child, &format!("{at}/{}", token(key)), out);
                }
            }
            _ => {
                out.insert(at.to_owned());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(config, "", &mut out);
    out
}

/// The pointers an RFC 6902 patch's operations address (`path`, and `from` for moves and
/// copies).
#[must_use]
pub fn patch_pointers(patch: &json_patch::Patch) -> BTreeSet<String> {
    use json_patch::PatchOperation as Op;
    let mut out = BTreeSet::new();
    for op in &patch.0 {
        match op {
            Op::Add(o) => {
                out.insert(o.path.to_string());
            }
            Op::Remove(o) => {
                out.insert(o.path.to_string());
            }
            Op::Replace(o) => {
                out.insert(o.path.to_string());
            }
            Op::Test(o) => {
                out.insert(o.path.to_string());
            }
            Op::Move(o) => {
                out.insert(o.path.to_string());
                out.insert(o.from.to_string());
            }
            Op::Copy(o) => {
                out.insert(o.path.to_string());
                out.insert(o.from.to_string());
            }
        }
    }
    out
}

/// Whether `path` is `ancestor` or lies below it, segment-wise (`/a/b` is below `/a`,
/// `/ab` is not).
fn at_or_below(path: &str, ancestor: &str) -> bool {
    path.strip_prefix(ancestor)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Whether `path` lies strictly below `ancestor`, segment-wise.
fn below(path: &str, ancestor: &str) -> bool {
    path.strip_prefix(ancestor)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// Whether two pointers touch the same subtree (one is the other or contains it).
#[must_use]
pub fn overlaps(a: &str, b: &str) -> bool {
    at_or_below(b, a) || at_or_below(a, b)
}

/// The pointer's proper ancestors, root (`""`) first: a user indexed at any of them holds a
/// leaf above the pointer.
#[must_use]
pub fn ancestors(pointer: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut end = 0;
    while let Some(next) = pointer[end..].find('/') {
        out.push(pointer[..end + next].to_owned());
        end += next + 1;
    }
    out
}

/// The proper ancestors of `pointer`, root excluded, that it continues with an array
/// position: where the tenant's value is an array, or an object with a member named like
/// one. A user holding leaves below such a path holds an object there, which replaces the
/// tenant's array, so a change inside the array does not reach that user as a patch.
#[must_use]
pub fn positional_parents(pointer: &str) -> Vec<String> {
    let is_position = |token: &str| {
        token == "-" || (!token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()))
    };
    pointer
        .match_indices('/')
        .map(|(at, _)| at)
        .filter(|&at| at > 0)
        .filter(|&at| is_position(pointer[at + 1..].split('/').next().unwrap_or_default()))
        .map(|at| pointer[..at].to_owned())
        .collect()
}

/// Drops pointers that lie below another one in the set: they can reach no user the
/// shorter one does not.
#[must_use]
pub fn minimal(pointers: BTreeSet<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    // Sorted order puts `/a` before `/a/b` and `/a~1b`; a descendant always follows its
    // ancestor, though not necessarily right after it.
    for pointer in pointers {
        if !out.iter().any(|kept| at_or_below(&pointer, kept)) {
            out.push(pointer);
        }
    }
    out
}

/// The paths `pointers` continue with an array position ([`positional_parents`]), each
/// once and none below another: the paths below which a user is reached for the shape of
/// their layer alone. A patch inside one array has a pointer per element it touches; their
/// common parent is looked up once.
#[must_use]
pub fn array_parents(pointers: &[String]) -> Vec<String> {
    minimal(
        pointers
            .iter()
            .flat_map(|p| positional_parents(p))
            .collect(),
    )
}

/// Whether a lower layer holds a leaf that any of `pointers` reaches: on, above or below
/// it, or below one of their [`array_parents`].
#[must_use]
pub fn layer_reached(layer: &LowerLayer, pointers: &[String]) -> bool {
    let held = layer_pointers(layer);
    held.iter().any(|h| pointers.iter().any(|p| overlaps(h, p)))
        || array_parents(pointers)
            .iter()
            .any(|parent| held.iter().any(|h| below(h, parent)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Layer;
    use serde_json::json;

    fn lower(value: Value) -> LowerLayer {
        LowerLayer::new(Layer::from_value(value).expect("object"))
    }

    #[test]
    fn id_array_leaves_index_at_the_array() {
        let layer = lower(json!({
            "roles": [{"id": "admin", "perms": ["a"]}, {"id": "dev", "perms": ["b"]}],
            "ui": {"theme": "dark", "a/b": 1}
        }));
        let pointers: Vec<String> = layer_pointers(&layer).into_iter().collect();
        assert_eq!(pointers, ["/roles", "/ui/a~1b", "/ui/theme"]);
    }

    #[test]
    fn merge_patches_touch_their_leaves_and_deletions() {
        let config = json!({"ui": {"theme": null, "font": {"size": 3}}, "list": [1], "x": {}});
        let pointers: Vec<String> = merge_patch_pointers(&config).into_iter().collect();
        assert_eq!(pointers, ["/list", "/ui/font/size", "/ui/theme", "/x"]);
    }

    #[test]
    fn overlap_is_by_whole_segments() {
        assert!(overlaps("/a", "/a/b"));
        assert!(overlaps("/a/b", "/a"));
        assert!(overlaps("/a", "/a"));
        assert!(overlaps("", "/anything"));
        assert!(!overlaps("/a", "/ab"));
        assert!(!overlaps("/a/b", "/a/c"));
    }

    #[test]
    fn ancestors_and_minimal_sets() {
        assert_eq!(ancestors("/a/b/c"), ["", "/a", "/a/b"]);
        assert!(ancestors("").is_empty());
        let set: BTreeSet<String> = ["/a", "/a/b", "/ab", "/c/d", "/c"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(minimal(set), ["/a", "/ab", "/c"]);
    }

    #[test]
    fn positional_parents_are_the_paths_a_pointer_indexes_into() {
        assert_eq!(positional_parents("/c/0/id"), ["/c"]);
        assert_eq!(positional_parents("/a/-"), ["/a"]);
        assert_eq!(positional_parents("/a/1/b/22/c"), ["/a", "/a/1/b"]);
        assert!(
            positional_parents("/0/a").is_empty(),
            "the root is always an object"
        );
        assert!(positional_parents("/a/b1/c").is_empty());
        assert!(positional_parents("").is_empty());
        assert!(positional_parents("/a").is_empty());
    }

    #[test]
    fn array_parents_are_looked_up_once() {
        let pointers: Vec<String> = ["/c/0/id", "/c/1", "/c/2/tags/0", "/d/x"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(array_parents(&pointers), ["/c"]);
    }

    #[test]
    fn a_patch_inside_an_array_reaches_users_holding_an_object_there() {
        // The tenant's `c` is an array; a user's object replaces it.
        let patch = json_patch::diff(
            &json!({"c": [{"id": "y", "v": 0}]}),
            &json!({"c": [{"id": "z", "v": 0}]}),
        );
        let pointers = minimal(patch_pointers(&patch));
        assert!(
            pointers.iter().all(|p| p.starts_with("/c/0")),
            "{pointers:?}"
        );
        assert!(layer_reached(&lower(json!({"c": {"c": 0}})), &pointers));
        assert!(!layer_reached(&lower(json!({"cc": {"c": 0}})), &pointers));
        assert!(!layer_reached(&lower(json!({"d": 1})), &pointers));
    }

    #[test]
    fn a_patch_reaches_layers_on_above_or_below_its_paths() {
        let patch = json_patch::diff(&json!({"a": 5}), &json!({"a": {"b": 1}}));
        let pointers = minimal(patch_pointers(&patch));
        assert_eq!(pointers, ["/a"]);
        assert!(layer_reached(&lower(json!({"a": {"c": 1}})), &pointers));
        assert!(!layer_reached(&lower(json!({"ab": 1})), &pointers));
    }
}
