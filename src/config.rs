//! Configuration documents: read and replace the platform layer, a tenant's layer and a
//! user's layer of one namespace, and read effective configs. Reads carry the namespace
//! version as an `ETag`; writes take `If-Match` (a stale version is refused with 412, so no
//! update is lost) and `Idempotency-Key` (a retry gets the first answer and applies nothing).
//!
//! Every tenant-side write carries the tenant's registry entry and the sync rules, read from
//! D1 for that write, so the hub applies it under the rules as they are now.

use cascade_durable::internal::{
    Caller, HubContext, LayerChange, LayerWrite, WriteAck, WriteGuard,
};
use cascade_durable::{lifecycle_steps, registry};
use cascade_protocol::StoredDocument;
use serde::Serialize;
use serde_json::Value;
use worker::{Env, Method, Request, Response};

use crate::api_spec;
use crate::hubs::Hub;
use crate::input;
use crate::problem::ApiError;
use crate::tenants;

/// Longest accepted `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// Which document of a tenant hub to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The layer's own values.
    Layer,
    /// The resolved (effective) config; with `origins`, also where each value came from
    /// (`?origins=true`).
    Effective {
        /// Whether the answer carries `origins`.
        origins: bool,
    },
}

/// `GET` a tenant's or a user's layer or effective config; as it was at an earlier `version`
/// (`?version=N`) when one is given (an effective config: that version's layers resolved
/// under today's rules).
pub async fn get_tenant_side(
    env: &Env,
    ctx: &worker::Context,
    tenant: &str,
    user: Option<&str>,
    namespace: &str,
    view: View,
    version: Option<u64>,
) -> Result<Response, ApiError> {
    // The registry check and the platform's latest seq in flight at once.
    let (registered, latest) = futures::join!(
        tenants::require(env, tenant),
        crate::lag::platform_latest(env)
    );
    registered?;
    let base = match view {
        View::Layer => "layers",
        View::Effective { .. } => "effective",
    };
    let mut query = Vec::new();
    if view == (View::Effective { origins: true }) {
        query.push("origins=true".to_owned());
    }
    if let Some(u) = user {
        query.push(format!("user={u}"));
    }
    if let Some(v) = version {
        query.push(format!("version={v}"));
    }
    let path = if query.is_empty() {
        format!("/{base}/{namespace}")
    } else {
        format!("/{base}/{namespace}?{}", query.join("&"))
    };
    let mut doc: StoredDocument = Hub::tenant(env, tenant)?
        .call::<(), _>(Method::Get, &path, None)
        .await?;
    // A lagging tenant says so, and catches up once the answer has left. Not knowing the
    // platform's seq (its hub unreachable) only loses the hint.
    match latest {
        Ok(seqs) => {
            let applied = doc.platform_seq.unwrap_or(0);
            doc.platform_behind = crate::lag::behind(applied, seqs.platform_seq);
            if crate::lag::behind(applied, seqs.settled_seq).is_some() {
                crate::lag::catch_up_later(ctx, env, tenant);
            }
        }
        Err(e) => worker::console_warn!(
            "platform seq unknown for a read of {tenant}: {}",
            e.to_problem().detail
        ),
    }
    // The hint only when the tenant lags: a tenant in sync answers its document as it is.
    if doc.platform_behind.is_none() {
        doc.platform_seq = None;
    }
    with_etag(Response::from_json(&doc)?, doc.version)
}

/// How a write request changes a layer: `PUT` replaces it, `PATCH` patches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// `PUT`: the body is the layer's new values.
    Put,
    /// `PATCH`: the body is a merge patch or a JSON Patch, by `Content-Type`.
    Patch,
}

/// Media type of an RFC 7396 merge patch.
pub const MERGE_PATCH: &str = "application/merge-patch+json";
/// Media type of an RFC 6902 JSON Patch.
pub const JSON_PATCH: &str = "application/json-patch+json";
/// Most operations in one JSON Patch: the engine's.
pub const MAX_PATCH_OPS: usize = cascade_engine::validate::MAX_PATCH_OPS;

/// `PUT` or `PATCH` a tenant's layer (`user` absent) or a user's layer.
pub async fn write_tenant_side(
    env: &Env,
    mut req: Request,
    mode: WriteMode,
    caller: &Caller,
    tenant: &str,
    user: Option<&str>,
    namespace: &str,
) -> Result<Response, ApiError> {
    let (change, guard) = read_write(&mut req, mode, caller).await?;
    let context = hub_context(env, tenant).await?;
    let write = LayerWrite {
        user: user.map(str::to_owned),
        change,
        triggered_by: caller.sub.clone(),
        guard,
        context,
    };
    let ack: WriteAck = Hub::tenant(env, tenant)?
        .on_behalf_of(caller)?
        .call(Method::Put, &format!("/layers/{namespace}"), Some(&write))
        .await?;
    ack_response(&ack)
}

/// The `version` query parameter of a layer read: `None` for the current version.
pub fn version_query(req: &Request) -> Result<Option<u64>, ApiError> {
    let url = req.url()?;
    let Some((_, value)) = url.query_pairs().find(|(k, _)| k == api_spec::VERSION) else {
        return Ok(None);
    };
    value
        .parse::<u64>()
        .ok()
        .filter(|v| *v <= MAX_VERSION)
        .map(Some)
        .ok_or_else(|| ApiError::BadQuery {
            name: "version",
            problem: format!(
                "must be a whole number (a version from an ETag or the history), got '{value:.40}'"
            ),
        })
}

/// The `origins` query parameter of an effective read: `true` asks for the origin map,
/// `false` or its absence does not.
pub fn origins_query(req: &Request) -> Result<bool, ApiError> {
    let url = req.url()?;
    let Some((_, value)) = url.query_pairs().find(|(k, _)| k == api_spec::ORIGINS) else {
        return Ok(false);
    };
    match value.as_ref() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(ApiError::BadQuery {
            name: "origins",
            problem: format!("must be true or false, got '{other:.40}'"),
        }),
    }
}

/// `GET /v1/platform/config/{namespace}`; the layer at an earlier `version` (`?version=N`)
/// when one is given.
pub async fn get_platform(
    env: &Env,
    namespace: &str,
    version: Option<u64>,
) -> Result<Response, ApiError> {
    let path = match version {
        Some(v) => format!("/layers/{namespace}?version={v}"),
        None => format!("/layers/{namespace}"),
    };
    let doc: StoredDocument = Hub::platform(env)?
        .call::<(), _>(Method::Get, &path, None)
        .await?;
    with_etag(Response::from_json(&doc)?, doc.version)
}

/// `PUT` or `PATCH /v1/platform/config/{namespace}`: changes the platform layer; the platform
/// hub fans the change out to every tenant. `caller` (with the request's id) is recorded in
/// the platform history as it is for tenant writes.
pub async fn write_platform(
    env: &Env,
    mut req: Request,
    mode: WriteMode,
    caller: &Caller,
    namespace: &str,
) -> Result<Response, ApiError> {
    let (change, guard) = read_write(&mut req, mode, caller).await?;
    let write = LayerWrite {
        user: None,
        change,
        triggered_by: caller.sub.clone(),
        guard,
        context: HubContext::default(),
    };
    let ack: WriteAck = Hub::platform(env)?
        .call(Method::Put, &format!("/layers/{namespace}"), Some(&write))
        .await?;
    targeted_response(env, &ack, namespace).await
}

/// A platform write's answer: the acknowledgement, with how many tenants the change
/// reaches (`targetedTenants`) and, when none, a `warning` saying why
/// ([`crate::targeting`]). The write is durable already: a failed count is logged and the
/// answer goes without it.
pub async fn targeted_response(
    env: &Env,
    ack: &WriteAck,
    namespace: &str,
) -> Result<Response, ApiError> {
    let Ok(ns) = cascade_engine::scope::Namespace::new(namespace) else {
        return ack_response(ack);
    };
    let targeting = crate::targeting::targeted(env, &ns).await;
    with_targeting(ack, targeting, namespace)
}

/// The answer to a platform batch of `events`: as [`targeted_response`], counted over the
/// batch's events.
pub async fn targeted_events_response(
    env: &Env,
    ack: &WriteAck,
    events: &[cascade_engine::event::ChangeEvent],
) -> Result<Response, ApiError> {
    let targeting = crate::targeting::targeted_by(env, events).await;
    with_targeting(ack, targeting, "a platform batch")
}

/// A platform write's acknowledgement: a [`WriteAck`] with how many tenants the change
/// reaches.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(utoipa::ToSchema))]
#[cfg_attr(test, schema(example = json!({
    "seq": 8, "version": 8, "changed": true, "targetedTenants": 0,
    "warning": "no enabled rule delivers namespace 'auth' to tenants"
})))]
pub struct PlatformWriteAck<'a> {
    /// The hub's acknowledgement.
    #[serde(flatten)]
    pub ack: &'a WriteAck,
    /// Tenants the change reaches: registered tenants accepted by an enabled rule that one of
    /// its events triggers with a downward target (a whole-document platform write of a
    /// namespace is the event {namespace}.update; a batch counts each of its events'
    /// topics), minus those opted out of that event's namespace; a tenant counts once.
    /// Absent if it could not be counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub targeted_tenants: Option<u64>,
    /// Present when the change reaches no tenant: says why (no enabled rule delivers the
    /// namespace, or the rules' filters and opt-outs leave none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

fn with_targeting(
    ack: &WriteAck,
    targeting: Result<crate::targeting::Targeting, ApiError>,
    what: &str,
) -> Result<Response, ApiError> {
    let mut body = PlatformWriteAck {
        ack,
        targeted_tenants: None,
        warning: None,
    };
    match targeting {
        Ok(t) => {
            body.targeted_tenants = Some(t.tenants);
            body.warning = t.warning;
        }
        Err(e) => worker::console_error!(
            "targeted tenants of {what} not counted: {}",
            e.to_problem().detail
        ),
    }
    let mut resp = with_etag(Response::from_json(&body)?, ack.version)?;
    if ack.replayed {
        resp.headers_mut().set("idempotent-replayed", "true")?;
    }
    Ok(resp)
}

/// The tenant's registry entry and the enabled rules, for a tenant hub call (404 when the
/// tenant is not registered).
pub async fn hub_context(env: &Env, tenant: &str) -> Result<HubContext, ApiError> {
    let db = tenants::db(env)?;
    // The registry's reads in one D1 call, in flight with the platform's seq (a cached
    // Durable Object call): one round trip on the write path.
    let (registry, latest) = futures::join!(
        registry::write_context(&db, tenant),
        crate::lag::platform_latest(env)
    );
    let registry = registry?;
    let (entry, context) = registry
        .tenant
        .filter(|(e, _)| e.lifecycle != lifecycle_steps::DELETING)
        .ok_or_else(|| ApiError::TenantNotFound(tenant.to_owned()))?;
    if entry.lifecycle == lifecycle_steps::REGISTERING {
        // A registration a crash cut short: the hub adopts its incarnation and catches up
        // before it takes anything else.
        lifecycle_steps::finish_registration(env, &db, &entry).await?;
    }
    Ok(HubContext {
        tenant: context,
        rules: registry.rules,
        incarnation: Some(entry.incarnation),
        // A hub behind every finished fan-out catches up before the write (None: unknown,
        // it does not wait).
        platform_seq: latest.ok().map(|s| s.settled_seq),
    })
}

/// Reads a write: the change its body asks for and the write's guards.
async fn read_write(
    req: &mut Request,
    mode: WriteMode,
    caller: &Caller,
) -> Result<(LayerChange, WriteGuard), ApiError> {
    let guard = write_guard(req, caller)?;
    let media = req.headers().get("content-type")?.unwrap_or_default();
    let media = media
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let body: Value = input::json_body(req).await?;
    let change = match mode {
        WriteMode::Put => LayerChange::Replace(input::config_object(body)?),
        WriteMode::Patch if media == MERGE_PATCH => LayerChange::Merge(input::config_object(body)?),
        WriteMode::Patch if media == JSON_PATCH => {
            let ops = body.as_array().map_or(0, Vec::len);
            if ops > MAX_PATCH_OPS {
                return Err(ApiError::MalformedJson(format!(
                    "a JSON Patch may have at most {MAX_PATCH_OPS} operations, got {ops}"
                )));
            }
            let patch = serde_json::from_value(body)
                .map_err(|e| ApiError::MalformedJson(format!("not an RFC 6902 JSON Patch: {e}")))?;
            LayerChange::Json(patch)
        }
        WriteMode::Patch => return Err(ApiError::UnsupportedMediaType(media)),
    };
    Ok((change, guard))
}

/// The guards of a write by `caller`: its `If-Match` and `Idempotency-Key` headers, and
/// who sends it (each caller has its own write budget and its own idempotency keys).
pub fn write_guard(req: &Request, caller: &Caller) -> Result<WriteGuard, ApiError> {
    Ok(WriteGuard {
        caller: Some(caller.clone()),
        ..header_guard(req)?
    })
}

/// The `If-Match` and `Idempotency-Key` headers of a request, for nobody in particular.
pub fn header_guard(req: &Request) -> Result<WriteGuard, ApiError> {
    let if_match = match req.headers().get(api_spec::IF_MATCH)? {
        Some(value) => parse_if_match(&value)?,
        None => None,
    };
    let idempotency_key = match req.headers().get(api_spec::IDEMPOTENCY_KEY)? {
        Some(key) => Some(check_idempotency_key(key)?),
        None => None,
    };
    Ok(WriteGuard {
        if_match,
        idempotency_key,
        caller: None,
    })
}

/// The largest version a request may name: hubs read numbers as JavaScript does, and no hub
/// will ever reach 2^53 - 1 changes.
pub const MAX_VERSION: u64 = cascade_engine::validate::MAX_SAFE_INTEGER;

/// Parses `If-Match`: one entity tag as sent in `ETag` (`"v3"`, weak `W/"v3"` accepted), or
/// `*` (any version: no check).
pub fn parse_if_match(value: &str) -> Result<Option<u64>, ApiError> {
    let value = value.trim();
    if value == "*" {
        return Ok(None);
    }
    value
        .trim_start_matches("W/")
        .strip_prefix("\"v")
        .and_then(|rest| rest.strip_suffix('"'))
        .and_then(|n| n.parse().ok())
        .filter(|n| *n <= MAX_VERSION)
        .map(Some)
        .ok_or_else(|| ApiError::BadHeader {
            name: api_spec::IF_MATCH,
            problem: format!("expected an ETag such as \"v3\" (from a GET), got {value:.40}"),
        })
}

fn check_idempotency_key(key: String) -> Result<String, ApiError> {
    if key.is_empty()
        || key.len() > MAX_IDEMPOTENCY_KEY_LEN
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(ApiError::BadHeader {
            name: api_spec::IDEMPOTENCY_KEY,
            problem: format!("must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters"),
        });
    }
    Ok(key)
}

/// The strong entity tag of a document version.
pub fn etag(version: u64) -> String {
    format!("\"v{version}\"")
}

/// The answer to a write: the acknowledgement with its `ETag`, flagged when replayed.
pub fn ack_response(ack: &WriteAck) -> Result<Response, ApiError> {
    let mut resp = with_etag(Response::from_json(ack)?, ack.version)?;
    if ack.replayed {
        resp.headers_mut().set("idempotent-replayed", "true")?;
    }
    Ok(resp)
}

fn with_etag(mut resp: Response, version: u64) -> Result<Response, ApiError> {
    resp.headers_mut().set("etag", &etag(version))?;
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_accepts_our_etags_and_star() {
        assert_eq!(parse_if_match("\"v3\"").ok(), Some(Some(3)));
        assert_eq!(parse_if_match("W/\"v12\"").ok(), Some(Some(12)));
        assert_eq!(parse_if_match("*").ok(), Some(None));
        for bad in ["v3", "\"3\"", "\"vx\"", ""] {
            assert!(
                matches!(
                    parse_if_match(bad),
                    Err(ApiError::BadHeader {
                        name: "If-Match",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn etags_round_trip_through_if_match() {
        assert_eq!(parse_if_match(&etag(42)).ok(), Some(Some(42)));
    }

    #[test]
    fn idempotency_keys_are_bounded_visible_ascii() {
        assert!(check_idempotency_key("order-42/retry".into()).is_ok());
        assert!(check_idempotency_key(String::new()).is_err());
        assert!(check_idempotency_key("has space".into()).is_err());
        assert!(check_idempotency_key("k".repeat(256)).is_err());
    }
}
