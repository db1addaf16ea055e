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
        binds.push(JsValue::from_str(&format!(
            "$.\"{}\"",
            key.replace('"', "\\\"")
        )));
        let path = binds.len();
        binds.push(JsValue::from_str(&wanted.to_string()));
        let value = binds.len();
        terms.push(match wanted {
            Value::Array(_) => format!(
                "(json_extract(attributes, ?{path}) = json_extract(?{value}, '$') OR json_extract(attributes, ?{path}) IN (SELECT value FROM json_each(?{value})))"
            ),
            _ => format!("json_extract(attributes, ?{path}) = json_extract(?{value}, '$')"),
        });
    }
    format!("({})", terms.join(" AND "))
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
        binds.push(JsValue::from_str(event.kind.as_str()));
        let namespace = binds.len();
        let filters: Vec<String> = delivering
            .iter()
            .map(|r| filter_sql(r, &mut binds))
            .collect();
        reaches.push(format!(
            "(NOT EXISTS (SELECT 1 FROM json_each(opt_outs) WHERE value = ?{namespace}) AND ({}))",
            filters.join(" OR ")
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
