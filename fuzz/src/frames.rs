//! Target `frames`: the wire frames parsed from arbitrary bytes.
//!
//! Invariants: parsing a `ServerFrame`, a `ClientFrame` or a `StoredDocument` never panics;
//! a frame that parses serializes, and the text parses back to the same frame (what a hub
//! sends is what a client reads); a change frame carries its change.

use cascade_protocol::{ClientFrame, ServerFrame, StoredDocument};

/// Runs the target on one input.
pub fn run(data: &[u8]) {
    if let Ok(frame) = serde_json::from_slice::<ServerFrame>(data) {
        let text = serde_json::to_string(&frame).expect("a server frame serializes");
        let back: ServerFrame = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("a server frame does not read back: {e}\n{text}"));
        assert_eq!(back, frame, "a server frame changes through JSON: {text}");
        if let Some(change) = frame.change() {
            let wrapped = ServerFrame::for_change(change.clone());
            assert_eq!(wrapped.change(), Some(change));
        }
    }
    if let Ok(frame) = serde_json::from_slice::<ClientFrame>(data) {
        let text = serde_json::to_string(&frame).expect("a client frame serializes");
        let back: ClientFrame = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("a client frame does not read back: {e}\n{text}"));
        assert_eq!(back, frame, "a client frame changes through JSON: {text}");
    }
    if let Ok(doc) = serde_json::from_slice::<StoredDocument>(data) {
        let text = serde_json::to_string(&doc).expect("a document serializes");
        let back: StoredDocument = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("a document does not read back: {e}\n{text}"));
        assert_eq!(back, doc, "a stored document changes through JSON: {text}");
    }
}
