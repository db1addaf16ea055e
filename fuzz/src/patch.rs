//! Target `patch`: RFC 6902 JSON Patch and RFC 7396 merge patch, parsed and applied the way
//! Cascade uses them.
//!
//! * Raw bytes as `[document, patch]`: the patch parses or is refused; [`check_patch`] and
//!   [`cascade_engine::patch::apply`] do not panic, and a patch that fails changes nothing
//!   (all or nothing); a merge patch applies to anything.
//! * Generated documents: the RFC 6902 `diff` from old to new, applied to old, gives new
//!   (the deltas hubs broadcast); the engine's `merge_diff` from old to new, merged into
//!   old, gives new (platform rollback).
//! * A `PATCH` with `application/json-patch+json` as the hubs run it: the JSON Patch applied
//!   to the current layer, turned into a merge patch with `merge_diff`, sent to the engine
//!   as a tenant change: the tenant layer becomes the patched document (normalized: no
//!   `null` members, no empty objects), or the change is refused as a whole.

use arbitrary::{Result, Unstructured};
use cascade_engine::apply::apply_changes;
use cascade_engine::commit::Context;
use cascade_engine::document::{merge_diff, Layer};
use cascade_engine::event::ChangeEvent;
use cascade_engine::patch::{apply, diff};
use cascade_engine::scope::{Namespace, Scope, TenantContext};
use cascade_engine::state::{LowerLayer, NamespaceState, TenantState};
use cascade_engine::validate::{check_patch, Limits};
use serde_json::{json, Map, Value};

use crate::gen;

fn raw(data: &[u8]) {
    let Ok(Value::Array(pair)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let [doc, patch_value] = pair.as_slice() else {
        return;
    };
    let mut merged = doc.clone();
    json_patch::merge(&mut merged, patch_value);
    let Ok(patch) = serde_json::from_value::<json_patch::Patch>(patch_value.clone()) else {
        return;
    };
    let _ = check_patch(&patch, &Limits::default());
    let mut target = doc.clone();
    if apply(&mut target, &patch).is_err() {
        assert_eq!(&target, doc, "a failed JSON Patch changed the document");
    }
    let text = serde_json::to_string(&patch).expect("a patch serializes");
    let back: json_patch::Patch = serde_json::from_str(&text).expect("a patch reads back");
    assert_eq!(back, patch, "a JSON Patch changes through JSON");
}

/// `document` without `null` members and empty objects, as a layer stores it.
fn normalize(mut value: Value) -> Value {
    fn strip(value: &mut Value) {
        if let Value::Object(map) = value {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip);
        }
    }
    strip(&mut value);
    Layer::from_value(value).map_or(Value::Null, Value::from)
}

fn pointer(u: &mut Unstructured<'_>) -> Result<String> {
    let n = u.int_in_range(0..=3)?;
    let mut out = String::new();
    for _ in 0..n {
        let seg = gen::word(u, &["a", "b", "c", "id", "roles", "0", "1", "-", "~1", ""])?;
        out.push('/');
        out.push_str(&seg.replace('~', "~0").replace('/', "~1"));
    }
    Ok(out)
}

fn json_patch_ops(u: &mut Unstructured<'_>) -> Result<Value> {
    let n = u.int_in_range(1..=4)?;
    let mut ops = Vec::with_capacity(n);
    for _ in 0..n {
        let op = *u.choose(&["add", "remove", "replace", "move", "copy", "test"])?;
        let mut o = Map::new();
        o.insert("op".into(), Value::from(op));
        o.insert("path".into(), Value::from(pointer(u)?));
        match op {
            "move" | "copy" => {
                o.insert("from".into(), Value::from(pointer(u)?));
            }
            "remove" => {}
            _ => {
                let nulls = u.ratio(1, 8)?;
                o.insert("value".into(), gen::value(u, 2, nulls)?);
            }
        }
        ops.push(Value::Object(o));
    }
    Ok(Value::Array(ops))
}

fn structured(u: &mut Unstructured<'_>) -> Result<()> {
    let old = normalize(gen::document(u, false)?);
    let new = normalize(gen::document(u, false)?);
    let mut doc = old.clone();
    apply(&mut doc, &diff(&old, &new)).expect("a diff applies to its source");
    assert_eq!(doc, new, "diff then apply");
    let mut doc = old.clone();
    json_patch::merge(&mut doc, &merge_diff(&old, &new));
    assert_eq!(doc, new, "merge_diff then merge");

    // The hubs' JSON Patch write.
    let Ok(patch) = serde_json::from_value::<json_patch::Patch>(json_patch_ops(u)?) else {
        return Ok(());
    };
    let mut patched = old.clone();
    if apply(&mut patched, &patch).is_err() {
        assert_eq!(patched, old, "a failed JSON Patch changed the layer");
        return Ok(());
    }
    if !patched.is_object() {
        return Ok(());
    }
    let namespace = Namespace::new("auth").expect("a namespace name");
    let mut ns = NamespaceState::new(namespace.clone());
    ns.tenant = LowerLayer::new(Layer::from_value(old.clone()).expect("an object"));
    let mut state = TenantState::default();
    state.namespaces.insert(namespace.clone(), ns);
    let event = ChangeEvent {
        kind: namespace.clone(),
        action: "update".into(),
        scope: Scope::Tenant,
        target_id: Some(gen::TENANT.into()),
        config: merge_diff(&old, &patched),
        triggered_by: "admin".into(),
    };
    let tenant = TenantContext::new(gen::TENANT);
    let limits = Limits::default();
    let ctx = Context {
        tenant: &tenant,
        rules: &[],
        limits: &limits,
        at: 1,
    };
    if let Ok(commit) = apply_changes(&state, &[event], ctx) {
        let layer = commit
            .state
            .namespace(&namespace)
            .map_or_else(|| json!({}), |ns| ns.tenant.layer.as_value().clone());
        assert_eq!(
            layer,
            normalize(patched),
            "the layer is not the patched document"
        );
    }
    Ok(())
}

/// Runs the target on one input: the first byte picks raw or generated input.
pub fn run(data: &[u8]) {
    match data.split_first() {
        Some((mode, rest)) if mode % 2 == 0 => raw(rest),
        Some((_, rest)) => {
            let _ = structured(&mut Unstructured::new(rest));
        }
        None => {}
    }
}
