//! How many tenants a platform write reaches, answered with the write so an admin learns at
//! once that a change reaches nobody (no enabled rule delivers the namespace, or every
//! tenant it could reach is filtered out or opted out).
//!
//! A tenant is targeted when some event of the write triggers an enabled rule that has a
//! downward target and accepts the tenant's attributes (`tenantFilter`), and the tenant has
//! not opted out of that event's namespace. A whole-document platform write of a namespace is
//! the event `{namespace}.update` (see `cascade_engine::converge`); `POST /v1/events` at the
//! platform counts its own events. The count is one D1 query over the registry (the filters
//! compiled to SQL), not a read of every tenant.
//! The same filter previews a rule before it is saved (`POST /v1/platform/rules/preview`):
//! the tenants it would reach, counted and listed a page at a time.

use cascade_durable::registry;
use cascade_engine::converge::whole_layer_event;
use cascade_engine::event::ChangeEvent;
use cascade_engine::rule::{SyncRule, TriggerPattern};
use cascade_engine::scope::{Namespace, Scope};
use serde_json::{Map, Value};
use wasm_bindgen::JsValue;
use worker::Env;

use crate::problem::ApiError;
use crate::tenants;

/// Whom a platform write of a namespace reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Targeting {
    /// Tenants it reaches.
    pub tenants: u64,
    /// Why it reaches none, when it does not.
    pub warning: Option<String>,
}

/// Whether the platform event `event` triggers `rule` with a downward target, whatever the
/// tenant.
fn delivers(rule: &SyncRule, event: &ChangeEvent) -> bool {
    let topic = event.topic();
    let segments: Vec<&str> = topic.split('.').collect();
    rule.sync_direction.goes_down()
        && rule
            .trigger_events
            .iter()
            .any(|p: &TriggerPattern| p.matches(&segments))
        && rule
            .namespaces
            .as_ref()
            .is_none_or(|list| list.contains(&event.kind))
        && rule
            .target_scopes
            .iter()
            .any(|s| Scope::Platform.is_above(*s))
}

/// The SQL condition (with its bindings) under which a tenant row passes `rule`'s filter.
fn filter_sql(rule: &SyncRule, binds: &mut Vec<JsValue>) -> String {
    if rule.tenant_filter.is_empty() {
        return "1".to_owned();
    }
    let mut terms = Vec::new();
    for (key, wanted) in &rule.tenant_filter {
        // The attribute is found by its key through `json_each`, never spliced into a JSON
        // path: any key (quotes, backslashes, dots) is compared as the plain string it is.
        binds.push(JsValue::from_str(key));
        let key_at = binds.len();
        binds.push(JsValue::from_str(&wanted.to_string()));
        let value = binds.len();
        let matches = match wanted {
            Value::Array(_) => format!(
                "(a.value = json_extract(?{value}, '$') OR a.value IN (SELECT value FROM json_each(?{value})))"
            ),
            _ => format!("a.value = json_extract(?{value}, '$')"),
        };
        terms.push(format!(
            "EXISTS (SELECT 1 FROM json_each(attributes) AS a WHERE a.key = ?{key_at} AND {matches})"
        ));
    }
    format!("({})", terms.join(" AND "))
}

/// The registry condition (with its bindings, appended to `binds`) under which a tenant is
/// reached by one of `rules`: registered (not being deleted), accepted by a rule's tenant
/// filter and, when `namespace` is given, not opted out of it. The one definition both the
/// write's count ([`targeted`]) and the rule preview ([`preview`]) use.
fn reached_sql(
    rules: &[&SyncRule],
    namespace: Option<&Namespace>,
    binds: &mut Vec<JsValue>,
) -> String {
    let mut terms = vec!["lifecycle != 'deleting'".to_owned()];
    if let Some(namespace) = namespace {
        binds.push(JsValue::from_str(namespace.as_str()));
        terms.push(format!(
            "NOT EXISTS (SELECT 1 FROM json_each(opt_outs) WHERE value = ?{})",
            binds.len()
        ));
    }
    let filters: Vec<String> = rules.iter().map(|r| filter_sql(r, binds)).collect();
    terms.push(format!("({})", filters.join(" OR ")));
    terms.join(" AND ")
}

/// Counts the tenants a whole-document platform write of `namespace` reaches; see the
/// module docs.
pub async fn targeted(env: &Env, namespace: &Namespace) -> Result<Targeting, ApiError> {
    targeted_by(
        env,
        &[whole_layer_event(namespace, Value::Object(Map::new()), "")],
    )
    .await
}

/// Counts the tenants a platform batch of `events` reaches; see the module docs.
pub async fn targeted_by(env: &Env, events: &[ChangeEvent]) -> Result<Targeting, ApiError> {
    let db = tenants::db(env)?;
    let rules = registry::rules(&db).await?;
    let topics: Vec<String> = events.iter().map(ChangeEvent::topic).collect();
    let mut binds = Vec::new();
    let mut reaches = Vec::new();
    for event in events {
        let delivering: Vec<&SyncRule> = rules.iter().filter(|r| delivers(r, event)).collect();
        if delivering.is_empty() {
            continue;
        }
        reaches.push(format!(
            "({})",
            reached_sql(&delivering, Some(&event.kind), &mut binds)
        ));
    }
    let what = match events {
        [one] if one.action == "update" => format!("'{}' ({})", one.kind, topics[0]),
        _ => topics.join(", "),
    };
    if reaches.is_empty() {
        return Ok(Targeting {
            tenants: 0,
            warning: Some(format!(
                "no enabled rule delivers platform writes of {what} to tenants: no tenant receives this change; add a rule with a downward target to deliver it"
            )),
        });
    }
    let sql = format!(
        "SELECT COUNT(*) AS n FROM tenants WHERE {}",
        reaches.join(" OR ")
    );
    let count: Option<Value> = db.prepare(&sql).bind(&binds)?.first(Some("n")).await?;
    let tenants = count.and_then(|v| v.as_u64()).unwrap_or(0);
    let warning = (tenants == 0).then(|| {
        format!("the rules that deliver {what} accept no registered tenant (tenant filters and opt-outs): no tenant receives this change")
    });
    Ok(Targeting { tenants, warning })
}

/// Most tenant ids a preview lists per page.
pub const MAX_PREVIEW_PAGE: u32 = 100;
/// Tenant ids a preview lists when the request does not say.
pub const DEFAULT_PREVIEW_PAGE: u32 = 20;

/// Which tenants a rule (not yet saved) would reach: all of them counted, one page listed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    /// Tenants the rule reaches.
    pub targeted_tenants: u64,
    /// Their ids, in id order: one page after the request's `after`.
    pub tenants: Vec<String>,
    /// The cursor of the next page (`after`), or null after the last.
    pub next: Option<String>,
    /// Why the rule reaches nobody, when it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// Whether `rule` delivers anything to tenants: a downward direction and a target below the
/// platform (a tenant or its users).
fn reaches_tenants(rule: &SyncRule) -> bool {
    rule.sync_direction.goes_down()
        && rule
            .target_scopes
            .iter()
            .any(|s| Scope::Platform.is_above(*s))
}

/// The tenants `rule` would reach — with `namespace`, for platform writes of that namespace
/// (opt-outs count) — counted by one D1 query over the registry and listed a page (`limit`
/// ids after `after`, in id order) at a time, with the same filter as [`targeted`].
pub async fn preview(
    env: &Env,
    rule: &SyncRule,
    namespace: Option<&Namespace>,
    after: &str,
    limit: u32,
) -> Result<Preview, ApiError> {
    let none = |warning: String| Preview {
        targeted_tenants: 0,
        tenants: Vec::new(),
        next: None,
        warning: Some(warning),
    };
    if !reaches_tenants(rule) {
        return Ok(none(
            "the rule delivers nothing to tenants: it needs syncDirection down or both and a tenant or user target scope".to_owned(),
        ));
    }
    if let Some(namespace) = namespace {
        if !delivers(
            rule,
            &whole_layer_event(namespace, Value::Object(Map::new()), ""),
        ) {
            return Ok(none(format!(
                "the rule does not deliver platform writes of '{namespace}' ({namespace}.update): its triggerEvents or namespaces leave it out"
            )));
        }
    }
    let db = tenants::db(env)?;
    let mut count_binds = Vec::new();
    let condition = reached_sql(&[rule], namespace, &mut count_binds);
    let count_sql = format!("SELECT COUNT(*) AS n FROM tenants WHERE {condition}");
    let mut page_binds = count_binds.clone();
    page_binds.push(JsValue::from_str(after));
    let after_at = page_binds.len();
    page_binds.push(JsValue::from_f64(f64::from(limit + 1)));
    let page_sql = format!(
        "SELECT id FROM tenants WHERE {condition} AND id > ?{after_at} ORDER BY id LIMIT ?{}",
        after_at + 1
    );
    let count_stmt = db.prepare(&count_sql).bind(&count_binds)?;
    let page_stmt = db.prepare(&page_sql).bind(&page_binds)?;
    let (count, page) = futures::join!(count_stmt.first::<Value>(Some("n")), page_stmt.all());
    let targeted_tenants = count?.and_then(|v| v.as_u64()).unwrap_or(0);
    #[derive(serde::Deserialize)]
    struct IdRow {
        id: String,
    }
    let mut ids: Vec<String> = page?
        .results::<IdRow>()?
        .into_iter()
        .map(|r| r.id)
        .collect();
    let more = ids.len() > limit as usize;
    ids.truncate(limit as usize);
    let next = if more { ids.last().cloned() } else { None };
    let warning = (targeted_tenants == 0).then(|| {
        "the rule's tenant filter (and the opt-outs) accept no registered tenant".to_owned()
    });
    Ok(Preview {
        targeted_tenants,
        tenants: ids,
        next,
        warning,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(value: Value) -> SyncRule {
        serde_json::from_value(value).expect("valid rule")
    }

    #[test]
    fn a_rule_delivers_an_event_its_trigger_and_targets_cover() {
        let auth = Namespace::new("auth").expect("valid");
        let down = rule(
            json!({"triggerEvents": ["auth.*"], "targetScopes": ["tenant"], "syncDirection": "down", "conflictResolution": "merge", "autoApply": true}),
        );
        let other = rule(
            json!({"triggerEvents": ["billing.*"], "targetScopes": ["tenant"], "syncDirection": "down", "conflictResolution": "merge", "autoApply": true}),
        );
        let up = rule(
            json!({"triggerEvents": ["auth.*"], "targetScopes": ["platform"], "syncDirection": "up", "conflictResolution": "merge", "autoApply": true}),
        );
        let narrow = rule(
            json!({"triggerEvents": ["auth.provider.enable"], "targetScopes": ["tenant"], "syncDirection": "down", "conflictResolution": "merge", "autoApply": true}),
        );
        let write = whole_layer_event(&auth, json!({}), "");
        assert!(delivers(&down, &write));
        assert!(!delivers(&other, &write));
        assert!(!delivers(&up, &write));
        assert!(
            !delivers(&narrow, &write),
            "a plain write is auth.update, not an enable"
        );
        let enable: ChangeEvent = serde_json::from_value(json!({
            "type": "auth", "action": "provider.enable", "scope": "platform",
            "config": {}, "triggeredBy": "x"
        }))
        .expect("event");
        assert!(
            delivers(&narrow, &enable),
            "an event counts by its own topic"
        );
    }
}
