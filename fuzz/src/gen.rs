//! Structured inputs from raw fuzz bytes, with [`arbitrary::Unstructured`].
//!
//! Names and keys come mostly from small vocabularies, so that independently generated
//! events, rules and layers meet on the same namespaces, paths and ids (which is where the
//! engine's interesting cases are); now and then a free string slips in. Numbers are small
//! integers or a few exact binary fractions, so JSON round trips are exact.

use arbitrary::{Result, Unstructured};
use cascade_engine::event::ChangeEvent;
use cascade_engine::path::{LeafPath, PathPattern, Seg};
use cascade_engine::rule::{ConflictResolution, SyncDirection, SyncRule, TriggerPattern};
use cascade_engine::scope::{Namespace, Scope, TenantContext};
use serde_json::{Map, Value};

/// The tenant every generated state belongs to.
pub const TENANT: &str = "t1";
/// Namespaces events and rules use.
pub const NAMESPACES: &[&str] = &["auth", "rbac", "notifications"];
/// User ids.
pub const USERS: &[&str] = &["u1", "u2", "u3"];
/// Object keys (including ones that need escaping in paths).
const KEYS: &[&str] = &[
    "a", "b", "c", "id", "sso", "provider", "roles", "timeout", "[x", "~1", "*", "",
];
/// Action words.
const ACTIONS: &[&str] = &[
    "update",
    "create",
    "provider.update",
    "template.update",
    "add",
];
/// Trigger pattern segments.
const SEGMENTS: &[&str] = &[
    "auth",
    "rbac",
    "notifications",
    "*",
    "provider",
    "template",
    "update",
    "create",
    "add",
];
/// Strings values and ids are drawn from.
const STRINGS: &[&str] = &["okta", "google", "x", "1", "2", "admin", ""];

/// A string from `vocabulary`, or rarely a free one.
pub fn word(u: &mut Unstructured<'_>, vocabulary: &[&str]) -> Result<String> {
    if u.ratio(1, 16)? {
        let s: String = u.arbitrary()?;
        return Ok(s.chars().take(8).collect());
    }
    Ok((*u.choose(vocabulary)?).to_owned())
}

/// A namespace from [`NAMESPACES`].
pub fn namespace(u: &mut Unstructured<'_>) -> Result<Namespace> {
    let name = *u.choose(NAMESPACES)?;
    Namespace::new(name).map_err(|_| arbitrary::Error::IncorrectFormat)
}

fn number(u: &mut Unstructured<'_>) -> Result<Value> {
    Ok(if u.ratio(1, 4)? {
        let halves: i8 = u.arbitrary()?;
        Value::from(f64::from(halves) / 4.0)
    } else {
        Value::from(u.int_in_range(-3i64..=40)?)
    })
}

fn id_value(u: &mut Unstructured<'_>) -> Result<Value> {
    Ok(match u.int_in_range(0..=2)? {
        0 => Value::from(u.int_in_range(0u8..=3)?),
        _ => Value::String(word(u, STRINGS)?),
    })
}

/// A JSON value at most `depth` levels deep. `nulls` allows `null` (a merge patch's delete).
pub fn value(u: &mut Unstructured<'_>, depth: usize, nulls: bool) -> Result<Value> {
    let top = if depth == 0 { 4 } else { 8 };
    Ok(match u.int_in_range(0..=top)? {
        0 if nulls => Value::Null,
        0 | 1 => Value::Bool(u.arbitrary()?),
        2 => number(u)?,
        3 | 4 => Value::String(word(u, STRINGS)?),
        5 => {
            let n = u.int_in_range(0..=3)?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                let null = nulls && u.ratio(1, 8)?;
                items.push(value(u, depth - 1, null)?);
            }
            Value::Array(items)
        }
        6 => {
            // An id array (or, with a repeated id, an array that looks like one).
            let n = u.int_in_range(1..=3)?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                let mut element = object(u, depth - 1, false)?;
                element.insert("id".into(), id_value(u)?);
                items.push(Value::Object(element));
            }
            Value::Array(items)
        }
        _ => Value::Object(object(u, depth - 1, nulls)?),
    })
}

/// A JSON object at most `depth + 1` levels deep.
pub fn object(u: &mut Unstructured<'_>, depth: usize, nulls: bool) -> Result<Map<String, Value>> {
    let n = u.int_in_range(0..=3)?;
    let mut map = Map::new();
    for _ in 0..n {
        let key = word(u, KEYS)?;
        map.insert(key, value(u, depth, nulls)?);
    }
    Ok(map)
}

/// A document (object) for a layer or a config: up to four levels deep.
pub fn document(u: &mut Unstructured<'_>, nulls: bool) -> Result<Value> {
    let depth = u.int_in_range(0..=3)?;
    Ok(Value::Object(object(u, depth, nulls)?))
}

/// A change event of `scope`, usually well-formed (target, action), sometimes not.
pub fn event(u: &mut Unstructured<'_>, scope: Scope) -> Result<ChangeEvent> {
    let target_id = match scope {
        Scope::Platform => None,
        Scope::Tenant => Some(if u.ratio(1, 32)? {
            "t2".to_owned()
        } else {
            TENANT.to_owned()
        }),
        Scope::User => Some(word(u, USERS)?),
    };
    let config = if u.ratio(1, 32)? {
        value(u, 2, true)?
    } else {
        document(u, true)?
    };
    Ok(ChangeEvent {
        kind: namespace(u)?,
        action: word(u, ACTIONS)?,
        scope,
        target_id,
        config,
        triggered_by: word(u, &["admin", "u1", "platform-admin"])?,
    })
}

/// A trigger pattern from [`SEGMENTS`] (1 to 4 segments), if it parses.
pub fn pattern(u: &mut Unstructured<'_>) -> Result<TriggerPattern> {
    let n = u.int_in_range(1..=4)?;
    let mut parts = Vec::with_capacity(n);
    for _ in 0..n {
        parts.push(word(u, SEGMENTS)?);
    }
    TriggerPattern::parse(&parts.join(".")).map_err(|_| arbitrary::Error::IncorrectFormat)
}

/// A leaf path of up to three segments over the key and id vocabularies.
pub fn leaf_path(u: &mut Unstructured<'_>) -> Result<LeafPath> {
    let n = u.int_in_range(0..=3)?;
    let mut segs = Vec::with_capacity(n);
    for _ in 0..n {
        segs.push(if u.ratio(1, 4)? {
            Seg::Id(word(u, STRINGS)?)
        } else {
            Seg::Key(word(u, KEYS)?)
        });
    }
    Ok(LeafPath(segs))
}

fn locked_path(u: &mut Unstructured<'_>) -> Result<PathPattern> {
    let path = leaf_path(u)?;
    let mut text = path.to_string();
    if u.ratio(1, 4)? {
        text.push_str("/*");
    }
    PathPattern::parse(&text).map_err(|_| arbitrary::Error::IncorrectFormat)
}

fn scopes(u: &mut Unstructured<'_>) -> Result<Vec<Scope>> {
    let mut out = Vec::new();
    for scope in [Scope::Platform, Scope::Tenant, Scope::User] {
        if u.arbitrary()? {
            out.push(scope);
        }
    }
    Ok(out)
}

/// A sync rule with any strategy, direction, filters and locks.
pub fn rule(u: &mut Unstructured<'_>) -> Result<SyncRule> {
    let n = u.int_in_range(1..=3)?;
    let mut trigger_events = Vec::with_capacity(n);
    for _ in 0..n {
        trigger_events.push(pattern(u)?);
    }
    let namespaces = if u.ratio(1, 4)? {
        Some(vec![namespace(u)?])
    } else {
        None
    };
    let mut tenant_filter = std::collections::BTreeMap::new();
    if u.ratio(1, 6)? {
        let wanted = if u.arbitrary()? {
            Value::from("retail")
        } else {
            serde_json::json!(["retail", "food"])
        };
        tenant_filter.insert("businessType".to_owned(), wanted);
    }
    let mut locked_paths = Vec::new();
    if u.ratio(1, 4)? {
        locked_paths.push(locked_path(u)?);
    }
    Ok(SyncRule {
        id: if u.arbitrary()? {
            Some(word(u, &["r1", "r2", "r3"])?)
        } else {
            None
        },
        trigger_events,
        target_scopes: scopes(u)?,
        sync_direction: *u.choose(&[
            SyncDirection::Down,
            SyncDirection::Up,
            SyncDirection::Both,
        ])?,
        conflict_resolution: *u.choose(&[
            ConflictResolution::PlatformWins,
            ConflictResolution::TenantWins,
            ConflictResolution::UserWins,
            ConflictResolution::Merge,
        ])?,
        auto_apply: !u.ratio(1, 4)?,
        namespaces,
        tenant_filter,
        locked_paths,
        priority: u.int_in_range(-1..=2)?,
    })
}

/// A catch-all rule: every change goes down to tenant and users with `strategy`.
pub fn catch_all(strategy: ConflictResolution) -> SyncRule {
    SyncRule {
        id: Some("all".into()),
        trigger_events: TriggerPattern::parse("*").into_iter().collect(),
        target_scopes: vec![Scope::Tenant, Scope::User],
        sync_direction: SyncDirection::Down,
        conflict_resolution: strategy,
        auto_apply: true,
        namespaces: None,
        tenant_filter: std::collections::BTreeMap::new(),
        locked_paths: Vec::new(),
        priority: 0,
    }
}

/// The three seed rules of the assignment (auth: platform-wins, rbac: merge,
/// notifications: tenant-wins).
pub fn seed_rules() -> Vec<SyncRule> {
    serde_json::from_value(serde_json::json!([
        {"triggerEvents": ["auth.provider.create", "auth.provider.update", "auth.provider.enable"],
         "targetScopes": ["tenant", "user"], "syncDirection": "down",
         "conflictResolution": "platform-wins", "autoApply": true},
        {"triggerEvents": ["rbac.template.create", "rbac.template.update"],
         "targetScopes": ["tenant"], "syncDirection": "down",
         "conflictResolution": "merge", "autoApply": true},
        {"triggerEvents": ["notifications.config.update", "notifications.provider.add"],
         "targetScopes": ["tenant", "user"], "syncDirection": "down",
         "conflictResolution": "tenant-wins", "autoApply": true}
    ]))
    .unwrap_or_default()
}

/// A rule set: the seed rules, a catch-all with one strategy, or generated rules (or a mix).
pub fn rules(u: &mut Unstructured<'_>) -> Result<Vec<SyncRule>> {
    let mut out = match u.int_in_range(0..=3)? {
        0 => seed_rules(),
        1 => vec![catch_all(*u.choose(&[
            ConflictResolution::PlatformWins,
            ConflictResolution::TenantWins,
            ConflictResolution::UserWins,
            ConflictResolution::Merge,
        ])?)],
        _ => Vec::new(),
    };
    let extra = u.int_in_range(0..=3)?;
    for _ in 0..extra {
        out.push(rule(u)?);
    }
    Ok(out)
}

/// The tenant: `t1`, maybe with a business type and an opt-out.
pub fn tenant(u: &mut Unstructured<'_>) -> Result<TenantContext> {
    let mut tenant = TenantContext::new(TENANT);
    if u.arbitrary()? {
        tenant.attributes.insert(
            "businessType".into(),
            Value::from(word(u, &["retail", "saas"])?),
        );
    }
    if u.ratio(1, 8)? {
        tenant.opted_out.insert(namespace(u)?);
    }
    Ok(tenant)
}
