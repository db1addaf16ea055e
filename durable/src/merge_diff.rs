//! The RFC 7396 merge patch that turns one JSON object into another.
//!
//! The engine takes changes as merge patches on a layer; a whole-document `PUT` is turned into
//! one here. Written by hand because `json-patch` only applies merge patches: it is a dozen
//! lines, and a removed key becomes `null`, which RFC 7396 defines as "delete".

use serde_json::{Map, Value};

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
