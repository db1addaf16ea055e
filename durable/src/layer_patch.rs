//! A layer write as the RFC 7396 merge patch the engine applies.
//!
//! The engine takes changes as merge patches on a layer. A whole-document `PUT` and an RFC 6902
//! JSON Patch are turned into one here, with the engine's own diff
//! ([`cascade_engine::document::merge_diff_objects`]: a removed key becomes `null`, which
//! RFC 7396 defines as "delete").

use cascade_engine::document::merge_diff_objects as merge_diff;
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
