//! How many tenants a platform write reaches, answered with the write so an admin learns at
//! once that a change reaches nobody (no enabled rule delivers the namespace, or every
//! tenant it could reach is filtered out or opted out).
//!
//! A tenant is targeted when some event of the write triggers an enabled rule that has a
//! downward target and accepts the tenant's attributes (`tenantFilter`), and the tenant has
//! not opted out of that event's namespace. A whole-document platform write of a namespace is
//! the event `{namespace}.update` (see `cascade_engine::converge`); `POST /v1/events` at the
//! platform counts its own events. The count is one D1 query over the registry (the filters
//! compiled to SQL), not a read of every tenant. D1 binds at most 100 parameters to a
//! statement, so the query grows with the rules, not with the batch: events delivered by the
//! same rules share one condition, their namespaces bound as one JSON list, and every
//! distinct value is bound once.
//! The same filter previews a rule before it is saved (`POST /v1/platform/rules/preview`):
//! the tenants it would reach, counted and listed a page at a time.

use cascade_durable::registry;
use cascade_engine::converge::whole_layer_event;
use cascade_engine::event::ChangeEvent;
use cascade_engine::rule::{SyncRule, TriggerPattern};
use cascade_engine::scope::{Namespace, Scope};
use std::collections::{BTreeMap, BTreeSet, HashMap};

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

/// D1's limit on the parameters bound to one statement.
const MAX_BOUND_PARAMETERS: usize = 100;

/// One bound parameter.
#[derive(Debug, Clone, PartialEq)]
enum Param {
    Text(String),
    Number(f64),
}

/// The parameters bound to one D1 statement, each distinct string bound once and referred to
/// by its number (`?N`) wherever it is used.
#[derive(Debug, Clone, Default)]
struct Binds {
    params: Vec<Param>,
    numbers: HashMap<String, usize>,
}

impl Binds {
    /// The number of the parameter holding `value`, bound now if it was not yet.
    fn at(&mut self, value: &str) -> usize {
        if let Some(number) = self.numbers.get(value) {
            return *number;
        }
        let number = self.push(Param::Text(value.to_owned()));
        self.numbers.insert(value.to_owned(), number);
        number
    }

    /// Binds `param` as a new parameter and returns its number.
    fn push(&mut self, param: Param) -> usize {
        self.params.push(param);
        self.params.len()
    }

    /// The values to bind, or an error naming the limit when there are more than D1 takes
    /// (only rules with very many tenant-filter keys can get there).
    fn values(&self) -> Result<Vec<JsValue>, ApiError> {
        if self.params.len() > MAX_BOUND_PARAMETERS {
            return Err(ApiError::Internal(format!(
                "counting the tenants reached needs {} query parameters, more than D1's {MAX_BOUND_PARAMETERS}: the enabled rules' tenant filters have too many distinct keys and values",
                self.params.len()
            )));
        }
        Ok(self
            .params
            .iter()
            .map(|p| match p {
                Param::Text(text) => JsValue::from_str(text),
                Param::Number(n) => JsValue::from_f64(*n),
            })
            .collect())
    }
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
fn filter_sql(rule: &SyncRule, binds: &mut Binds) -> String {
    if rule.tenant_filter.is_empty() {
        return "1".to_owned();
    }
    let mut terms = Vec::new();
    for (key, wanted) in &rule.tenant_filter {
        // The attribute is found by its key through `json_each`, never spliced into a JSON
        // path: any key (quotes, backslashes, dots) is compared as the plain string it is.
        let key_at = binds.at(key);
        let value = binds.at(&wanted.to_string());
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

/// The registry condition (with its bindings, added to `binds`) under which a tenant is
/// reached by one of `rules`: registered (not being deleted), accepted by a rule's tenant
/// filter and, when `namespaces` are given, not opted out of at least one of them. The one
/// definition both the write's count ([`targeted`]) and the rule preview ([`preview`]) use.
fn reached_sql(rules: &[&SyncRule], namespaces: &[&str], binds: &mut Binds) -> String {
    let mut terms = vec!["lifecycle != 'deleting'".to_owned()];
    if !namespaces.is_empty() {
        let list = Value::from(namespaces.to_vec()).to_string();
        terms.push(format!(
            "EXISTS (SELECT 1 FROM json_each(?{}) AS ns WHERE ns.value NOT IN (SELECT value FROM json_each(opt_outs)))",
            binds.at(&list)
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
    let what = match events {
        [one] if one.action == "update" => format!("'{}' ({})", one.kind, topics[0]),
        _ => topics.join(", "),
    };
    let Some((sql, binds)) = count_query(&rules, events) else {
        return Ok(Targeting {
            tenants: 0,
            warning: Some(format!(
                "no enabled rule delivers platform writes of {what} to tenants: no tenant receives this change; add a rule with a downward target to deliver it"
            )),
        });
    };
    let count: Option<Value> = db
        .prepare(&sql)
        .bind(&binds.values()?)?
        .first(Some("n"))
        .await?;
    let tenants = count.and_then(|v| v.as_u64()).unwrap_or(0);
    let warning = (tenants == 0).then(|| {
        format!("the rules that deliver {what} accept no registered tenant (tenant filters and opt-outs): no tenant receives this change")
    });
    Ok(Targeting { tenants, warning })
}

/// The query counting the tenants some event of `events` reaches under `rules`, or `None`
/// when no rule delivers any of them. Events delivered by the same rules reach the same
/// tenants but for their opt-outs: one condition per set of delivering rules, over all of
/// their namespaces, so the parameters grow with the rules and not with the batch.
fn count_query(rules: &[SyncRule], events: &[ChangeEvent]) -> Option<(String, Binds)> {
    let mut namespaces_by_rules: BTreeMap<Vec<usize>, BTreeSet<&str>> = BTreeMap::new();
    for event in events {
        let delivering: Vec<usize> = (0..rules.len())
            .filter(|i| delivers(&rules[*i], event))
            .collect();
        if !delivering.is_empty() {
            namespaces_by_rules
                .entry(delivering)
                .or_default()
                .insert(event.kind.as_str());
        }
    }
    let mut binds = Binds::default();
    let mut reaches = Vec::new();
    for (delivering, namespaces) in &namespaces_by_rules {
        let delivering: Vec<&SyncRule> = delivering.iter().map(|i| &rules[*i]).collect();
        let namespaces: Vec<&str> = namespaces.iter().copied().collect();
        reaches.push(format!(
            "({})",
            reached_sql(&delivering, &namespaces, &mut binds)
        ));
    }
    if reaches.is_empty() {
        return None;
    }
    let sql = format!(
        "SELECT COUNT(*) AS n FROM tenants WHERE {}",
        reaches.join(" OR ")
    );
    Some((sql, binds))
}

/// Most tenant ids a preview lists per page.
pub const MAX_PREVIEW_PAGE: u32 = 100;
/// Tenant ids a preview lists when the request does not say.
pub const DEFAULT_PREVIEW_PAGE: u32 = 20;

/// Which tenants a rule (not yet saved) would reach: all of them counted, one page listed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(utoipa::ToSchema))]
#[cfg_attr(test, schema(as = RulePreview, example = json!({
    "targetedTenants": 2500, "tenants": ["bulk00004", "bulk00008"], "next": "bulk00008"
})))]
pub struct Preview {
    /// Tenants the rule would reach: registered, accepted by its `tenantFilter` and, when
    /// the request names a `namespace`, not opted out of it.
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
    let mut count_binds = Binds::default();
    let namespaces: Vec<&str> = namespace.iter().map(|n| n.as_str()).collect();
    let condition = reached_sql(&[rule], &namespaces, &mut count_binds);
    let count_sql = format!("SELECT COUNT(*) AS n FROM tenants WHERE {condition}");
    let mut page_binds = count_binds.clone();
    let after_at = page_binds.push(Param::Text(after.to_owned()));
    let limit_at = page_binds.push(Param::Number(f64::from(limit + 1)));
    let page_sql = format!(
        "SELECT id FROM tenants WHERE {condition} AND id > ?{after_at} ORDER BY id LIMIT ?{limit_at}"
    );
    let count_stmt = db.prepare(&count_sql).bind(&count_binds.values()?)?;
    let page_stmt = db.prepare(&page_sql).bind(&page_binds.values()?)?;
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

    #[test]
    fn a_full_batch_is_counted_within_d1s_parameter_limit() {
        let filter: Map<String, Value> = (0..32).map(|i| (format!("k{i}"), json!(i))).collect();
        let everything = rule(
            json!({"triggerEvents": ["*"], "targetScopes": ["tenant"], "syncDirection": "down", "conflictResolution": "merge", "autoApply": true, "tenantFilter": filter}),
        );
        let auth_only = rule(
            json!({"triggerEvents": ["ns7.*"], "targetScopes": ["tenant"], "syncDirection": "down", "conflictResolution": "merge", "autoApply": true, "tenantFilter": {"k0": 0}}),
        );
        let events: Vec<ChangeEvent> = (0..100)
            .map(|i| {
                serde_json::from_value(json!({
                    "type": format!("ns{i}"), "action": "update", "scope": "platform",
                    "config": {}, "triggeredBy": "x"
                }))
                .expect("event")
            })
            .collect();
        let (sql, binds) =
            count_query(&[everything, auth_only], &events).expect("rules deliver the batch");
        // Two sets of delivering rules (ns7 has both): two namespace lists, and the 32 filter
        // keys and values bound once although both rules and 100 events use them.
        assert_eq!(binds.params.len(), 2 + 64, "{sql}");
        assert_eq!(sql.matches("json_each(?").count(), 2, "{sql}");
        assert!(binds.params.len() <= MAX_BOUND_PARAMETERS);
        assert_eq!(count_query(&[], &events).map(|(sql, _)| sql), None);
    }
}
