//! The RFC 7396 merge patch that turns one JSON object into another.
//!
//! The engine takes changes as merge patches on a layer; a whole-document `PUT` is turned into
//! one here. Written by hand because `json-patch` only applies merge patches: it is a dozen
//! lines, and a removed key becomes `null`, which RFC 7396 defines as "delete".

use cascade_protocol::Problem;
use serde_json::{Map, Value};

use crate::internal::LayerChange;

/// The merge patch the engine applies for a layer write, given the layer's current values.
///
/// # Errors
/// A JSON Patch that does not apply to the current layer (a failed `test`, a missing path),
/// or one that would leave the layer something other than an object.
pub fn layer_merge_patch(
    current: &Map<String, Value>,
    change: &LayerChange,
) -> Result<Map<String, Value>, Problem> {
    match change {
        LayerChange::Replace(new) => Ok(merge_diff(current, new)),
        LayerChange::Merge(patch) => Ok(patch.clone()),
        LayerChange::Json(patch) => {
            let mut doc = Value::Object(current.clone());
            json_patch::patch(&mut doc, patch).map_err(|e| {
                Problem::new(
                    422,
                    "CASCADE:Patch:Failed",
                    "Unprocessable Content",
                    format!("the JSON Patch does not apply to the current layer: {e}"),
                )
            })?;
            match doc {
                Value::Object(new) => Ok(merge_diff(current, &new)),
                _ => Err(Problem::new(
                    422,
                    "CASCADE:Config:NotAnObject",
                    "Unprocessable Content",
                    "the JSON Patch would replace the layer with something other than an object",
                )),
            }
        }
    }
}

/// The merge patch from `old` to `new`: changed and added keys with their new values, removed
/// keys as `null`, nested objects recursively. Empty when the two are equal.
pub fn merge_diff(old: &Map<String, Value>, new: &Map<String, Value>) -> Map<String, Value> {
    let mut patch = Map::new();
    for key in old.keys() {
        if !new.contains_key(key) {
            patch.insert(key.clone(), Value::Null);
        }
    }
    for (key, new_value) in new {
        match (old.get(key), new_value) {
            (Some(old_value), _) if old_value == new_value => {}
            (Some(Value::Object(o)), Value::Object(n)) => {
                patch.insert(key.clone(), Value::Object(merge_diff(o, n)));
            }
            _ => {
                patch.insert(key.clone(), new_value.clone());
            }
        }
    }
    patch
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn diff_then_merge_gives_the_new_document() {
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
            let patch = merge_diff(&obj(old.clone()), &obj(new.clone()));
            let mut doc = old.clone();
            json_patch::merge(&mut doc, &Value::Object(patch));
            assert_eq!(doc, new, "from {old}");
        }
    }

    #[test]
    fn equal_documents_give_an_empty_patch() {
        assert!(merge_diff(&obj(json!({"a": {"b": 1}})), &obj(json!({"a": {"b": 1}}))).is_empty());
    }
}
