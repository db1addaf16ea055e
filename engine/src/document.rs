//! JSON documents as the engine sees them: layers, the overlay that resolves them, leaves,
//! and the RFC 7396 merge patches events carry.
//!
//! Invariants of a stored [`Layer`]: it is a JSON object; it holds no `null` member values
//! (in an event's `config`, `null` deletes, as in RFC 7396); it holds no empty objects
//! (writing `{}` sets nothing); id arrays hold distinct ids.
//!
//! **Id arrays.** An array is an *id array* when it is non-empty and every element is an
//! object whose `id` is a string or a number, all distinct (compared by their text, so `1`
//! and `"1"` are the same id). Id arrays merge element by element; every other array is a
//! leaf, replaced whole by a lower layer.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::EngineError;
use crate::path::{LeafPath, Seg};
use crate::scope::Scope;

/// What one scope sets in one namespace: only its own values, never a copy of the layers
/// above. Always a JSON object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Value", into = "Value")]
pub struct Layer(Value);

impl Default for Layer {
    fn default() -> Self {
        Self(Value::Object(Map::new()))
    }
}

impl Layer {
    /// An empty layer (`{}`): the scope sets nothing.
    #[must_use]
    pub fn empty() -> Self {
        Self::default()
    }

    /// Wraps a JSON object, normalizing it (empty objects pruned).
    ///
    /// # Errors
    /// [`EngineError::NotAnObject`] when `value` is not an object.
    pub fn from_value(mut value: Value) -> Result<Self, EngineError> {
        if !value.is_object() {
            return Err(EngineError::NotAnObject {
                what: "a layer".into(),
            });
        }
        prune_empty(&mut value);
        Ok(Self(value))
    }

    /// The layer as a JSON value (always an object).
    #[must_use]
    pub fn as_value(&self) -> &Value {
        &self.0
    }

    /// Whether the layer sets nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.as_object().is_none_or(Map::is_empty)
    }

    /// Applies an RFC 7396 merge patch (an event's `config`) and normalizes the result.
    pub(crate) fn merge(&mut self, patch: &Value) {
        json_patch::merge(&mut self.0, patch);
        prune_empty(&mut self.0);
    }

    /// Removes the value at `path`, pruning containers it leaves empty. Returns it.
    pub(crate) fn remove(&mut self, path: &LeafPath) -> Option<Value> {
        remove_at(&mut self.0, &path.0)
    }

    /// Sets `value` at `path`, creating objects and id-array elements on the way.
    pub(crate) fn set(&mut self, path: &LeafPath, value: Value) {
        set_at(&mut self.0, &path.0, value);
        prune_empty(&mut self.0);
    }
}

impl TryFrom<Value> for Layer {
    type Error = EngineError;

    fn try_from(value: Value) -> Result<Self, Self::Error> {
        Self::from_value(value)
    }
}

impl From<Layer> for Value {
    fn from(value: Layer) -> Self {
        value.0
    }
}

/// The text of an element id, if `element` is an object with a string or number `id`.
#[must_use]
pub fn id_text(element: &Value) -> Option<String> {
    match element.as_object()?.get("id")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// An element's `id` without allocating, if it is a string or a number.
pub(crate) fn id_of(element: &Value) -> Option<&Value> {
    element
        .as_object()?
        .get("id")
        .filter(|id| id.is_string() || id.is_number())
}

/// Whether two ids are the same id (compared by text: `1` and `"1"` are equal).
pub(crate) fn same_id(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => x == y,
        (Value::String(s), Value::Number(n)) | (Value::Number(n), Value::String(s)) => {
            n.to_string() == *s
        }
        _ => false,
    }
}

fn id_matches(element: &Value, id: &str) -> bool {
    match id_of(element) {
        Some(Value::String(s)) => s == id,
        Some(Value::Number(n)) => n.to_string() == id,
        _ => false,
    }
}

/// Whether `items` is an id array (see the module docs).
#[must_use]
pub fn is_id_array(items: &[Value]) -> bool {
    if items.is_empty() {
        return false;
    }
    for (index, item) in items.iter().enumerate() {
        let Some(id) = id_of(item) else {
            return false;
        };
        if items[..index]
            .iter()
            .any(|earlier| id_of(earlier).is_some_and(|e| same_id(e, id)))
        {
            return false;
        }
    }
    true
}

/// Overlays `lower` on `upper`: objects merge per key, id arrays merge per id (upper's
/// elements in upper's order, then lower-only elements in lower's order), anything else
/// comes from `lower`.
#[must_use]
pub fn overlay(upper: &Value, lower: &Value) -> Value {
    let mut out = upper.clone();
    overlay_into(&mut out, lower);
    out
}

/// [`overlay`] in place: `target` (the upper document) receives `lower`.
pub fn overlay_into(target: &mut Value, lower: &Value) {
    overlay_traced(target, lower, &mut ());
}

/// What the overlay tells an observer as it walks, so that one walk serves both plain
/// resolution and resolution with origins ([`crate::origin`]). Positions are those of the
/// result: an object member by key, an id-array element by index. `()` observes nothing;
/// the plain overlay uses it, and its calls compile away.
pub(crate) trait OverlayTrace {
    /// Resolution starts overlaying the layer of `scope` (for the first layer: takes it as
    /// the whole document, then [`OverlayTrace::took`] at the root).
    fn layer(&mut self, scope: Scope);
    /// The walk steps into the member `key` of the current object.
    fn enter_key(&mut self, key: &str);
    /// The walk steps into the element at `index` of the current id array.
    fn enter_index(&mut self, index: usize);
    /// The walk steps back out of the last member or element it entered.
    fn leave(&mut self);
    /// The value at the current position, with everything under it, now comes from the
    /// layer being overlaid.
    fn took(&mut self);
}

impl OverlayTrace for () {
    fn layer(&mut self, _: Scope) {}
    fn enter_key(&mut self, _: &str) {}
    fn enter_index(&mut self, _: usize) {}
    fn leave(&mut self) {}
    fn took(&mut self) {}
}

/// The one overlay: [`overlay_into`], telling `trace` where `lower`'s values land.
pub(crate) fn overlay_traced<T: OverlayTrace>(target: &mut Value, lower: &Value, trace: &mut T) {
    match (&mut *target, lower) {
        (Value::Object(up), Value::Object(low)) => {
            for (key, low_value) in low {
                trace.enter_key(key);
                match up.get_mut(key) {
                    Some(up_value) => overlay_traced(up_value, low_value, trace),
                    None => {
                        up.insert(key.clone(), low_value.clone());
                        trace.took();
                    }
                }
                trace.leave();
            }
        }
        (Value::Array(up), Value::Array(low)) if is_id_array(up) && is_id_array(low) => {
            for low_item in low {
                let Some(id) = id_of(low_item) else { continue };
                let existing = up
                    .iter()
                    .position(|u| id_of(u).is_some_and(|uid| same_id(uid, id)));
                match existing {
                    Some(index) => {
                        trace.enter_index(index);
                        overlay_traced(&mut up[index], low_item, trace);
                    }
                    None => {
                        trace.enter_index(up.len());
                        up.push(low_item.clone());
                        trace.took();
                    }
                }
                trace.leave();
            }
        }
        _ => {
            *target = lower.clone();
            trace.took();
        }
    }
}

/// The value at `path` in `doc`, if any.
#[must_use]
pub fn get<'a>(doc: &'a Value, path: &LeafPath) -> Option<&'a Value> {
    let mut node = doc;
    for seg in &path.0 {
        node = child(node, seg)?;
    }
    Some(node)
}

fn child<'a>(node: &'a Value, seg: &Seg) -> Option<&'a Value> {
    match (node, seg) {
        (Value::Object(map), Seg::Key(key)) => map.get(key),
        (Value::Array(items), Seg::Id(id)) if is_id_array(items) => {
            items.iter().find(|item| id_matches(item, id))
        }
        _ => None,
    }
}

fn child_mut<'a>(node: &'a mut Value, seg: &Seg) -> Option<&'a mut Value> {
    match (node, seg) {
        (Value::Object(map), Seg::Key(key)) => map.get_mut(key),
        (Value::Array(items), Seg::Id(id)) if is_id_array(items) => {
            items.iter_mut().find(|item| id_matches(item, id))
        }
        _ => None,
    }
}

/// The leaves of `doc` with their paths, in document order.
///
/// Objects and id arrays are descended into; an id-array element contributes its members
/// other than `id` (or, when `id` is all it has, its `id` leaf, so the element is not lost);
/// every other value is a leaf. An empty object has no leaves (a layer sets nothing there).
#[must_use]
pub fn leaves(doc: &Value) -> Vec<(LeafPath, &Value)> {
    let mut out = Vec::new();
    let mut path = Vec::new();
    collect_leaves(doc, &mut path, &mut out);
    out
}

fn collect_leaves<'a>(node: &'a Value, path: &mut Vec<Seg>, out: &mut Vec<(LeafPath, &'a Value)>) {
    match node {
        Value::Object(map) => {
            for (key, value) in map {
                path.push(Seg::Key(key.clone()));
                collect_leaves(value, path, out);
                path.pop();
            }
        }
        Value::Array(items) if is_id_array(items) => {
            for item in items {
                let id = id_text(item).unwrap_or_default();
                path.push(Seg::Id(id));
                if let Some(map) = item.as_object() {
                    if map.len() == 1 {
                        path.push(Seg::Key("id".into()));
                        out.push((LeafPath(path.clone()), &map["id"]));
                        path.pop();
                    } else {
                        for (key, value) in map.iter().filter(|(k, _)| k.as_str() != "id") {
                            path.push(Seg::Key(key.clone()));
                            collect_leaves(value, path, out);
                            path.pop();
                        }
                    }
                }
                path.pop();
            }
        }
        _ => out.push((LeafPath(path.clone()), node)),
    }
}

fn is_empty_container(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// An id-array element that holds nothing but its `id`.
fn is_bare_element(value: &Value) -> bool {
    value
        .as_object()
        .is_some_and(|m| m.len() == 1 && m.contains_key("id"))
}

fn take_child(node: &mut Value, seg: &Seg) -> Option<Value> {
    match (node, seg) {
        (Value::Object(map), Seg::Key(key)) => map.remove(key),
        (Value::Array(items), Seg::Id(id)) if is_id_array(items) => {
            let index = items.iter().position(|item| id_matches(item, id))?;
            Some(items.remove(index))
        }
        _ => None,
    }
}

fn remove_at(node: &mut Value, segs: &[Seg]) -> Option<Value> {
    let (first, rest) = segs.split_first()?;
    if rest.is_empty() {
        return take_child(node, first);
    }
    // Removing the `id` of an element removes the element: it cannot exist without it.
    if let (Seg::Id(_), [Seg::Key(key)]) = (first, rest) {
        if key == "id" {
            let element = take_child(node, first)?;
            return element.get("id").cloned();
        }
    }
    let inner = child_mut(node, first)?;
    let removed = remove_at(inner, rest)?;
    let drop_child =
        is_empty_container(inner) || (matches!(first, Seg::Id(_)) && is_bare_element(inner));
    if drop_child {
        take_child(node, first);
    }
    Some(removed)
}

fn id_value(id: &str) -> Value {
    match serde_json::from_str::<serde_json::Number>(id) {
        Ok(n) if n.to_string() == id => Value::Number(n),
        _ => Value::String(id.to_owned()),
    }
}

fn set_at(node: &mut Value, segs: &[Seg], value: Value) {
    let Some((first, rest)) = segs.split_first() else {
        *node = value;
        return;
    };
    let slot = match first {
        Seg::Key(key) => {
            if !node.is_object() {
                *node = Value::Object(Map::new());
            }
            let Value::Object(map) = node else { return };
            map.entry(key.clone()).or_insert(Value::Null)
        }
        Seg::Id(id) => {
            let usable =
                matches!(node, Value::Array(items) if items.is_empty() || is_id_array(items));
            if !usable {
                *node = Value::Array(Vec::new());
            }
            let Value::Array(items) = node else { return };
            let index = match items.iter().position(|item| id_matches(item, id)) {
                Some(index) => index,
                None => {
                    let mut element = Map::new();
                    element.insert("id".into(), id_value(id));
                    items.push(Value::Object(element));
                    items.len() - 1
                }
            };
            &mut items[index]
        }
    };
    set_at(slot, rest, value);
}

/// Removes empty objects below the root, recursively (a layer never stores `{}`): object
/// members, inside objects at any depth of arrays (arrays of arrays included; the fuzzers
/// found `[[{"x": {}}]]` kept as written while `[{"x": {}}]` was pruned). An array element
/// that is itself `{}` stays: removing it would change the array's length.
pub(crate) fn prune_empty(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for child in map.values_mut() {
                prune_empty(child);
            }
            map.retain(|_, child| !matches!(child, Value::Object(m) if m.is_empty()));
        }
        Value::Array(items) => items.iter_mut().for_each(prune_empty),
        _ => {}
    }
}

/// The RFC 7396 merge patch that turns `old` into `new` (both null-free objects).
#[must_use]
pub fn merge_diff(old: &Value, new: &Value) -> Value {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => Value::Object(merge_diff_objects(o, n)),
        _ => new.clone(),
    }
}

/// [`merge_diff`] of two objects: changed and added keys with their new values, removed keys
/// as `null`, nested objects recursively; empty when the two are equal. (Written by hand:
/// `json-patch` applies merge patches but does not make them.)
#[must_use]
pub fn merge_diff_objects(
    old: &Map<String, Value>,
    new: &Map<String, Value>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, old_value) in old {
        match new.get(key) {
            None => {
                out.insert(key.clone(), Value::Null);
            }
            Some(new_value) if new_value != old_value => {
                let inner = match (old_value, new_value) {
                    (Value::Object(o), Value::Object(n)) => Value::Object(merge_diff_objects(o, n)),
                    _ => new_value.clone(),
                };
                out.insert(key.clone(), inner);
            }
            Some(_) => {}
        }
    }
    for (key, new_value) in new {
        if !old.contains_key(key) {
            out.insert(key.clone(), new_value.clone());
        }
    }
    out
}

/// Nesting depth of a value: scalars 0, `{}`/`[]` 1, each level of containers one more.
#[must_use]
pub fn depth(value: &Value) -> usize {
    match value {
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(text: &str) -> LeafPath {
        LeafPath::parse(text).expect("valid path")
    }

    #[test]
    fn overlay_table() {
        // (upper, lower, expected)
        let table = [
            (
                json!({"a": 1, "b": 2}),
                json!({"b": 3}),
                json!({"a": 1, "b": 3}),
            ),
            (
                json!({"o": {"x": 1, "y": 2}}),
                json!({"o": {"y": 9}}),
                json!({"o": {"x": 1, "y": 9}}),
            ),
            (
                json!({"list": [1, 2]}),
                json!({"list": [3]}),
                json!({"list": [3]}),
            ),
            (
                json!({"roles": [{"id": "a", "n": 1}, {"id": "b", "n": 2}]}),
                json!({"roles": [{"id": "b", "n": 20}, {"id": "c", "n": 3}]}),
                json!({"roles": [{"id": "a", "n": 1}, {"id": "b", "n": 20}, {"id": "c", "n": 3}]}),
            ),
            // An empty array is a leaf: a lower layer can clear a list.
            (
                json!({"roles": [{"id": "a"}]}),
                json!({"roles": []}),
                json!({"roles": []}),
            ),
            // A scalar below replaces an object above.
            (
                json!({"o": {"x": 1}}),
                json!({"o": false}),
                json!({"o": false}),
            ),
            // Numeric and string ids are the same id.
            (
                json!({"r": [{"id": 1, "n": 1}]}),
                json!({"r": [{"id": "1", "n": 2}]}),
                json!({"r": [{"id": "1", "n": 2}]}),
            ),
        ];
        for (upper, lower, expected) in table {
            assert_eq!(overlay(&upper, &lower), expected, "{upper} <- {lower}");
        }
    }

    #[test]
    fn id_arrays_need_distinct_ids_on_objects() {
        assert!(is_id_array(&[json!({"id": "a"}), json!({"id": 2})]));
        assert!(!is_id_array(&[]));
        assert!(!is_id_array(&[json!({"id": "a"}), json!({"id": "a"})]));
        assert!(!is_id_array(&[json!({"id": "a"}), json!(3)]));
        assert!(!is_id_array(&[json!({"name": "a"})]));
        assert!(!is_id_array(&[json!({"id": null})]));
    }

    #[test]
    fn leaves_walk_objects_and_id_arrays() {
        let doc = json!({"a": {"b": 1, "c": [1, 2]}, "r": [{"id": "x", "n": 1}, {"id": "y"}]});
        let got: Vec<(String, Value)> = leaves(&doc)
            .into_iter()
            .map(|(path, value)| (path.to_string(), value.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("/a/b".to_string(), json!(1)),
                ("/a/c".to_string(), json!([1, 2])),
                ("/r/[x]/n".to_string(), json!(1)),
                ("/r/[y]/id".to_string(), json!("y")),
            ]
        );
        for (path, value) in leaves(&doc) {
            assert_eq!(get(&doc, &path), Some(value));
        }
    }

    #[test]
    fn remove_prunes_what_it_empties() {
        let mut layer = Layer::from_value(
            json!({"sso": {"enforced": true}, "r": [{"id": "x", "n": 1}], "k": 1}),
        )
        .expect("object");
        assert_eq!(layer.remove(&p("/sso/enforced")), Some(json!(true)));
        assert_eq!(layer.remove(&p("/r/[x]/n")), Some(json!(1)));
        assert_eq!(layer.as_value(), &json!({"k": 1}));
        assert_eq!(layer.remove(&p("/missing")), None);
    }

    #[test]
    fn set_creates_the_way() {
        let mut layer = Layer::empty();
        layer.set(&p("/r/[7]/n"), json!(1));
        layer.set(&p("/a/b"), json!("x"));
        assert_eq!(
            layer.as_value(),
            &json!({"r": [{"id": 7, "n": 1}], "a": {"b": "x"}})
        );
    }

    #[test]
    fn merge_patch_deletes_with_null_and_prunes() {
        let mut layer = Layer::from_value(json!({"a": {"b": 1}, "c": 2})).expect("object");
        layer.merge(&json!({"a": {"b": null}, "d": {}}));
        assert_eq!(layer.as_value(), &json!({"c": 2}));
    }

    #[test]
    fn merge_diff_inverts_merge() {
        let old = json!({"a": {"b": 1, "c": 2}, "d": [1], "e": "x"});
        let new = json!({"a": {"b": 1, "c": 3, "z": true}, "d": [2], "f": 1});
        let diff = merge_diff(&old, &new);
        let mut layer = Layer::from_value(old).expect("object");
        layer.merge(&diff);
        assert_eq!(layer.as_value(), &new);
    }

    #[test]
    fn a_merge_diff_applied_as_a_merge_patch_gives_the_new_document() {
        let cases = [
            (json!({}), json!({"a": 1})),
            (json!({"a": 1, "b": 2}), json!({"a": 1})),
            (
                json!({"a": {"x": 1, "y": 2}}),
                json!({"a": {"x": 1, "z": 3}}),
            ),
            (json!({"a": [1, 2]}), json!({"a": [2]})),
            (json!({"a": {"x": 1}}), json!({"a": 5})),
            (json!({"a": 1}), json!({"a": 1})),
        ];
        for (old, new) in cases {
            let patch = merge_diff(&old, &new);
            let mut doc = old.clone();
            json_patch::merge(&mut doc, &patch);
            assert_eq!(doc, new, "from {old}");
        }
        assert_eq!(
            merge_diff(&json!({"a": {"b": 1}}), &json!({"a": {"b": 1}})),
            json!({}),
            "equal documents give an empty patch"
        );
    }

    #[test]
    fn depth_counts_containers() {
        assert_eq!(depth(&json!(1)), 0);
        assert_eq!(depth(&json!({})), 1);
        assert_eq!(depth(&json!({"a": [{"b": 1}]})), 3);
    }

    /// Found by the `platform_update` fuzz target: an empty object inside an array of arrays
    /// was stored as written, breaking "a layer holds no empty objects".
    #[test]
    fn empty_objects_are_pruned_in_nested_arrays_too() {
        let layer = Layer::from_value(json!({
            "a": [{"id": 1, "x": {}}],
            "b": [[{"id": 1, "~1": {}}], [[{"y": {"z": {}}}]]],
            "c": [{}]
        }))
        .expect("object");
        assert_eq!(
            layer.as_value(),
            &json!({"a": [{"id": 1}], "b": [[{"id": 1}], [[{}]]], "c": [{}]})
        );
        let mut merged = Layer::empty();
        merged.merge(&json!({"sso": [[{"id": 1, "~1": {}}]]}));
        assert_eq!(merged.as_value(), &json!({"sso": [[{"id": 1}]]}));
    }
}
