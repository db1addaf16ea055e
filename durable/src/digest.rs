//! Digests of layers, so the health check can compare a tenant's copy of each platform layer
//! with the platform's without sending the documents.
//!
//! A digest is the SHA-256 of the layer's JSON text, truncated to 128 bits and written in
//! hex. The text is canonical: `serde_json` keeps object keys sorted (no `preserve_order`),
//! so equal documents always give equal digests.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The digest of a layer (see the module docs).
#[must_use]
pub fn layer_digest(layer: &Value) -> String {
    let hash = Sha256::digest(layer.to_string().as_bytes());
    hash.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equal_documents_have_equal_digests_whatever_their_key_order() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": {"y": 2, "x": 3}}"#).expect("json");
        let b: Value = serde_json::from_str(r#"{"a": {"x": 3, "y": 2}, "b": 1}"#).expect("json");
        assert_eq!(layer_digest(&a), layer_digest(&b));
        assert_ne!(layer_digest(&a), layer_digest(&json!({"b": 2})));
        assert_eq!(layer_digest(&a).len(), 32);
    }
}
