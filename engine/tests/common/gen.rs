//! Proptest generators of merge patches, shared by the property tests.

use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// A leaf: a small number, a boolean or a short array of numbers.
pub fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0i64..3).prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        prop::collection::vec(0i64..3, 0..3).prop_map(|v| json!(v)),
    ]
}

/// An id array: objects with distinct `id`s among `x`, `y`, `z`.
pub fn id_array() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(prop::sample::select(vec!["x", "y", "z"]), leaf(), 1..3).prop_map(
        |m| {
            Value::Array(
                m.into_iter()
                    .map(|(id, v)| json!({"id": id, "v": v}))
                    .collect(),
            )
        },
    )
}

/// A merge patch over `keys`: objects up to two levels, id arrays, plain leaves, and `null`
/// deletions.
pub fn config(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let key = move || prop::sample::select(keys.to_vec()).prop_map(str::to_owned);
    let inner = prop::collection::btree_map(
        key(),
        prop_oneof![3 => leaf(), 1 => Just(Value::Null)],
        0..3,
    )
    .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>()));
    let member = prop_oneof![3 => leaf(), 1 => Just(Value::Null), 2 => inner, 2 => id_array()];
    prop::collection::btree_map(key(), member, 1..3)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

/// One write of a generated history: a merge patch to the platform layer, the tenant layer,
/// or the layer of user number `n`.
#[derive(Debug, Clone)]
pub enum Op {
    /// To the platform layer.
    Platform(Value),
    /// To the tenant layer.
    Tenant(Value),
    /// To user `n`'s layer.
    User(usize, Value),
}

/// Writes over `keys`: platform and tenant writes with weight 2 each, writes of one of
/// `users` users with weight `user_weight`.
pub fn op(
    keys: &'static [&'static str],
    users: usize,
    user_weight: u32,
) -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => config(keys).prop_map(Op::Platform),
        2 => config(keys).prop_map(Op::Tenant),
        user_weight => (0..users, config(keys)).prop_map(|(u, c)| Op::User(u, c)),
    ]
}

/// A layer's document (an object, no `null`s) of any shape the overlay meets: members
/// over keys that need escaping in a JSON Pointer (`a/b`, `t~`, ``), nested objects, id
/// arrays whose elements nest too (ids numeric or textual: `1` and `"1"` are one id), and
/// leaves, so that values of different types meet at the same place across layers.
pub fn layer_document() -> impl Strategy<Value = Value> {
    let key = || prop::sample::select(vec!["a", "b", "a/b", "t~", ""]).prop_map(str::to_owned);
    let value = leaf().prop_recursive(3, 24, 3, move |inner| {
        let id = prop_oneof![
            prop::sample::select(vec!["x", "y", "1"]).prop_map(Value::from),
            (1i64..3).prop_map(Value::from),
        ];
        prop_oneof![
            prop::collection::btree_map(key(), inner.clone(), 1..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            prop::collection::vec((id, inner), 1..3).prop_map(|elements| {
                Value::Array(
                    elements
                        .into_iter()
                        .map(|(id, v)| json!({"id": id, "v": v}))
                        .collect(),
                )
            }),
        ]
    });
    prop::collection::btree_map(key(), value, 0..4)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}
