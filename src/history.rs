//! `GET /v1/tenants/{tenant}/history`: the tenant's event history from D1, newest first,
//! filtered by namespace (any the entry touched), scope, outcome and time, paginated by `seq`.

use cascade_protocol::{HistoryEntry, HistoryPage, Role, Scope};
use serde::Deserialize;
use worker::wasm_bindgen::JsValue;
use worker::{Env, Request, Response};

use crate::problem::ApiError;
use crate::tenants;
use crate::{api_spec, input};

/// Page size when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page.
pub const MAX_LIMIT: u32 = 500;
/// Above any `seq` a JavaScript number holds exactly: "no upper bound".
const NO_BOUND: u64 = u64::MAX >> 11;

#[derive(Deserialize)]
struct Row {
    seq: f64,
    event_type: String,
    action: String,
    scope: Scope,
    target_id: Option<String>,
    outcome: String,
    outcomes: String,
    triggered_by: String,
    duration_ms: f64,
    error: Option<String>,
    created_at: f64,
    propagation_ms: Option<f64>,
    namespaces: Option<String>,
    request_id: Option<String>,
    role: Option<Role>,
    changes: Option<String>,
}

/// The query of a history page.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// Page size.
    pub limit: u32,
    /// Only entries with a smaller `seq` (the previous page's `nextBefore`).
    pub before: u64,
    /// Only this namespace.
    pub namespace: Option<String>,
    /// Only this scope.
    pub scope: Option<Scope>,
    /// Only this outcome (`applied`, `conflict`, `pending`, ...).
    pub outcome: Option<String>,
    /// Only entries at or after this time (Unix ms).
    pub since: u64,
    /// Only entries before this time (Unix ms).
    pub until: u64,
}

fn bad(name: &'static str, problem: impl Into<String>) -> ApiError {
    ApiError::BadQuery {
        name,
        problem: problem.into(),
    }
}

fn number(name: &'static str, value: &str) -> Result<u64, ApiError> {
    value
        .parse()
        .map_err(|_| bad(name, format!("must be a whole number, got '{value:.40}'")))
}

impl Filter {
    /// Parses the query string pairs; unknown parameters are refused so a typo never
    /// silently widens the result.
    pub fn parse<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Result<Self, ApiError> {
        let mut f = Self {
            limit: DEFAULT_LIMIT,
            before: NO_BOUND,
            namespace: None,
            scope: None,
            outcome: None,
            since: 0,
            until: NO_BOUND,
        };
        for (key, value) in pairs {
            match key {
                api_spec::LIMIT => {
                    f.limit = value
                        .parse::<u32>()
                        .ok()
                        .filter(|n| (1..=MAX_LIMIT).contains(n))
                        .ok_or_else(|| bad("limit", format!("must be 1..={MAX_LIMIT}, got '{value:.40}'")))?;
                }
                api_spec::BEFORE => f.before = number("before", value)?,
                api_spec::SINCE => f.since = number("since", value)?,
                api_spec::UNTIL => f.until = number("until", value)?,
                api_spec::NAMESPACE => f.namespace = Some(input::namespace("namespace", value)?),
                api_spec::SCOPE => match Scope::parse(value) {
                    Some(scope) => f.scope = Some(scope),
                    None => return Err(bad("scope", "must be platform, tenant or user")),
                },
                api_spec::OUTCOME => {
                    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_lowercase()) {
                        return Err(bad("outcome", "must be an outcome word such as applied or conflict"));
                    }
                    f.outcome = Some(value.to_owned());
                }
                _ => {
                    return Err(ApiError::BadQuery {
                        name: "query",
                        problem: format!(
                            "unknown parameter '{key:.40}' (use limit, before, namespace, scope, outcome, since, until)"
                        ),
                    })
                }
            }
        }
        Ok(f)
    }
}

/// A page of history, newest first, with `nextBefore` when more entries may follow.
pub async fn list(env: &Env, req: &Request, tenant: &str) -> Result<Response, ApiError> {
    let url = req.url()?;
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let filter = Filter::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    // Only this incarnation's rows: a deleted tenant's under the same id are not its history.
    let incarnation = tenants::require(env, tenant).await?.incarnation;

    let mut sql = String::from(
        "SELECT seq, event_type, action, scope, target_id, outcome, outcomes, triggered_by, duration_ms, error, created_at,
                propagation_ms, request_id, role, changes,
                (SELECT json_group_array(namespace) FROM sync_event_namespaces n
                  WHERE n.event_id = sync_events.id) AS namespaces
         FROM sync_events WHERE tenant_id = ?1 AND seq < ?2 AND created_at >= ?3 AND created_at < ?4
           AND incarnation = ?5",
    );
    let mut binds = vec![
        JsValue::from_str(tenant),
        JsValue::from_f64(filter.before as f64),
        JsValue::from_f64(filter.since as f64),
        JsValue::from_f64(filter.until as f64),
        JsValue::from_str(&incarnation),
    ];
    if let Some(namespace) = &filter.namespace {
        binds.push(JsValue::from_str(namespace));
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM sync_event_namespaces n WHERE n.event_id = sync_events.id AND n.namespace = ?{})",
            binds.len()
        ));
    }
    let scope = filter.scope.map(Scope::as_str);
    for (column, value) in [("scope", scope), ("outcome", filter.outcome.as_deref())] {
        if let Some(value) = value {
            binds.push(JsValue::from_str(value));
            sql.push_str(&format!(" AND {column} = ?{}", binds.len()));
        }
    }
    binds.push(JsValue::from_f64(f64::from(filter.limit)));
    sql.push_str(&format!(" ORDER BY seq DESC LIMIT ?{}", binds.len()));

    let rows: Vec<Row> = tenants::db(env)?
        .prepare(sql)
        .bind(&binds)?
        .all()
        .await?
        .results()?;
    let entries = rows
        .into_iter()
        .map(|r| {
            Ok(HistoryEntry {
                seq: r.seq as u64,
                event_type: r.event_type.clone(),
                action: r.action,
                scope: r.scope,
                target_id: r.target_id,
                outcome: r.outcome,
                outcomes: serde_json::from_str(&r.outcomes)?,
                triggered_by: r.triggered_by,
                duration_ms: r.duration_ms,
                error: r.error,
                created_at: r.created_at as u64,
                propagation_ms: r.propagation_ms.map(|ms| ms.max(0.0) as u64),
                namespaces: entry_namespaces(r.namespaces.as_deref(), &r.event_type)?,
                request_id: r.request_id,
                role: r.role,
                changes: serde_json::from_str(r.changes.as_deref().unwrap_or("[]"))?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let next_before = (entries.len() == filter.limit as usize)
        .then(|| entries.last().map(|e| e.seq))
        .flatten();
    Ok(Response::from_json(&HistoryPage {
        entries,
        next_before,
    })?)
}

/// The namespaces of an entry, sorted, from its `sync_event_namespaces` rows (JSON array).
fn entry_namespaces(listed: Option<&str>, event_type: &str) -> Result<Vec<String>, ApiError> {
    let mut names: Vec<String> = serde_json::from_str(listed.unwrap_or("[]"))?;
    if names.is_empty() {
        names.push(event_type.to_owned());
    }
    names.sort();
    names.dedup();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_and_refuse_what_they_do_not_know() {
        let f = Filter::parse(
            [
                ("namespace", "auth"),
                ("scope", "platform"),
                ("outcome", "conflict"),
                ("limit", "10"),
                ("since", "5"),
            ]
            .into_iter(),
        )
        .expect("valid");
        assert_eq!(
            (f.namespace.as_deref(), f.scope, f.outcome.as_deref()),
            (Some("auth"), Some(Scope::Platform), Some("conflict"))
        );
        assert_eq!((f.limit, f.since, f.before), (10, 5, NO_BOUND));
        for bad in [
            ("limit", "0"),
            ("limit", "501"),
            ("scope", "galaxy"),
            ("before", "x"),
            ("outcome", "DROP TABLE"),
            ("namspace", "auth"),
        ] {
            assert!(
                matches!(
                    Filter::parse([bad].into_iter()),
                    Err(ApiError::BadQuery { .. })
                ),
                "{bad:?}"
            );
        }
    }
}
