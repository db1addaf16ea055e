//! Reading client input under limits: path names, JSON bodies (size, depth, shape).
//!
//! Limits protect the hubs: a document is stored whole and sent to every client, so an
//! unbounded one would cost every connected socket.

use cascade_engine::validate;
use cascade_protocol::is_valid_name;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use worker::Request;

use crate::problem::ApiError;

/// Largest request body accepted, in bytes: the engine's document limit, so a body the
/// Worker takes is one the engine takes.
pub const MAX_BODY_BYTES: usize = validate::MAX_DOCUMENT_BYTES;

/// Deepest JSON nesting accepted (objects and arrays): the engine's.
pub const MAX_JSON_DEPTH: usize = validate::MAX_DEPTH;

/// The largest integer magnitude every JSON client represents exactly (JavaScript's
/// `Number.MAX_SAFE_INTEGER`, 2^53 − 1). Larger integers would come back rounded.
pub const MAX_SAFE_INTEGER: u64 = validate::MAX_SAFE_INTEGER;

/// Checks a path parameter against the identifier rule shared by tenants, users and
/// namespaces.
pub fn name(what: &'static str, value: &str) -> Result<String, ApiError> {
    if is_valid_name(value) {
        Ok(value.to_owned())
    } else {
        Err(ApiError::InvalidName {
            what,
            value: value.chars().take(80).collect(),
        })
    }
}

/// Checks a namespace name by the engine's own rule (stricter than [`name`]: it must start
/// with a letter), so a bad name is refused here as a malformed request (400) on every
/// endpoint, reads included, instead of reaching a hub.
pub fn namespace(what: &'static str, value: &str) -> Result<String, ApiError> {
    cascade_engine::scope::Namespace::new(value)
        .map(|n| n.as_str().to_owned())
        .map_err(|e| match e {
            cascade_engine::EngineError::InvalidNamespace { reason, .. } => {
                ApiError::InvalidNamespace {
                    what,
                    value: value.chars().take(80).collect(),
                    reason,
                }
            }
            other => ApiError::Internal(other.to_string()),
        })
}

/// Reads the body as JSON of type `T` after checking its size and nesting depth.
pub async fn json_body<T: DeserializeOwned>(req: &mut Request) -> Result<T, ApiError> {
    let bytes = req
        .bytes()
        .await
        .map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    parse_json(&bytes)
}

/// Parses `bytes` as JSON of type `T` under the size and depth limits.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::BodyTooLarge {
            size: bytes.len(),
            limit: MAX_BODY_BYTES,
        });
    }
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    // The engine's own measure, so the Worker and the hubs agree on what "too deep" is.
    let depth = cascade_engine::document::depth(&value);
    if depth > MAX_JSON_DEPTH {
        return Err(ApiError::TooDeep {
            depth,
            limit: MAX_JSON_DEPTH,
        });
    }
    if let Some(pointer) = inexact_integer(&value) {
        return Err(ApiError::InexactInteger { pointer });
    }
    serde_json::from_value(value).map_err(|e| ApiError::MalformedJson(e.to_string()))
}

/// The JSON Pointer of the first number in `value` that is an integer outside
/// ±[`MAX_SAFE_INTEGER`] (every finite double that large is an integer), if any.
pub fn inexact_integer(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => {
            let exact = if let Some(u) = n.as_u64() {
                u <= MAX_SAFE_INTEGER
            } else if let Some(i) = n.as_i64() {
                i.unsigned_abs() <= MAX_SAFE_INTEGER
            } else {
                n.as_f64()
                    .is_some_and(|f| f.abs() <= MAX_SAFE_INTEGER as f64)
            };
            (!exact).then(String::new)
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| inexact_integer(item).map(|rest| format!("/{i}{rest}"))),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            inexact_integer(item).map(|rest| {
                let escaped = key.replace('~', "~0").replace('/', "~1");
                format!("/{escaped}{rest}")
            })
        }),
        Value::Null | Value::Bool(_) | Value::String(_) => None,
    }
}

/// Takes a configuration document out of a value, refusing anything but an object.
pub fn config_object(value: Value) -> Result<Map<String, Value>, ApiError> {
    match value {
        Value::Object(map) => Ok(map),
        Value::Array(_) => Err(ApiError::NotAnObject("an array")),
        Value::String(_) => Err(ApiError::NotAnObject("a string")),
        Value::Number(_) => Err(ApiError::NotAnObject("a number")),
        Value::Bool(_) => Err(ApiError::NotAnObject("a boolean")),
        Value::Null => Err(ApiError::NotAnObject("null")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the fuzz pass: "0" passed the generic name rule, then a hub refused it with
    /// an undocumented 422. Namespaces are now checked by the engine's rule up front.
    #[test]
    fn namespaces_follow_the_engine_rule() {
        assert_eq!(namespace("namespace", "auth").ok().as_deref(), Some("auth"));
        assert!(name("namespace", "0").is_ok(), "a valid generic name...");
        assert!(
            matches!(
                namespace("namespace", "0"),
                Err(ApiError::InvalidNamespace { .. })
            ),
            "...is not a valid namespace"
        );
    }
    use serde_json::json;

    #[test]
    fn integers_beyond_the_exact_range_are_refused_with_their_pointer() {
        let refused = |body: &str| match parse_json::<Value>(body.as_bytes()) {
            Err(ApiError::InexactInteger { pointer }) => Some(pointer),
            _ => None,
        };
        assert_eq!(refused(r#"{"a": 9007199254740991}"#), None);
        assert_eq!(refused(r#"{"a": -9007199254740991, "b": 1.5}"#), None);
        assert_eq!(
            refused(r#"{"a": {"b": [1, 9007199254740993]}}"#).as_deref(),
            Some("/a/b/1")
        );
        assert_eq!(
            refused(r#"{"a/b~": -9007199254740992}"#).as_deref(),
            Some("/a~1b~0")
        );
        assert_eq!(
            refused(r#"{"x": 9007199254740993.0}"#).as_deref(),
            Some("/x")
        );
        assert_eq!(refused("[1e300]").as_deref(), Some("/0"));
        assert_eq!(refused("18446744073709551616").as_deref(), Some(""));
    }

    #[test]
    fn parse_refuses_oversized_deep_and_malformed_bodies() {
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert!(matches!(
            parse_json::<Value>(&big),
            Err(ApiError::BodyTooLarge { .. })
        ));

        let deep = "[".repeat(MAX_JSON_DEPTH + 1) + &"]".repeat(MAX_JSON_DEPTH + 1);
        assert!(matches!(
            parse_json::<Value>(deep.as_bytes()),
            Err(ApiError::TooDeep { depth: 33, .. })
        ));

        let ok = "[".repeat(MAX_JSON_DEPTH) + &"]".repeat(MAX_JSON_DEPTH);
        assert!(parse_json::<Value>(ok.as_bytes()).is_ok());

        assert!(matches!(
            parse_json::<Value>(b"{\"a\":"),
            Err(ApiError::MalformedJson(_))
        ));
    }

    #[test]
    fn only_objects_are_configuration_documents() {
        assert!(config_object(json!({"a": 1})).is_ok());
        assert!(matches!(
            config_object(json!([1])),
            Err(ApiError::NotAnObject("an array"))
        ));
        assert!(matches!(
            config_object(json!(null)),
            Err(ApiError::NotAnObject("null"))
        ));
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(name("tenant", "acme").ok().as_deref(), Some("acme"));
        assert!(matches!(
            name("tenant", "../x"),
            Err(ApiError::InvalidName { what: "tenant", .. })
        ));
    }
}
