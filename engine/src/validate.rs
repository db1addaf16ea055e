//! Size, depth and shape limits on documents and patches.
//!
//! The Worker checks request bodies before they reach a hub; the engine checks again, on
//! every document it is given and every layer it produces, so a hub can never persist an
//! oversized or malformed state whoever called it. Defaults are generous for configuration
//! (a 20 KB effective config is typical) and small enough for a Durable Object's memory and
//! SQLite row size.

use std::io;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::EngineError;

/// Largest serialized document (event config, layer, effective config) and request body, in
/// bytes: 256 KiB (docs/LIMITS.md).
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
/// Deepest nesting of objects and arrays in a document or request body.
pub const MAX_DEPTH: usize = 32;
/// Most operations in one JSON Patch a client submits.
pub const MAX_PATCH_OPS: usize = 1_000;
/// Most events in one change set (`POST /v1/events`, all to one hub).
pub const MAX_BATCH_EVENTS: usize = 100;
/// The largest integer every JSON client reads exactly: 2^53 − 1. Integers in bodies and
/// versions stay within ±this.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Limits on what the engine accepts and produces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    /// Largest serialized document (event config, layer, effective config), in bytes.
    pub max_document_bytes: usize,
    /// Deepest nesting of objects and arrays.
    pub max_depth: usize,
    /// Most operations in one JSON Patch a client submits.
    pub max_patch_ops: usize,
    /// Most events in one change set.
    pub max_batch_events: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_document_bytes: MAX_DOCUMENT_BYTES,
            max_depth: MAX_DEPTH,
            max_patch_ops: MAX_PATCH_OPS,
            max_batch_events: MAX_BATCH_EVENTS,
        }
    }
}

struct Counter(usize);

impl io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Serialized size of a value in bytes, without allocating the text.
#[must_use]
pub fn serialized_len(value: &Value) -> usize {
    let mut counter = Counter(0);
    // Writing a `Value` to an infallible writer cannot fail.
    match serde_json::to_writer(&mut counter, value) {
        Ok(()) | Err(_) => counter.0,
    }
}

/// Checks size and depth of a document.
///
/// # Errors
/// [`EngineError::TooLarge`] or [`EngineError::TooDeep`].
pub fn check_document(what: &str, value: &Value, limits: &Limits) -> Result<(), EngineError> {
    let depth = crate::document::depth(value);
    if depth > limits.max_depth {
        return Err(EngineError::TooDeep {
            what: what.into(),
            depth,
            limit: limits.max_depth,
        });
    }
    let bytes = serialized_len(value);
    if bytes > limits.max_document_bytes {
        return Err(EngineError::TooLarge {
            what: what.into(),
            bytes,
            limit: limits.max_document_bytes,
        });
    }
    Ok(())
}

/// Checks an event's `config` (an RFC 7396 merge patch): an object, within limits, with
/// `null` only as an object member outside arrays (where it deletes).
///
/// # Errors
/// [`EngineError::NotAnObject`], [`EngineError::NullValue`], or a size/depth error.
pub fn check_config(config: &Value, limits: &Limits) -> Result<(), EngineError> {
    if !config.is_object() {
        return Err(EngineError::NotAnObject {
            what: "the event's config".into(),
        });
    }
    check_document("the event's config", config, limits)?;
    check_nulls(config, &mut String::new(), false)
}

/// Checks a value set directly at a path (conflict "set value"): within limits and without
/// `null` anywhere.
///
/// # Errors
/// [`EngineError::NullValue`] or a size/depth error.
pub fn check_value(value: &Value, limits: &Limits) -> Result<(), EngineError> {
    check_document("the value", value, limits)?;
    if value.is_null() {
        return Err(EngineError::NullValue {
            path: String::new(),
        });
    }
    check_nulls(value, &mut String::new(), true)
}

fn check_nulls(value: &Value, path: &mut String, in_array: bool) -> Result<(), EngineError> {
    match value {
        Value::Null if in_array => Err(EngineError::NullValue { path: path.clone() }),
        Value::Object(map) => {
            for (key, child) in map {
                let len = path.len();
                path.push('/');
                path.push_str(&key.replace('~', "~0").replace('/', "~1"));
                check_nulls(child, path, in_array)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                let len = path.len();
                path.push('/');
                path.push_str(&index.to_string());
                check_nulls(child, path, true)?;
                path.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Checks a JSON Patch a client submits: operation count, and each operation's value
/// within limits. (Pointer syntax is checked when the patch is deserialized.)
///
/// # Errors
/// [`EngineError::PatchTooLarge`] or a size/depth error.
pub fn check_patch(patch: &json_patch::Patch, limits: &Limits) -> Result<(), EngineError> {
    if patch.0.len() > limits.max_patch_ops {
        return Err(EngineError::PatchTooLarge {
            ops: patch.0.len(),
            limit: limits.max_patch_ops,
        });
    }
    for op in &patch.0 {
        let value = match op {
            json_patch::PatchOperation::Add(op) => &op.value,
            json_patch::PatchOperation::Replace(op) => &op.value,
            json_patch::PatchOperation::Test(op) => &op.value,
            _ => continue,
        };
        check_document("a patch operation's value", value, limits)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn code<T>(result: Result<T, EngineError>) -> Option<&'static str> {
        result.err().map(|e| e.code())
    }

    #[test]
    fn config_validation_table() {
        let limits = Limits {
            max_document_bytes: 64,
            max_depth: 3,
            ..Limits::default()
        };
        // (config, expected error code)
        let table = [
            (json!({"a": 1}), None),
            (json!({"a": null}), None),
            (json!({"a": {"b": null}}), None),
            (json!([1]), Some("CASCADE:Validation:NotAnObject")),
            (
                json!({"a": [1, null]}),
                Some("CASCADE:Validation:NullValue"),
            ),
            (
                json!({"a": [{"id": 1, "x": null}]}),
                Some("CASCADE:Validation:NullValue"),
            ),
            (
                json!({"a": {"b": {"c": {"d": 1}}}}),
                Some("CASCADE:Validation:TooDeep"),
            ),
            (
                json!({"a": "x".repeat(80)}),
                Some("CASCADE:Validation:TooLarge"),
            ),
        ];
        for (config, expected) in table {
            assert_eq!(code(check_config(&config, &limits)), expected, "{config}");
        }
    }

    #[test]
    fn null_path_is_reported() {
        let err = check_config(&json!({"a": [0, {"b": null}]}), &Limits::default())
            .expect_err("null in array");
        assert_eq!(
            err,
            EngineError::NullValue {
                path: "/a/1/b".into()
            }
        );
        assert!(check_value(&json!(null), &Limits::default()).is_err());
        assert!(check_value(&json!({"x": null}), &Limits::default()).is_err());
    }

    #[test]
    fn patches_are_bounded() {
        let patch: json_patch::Patch = serde_json::from_value(json!([
            {"op": "add", "path": "/a", "value": 1},
            {"op": "remove", "path": "/b"}
        ]))
        .expect("valid patch");
        let tight = Limits {
            max_patch_ops: 1,
            ..Limits::default()
        };
        assert_eq!(
            code(check_patch(&patch, &tight)),
            Some("CASCADE:Validation:PatchTooLarge")
        );
        assert_eq!(code(check_patch(&patch, &Limits::default())), None);
        assert!(serde_json::from_value::<json_patch::Patch>(
            json!([{"op": "add", "path": "nope", "value": 1}])
        )
        .is_err());
    }

    #[test]
    fn serialized_len_matches_text() {
        let value = json!({"a": [1, "two", {"three": 3.5}]});
        assert_eq!(
            serialized_len(&value),
            serde_json::to_string(&value).expect("serializes").len()
        );
    }
}
