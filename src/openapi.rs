//! The OpenAPI 3.1 document (`docs/openapi.json`, served at `/v1/openapi.json`), generated
//! from the Rust types and the route table (test builds only, so the wasm never carries
//! `utoipa`).
//!
//! What is generated:
//! - every path and method, its `operationId`, its path parameters and its security, from
//!   [`ROUTES`] (the access rule becomes `security` and `x-cascade-access`);
//! - the schemas of the types the handlers send, derived with `utoipa::ToSchema` (field
//!   descriptions are their doc comments, each with an example): [`typed_schemas`];
//! - the bodies of the endpoints that send those types: [`success_responses`];
//! - every size limit, from the constants the Worker and the engine enforce: the `Name`,
//!   `Namespace`, `Document`, `JsonPatch` and `EventBatch` schemas, the config write and event
//!   request bodies, and the limits paragraph of `info.description`;
//! - the value rules of config bodies (`ConfigValue`, `ConfigArrayItem`: exact integers,
//!   `null` only as an object member outside arrays) and of posted events (`PostedEvent`:
//!   `targetId` at tenant and user scope, `tenantId`), checked against the Worker's and the
//!   engine's own validation by tests here.
//!
//! - per operation its summary and description, its query and header parameters and the
//!   failures particular to it, from its row in [`ROUTES`] (parameters and failures are
//!   defined in [`crate::api_spec`]);
//! - its error answers: derived from the row ([`failures`]: access rule, path, parameters,
//!   body, method) plus the row's own, each status's failures described together;
//! - its successful answers: [`success_responses`].
//!
//! Nothing is kept by hand: the document is the route table and the types.
//!
//! Regenerate: `UPDATE_OPENAPI=1 cargo test --lib openapi`.

use cascade_durable::health_walk::TenantHealth;
use cascade_durable::internal::NamespaceDrift;
use cascade_durable::internal::{ConflictItem, DeliveryAck, HubStatus, PendingItem, WriteAck};
use cascade_durable::{MAX_OPEN_ITEMS_LISTED, MAX_OUTCOMES_LISTED};
use cascade_engine::conflict::{Conflict, ConflictAction};
use cascade_engine::converge::DriftReason;
use cascade_engine::event::ChangeEvent;
use cascade_engine::pending::PendingChange;
use cascade_engine::rule::{ConflictResolution, SyncDirection, SyncRule, TriggerPattern};
use cascade_engine::scope::Subject;
use cascade_engine::validate::{MAX_BATCH_EVENTS, MAX_DEPTH, MAX_PATCH_OPS, MAX_SAFE_INTEGER};
use cascade_protocol::{
    HistoryEntry, HistoryPage, Problem, Role, Scope, StoredDocument, SyncState, MAX_NAME_LEN,
};
use serde_json::{json, Map, Value};
use utoipa::{PartialSchema, ToSchema};
use worker::Method;

use crate::alerts::AlertReport;
use crate::api_spec::{Failure, In, Param, Values};
use crate::audit::{RefusalEntry, RefusalPage};
use crate::auth::access::Rule;
use crate::config::{PlatformWriteAck, MAX_IDEMPOTENCY_KEY_LEN};
use crate::health::{Counts, Snapshot, TenantStatusView};
use crate::input::MAX_BODY_BYTES;
use crate::operations::Rollback;
use crate::problem::ApiError;
use crate::problem::FieldProblem;
use crate::retention::Pruned;
use crate::routes::{Endpoint, Liveness, Route, ROUTES};
use crate::rules::{RuleBody, StoredRule, MAX_TENANT_FILTER_ATTRIBUTES};
use crate::sync_all::{SyncReport, TenantSync, Totals};
use crate::targeting::Preview;
use crate::tenants::{Tenant, TenantInput};

/// Where the generated document is written (and served from, by `include_str!`).
const OUTPUT: &str = "docs/openapi.json";

/// One derived schema: its name and its JSON.
fn schema_of<T: ToSchema>() -> (String, Value) {
    let schema = serde_json::to_value(<T as PartialSchema>::schema()).expect("serializes");
    (T::name().into_owned(), schema)
}

/// The schemas derived from the Rust types the handlers send.
fn typed_schemas() -> Vec<(String, Value)> {
    vec![
        schema_of::<Role>(),
        schema_of::<Scope>(),
        schema_of::<SyncState>(),
        schema_of::<Problem>(),
        schema_of::<StoredDocument>(),
        schema_of::<HistoryEntry>(),
        schema_of::<HistoryPage>(),
        schema_of::<RefusalEntry>(),
        schema_of::<RefusalPage>(),
        schema_of::<Liveness>(),
        schema_of::<ChangeEvent>(),
        schema_of::<ConflictResolution>(),
        schema_of::<Subject>(),
        schema_of::<PendingChange>(),
        schema_of::<Conflict>(),
        schema_of::<PendingItem>(),
        schema_of::<ConflictItem>(),
        schema_of::<WriteAck>(),
        schema_of::<PlatformWriteAck>(),
        schema_of::<Tenant>(),
        schema_of::<FieldProblem>(),
        schema_of::<HubStatus>(),
        schema_of::<DeliveryAck>(),
        schema_of::<TenantInput>(),
        schema_of::<SyncDirection>(),
        schema_of::<TriggerPattern>(),
        schema_of::<SyncRule>(),
        schema_of::<RuleBody>(),
        schema_of::<StoredRule>(),
        schema_of::<Preview>(),
        schema_of::<Snapshot>(),
        schema_of::<Counts>(),
        schema_of::<AlertReport>(),
        schema_of::<Pruned>(),
        schema_of::<TenantHealth>(),
        schema_of::<NamespaceDrift>(),
        schema_of::<DriftReason>(),
        schema_of::<TenantStatusView>(),
        schema_of::<SyncReport>(),
        schema_of::<TenantSync>(),
        schema_of::<Totals>(),
        schema_of::<Rollback>(),
        schema_of::<ConflictAction>(),
    ]
}

/// The schemas that carry the limits, built from the enforced constants.
fn limit_schemas() -> Vec<(String, Value)> {
    let name_rest = MAX_NAME_LEN - 1;
    let kib = MAX_BODY_BYTES / 1024;
    vec![
        (
            "Name".into(),
            json!({
                "type": "string",
                "maxLength": MAX_NAME_LEN,
                "pattern": format!("^[A-Za-z0-9][A-Za-z0-9_-]{{0,{name_rest}}}$"),
                "description": format!("A tenant, user or rule id: 1 to {MAX_NAME_LEN} letters, digits, '-' or '_', starting with a letter or digit."),
                "examples": ["acme"],
            }),
        ),
        (
            "Namespace".into(),
            json!({
                "type": "string",
                "maxLength": MAX_NAME_LEN,
                "pattern": format!("^[A-Za-z][A-Za-z0-9_-]{{0,{name_rest}}}$"),
                "description": format!("A namespace (config type): 1 to {MAX_NAME_LEN} letters, digits, '-' or '_', starting with a letter."),
                "examples": ["auth"],
            }),
        ),
        (
            "ItemId".into(),
            json!({
                "type": "string",
                "maxLength": 40,
                "pattern": "^[0-9.]{1,40}$",
                "description": "A pending change's or conflict's id (`{seq}.{n}`), as listed.",
                "examples": ["12.0"],
            }),
        ),
        (
            "Document".into(),
            json!({
                "type": "object",
                "description": format!("A layer's own values: a JSON object of at most {kib} KiB serialized and {MAX_DEPTH} levels deep; every number within ±{MAX_SAFE_INTEGER}; `null` only as an object member outside arrays (a member set to `null` is absent, or deleted by a merge patch)."),
                "additionalProperties": schema_ref("ConfigValue"),
                "examples": [{"mfa": true, "provider": "okta"}],
            }),
        ),
        // The value rules `src/input.rs` (`inexact_integer`) and the engine
        // (`validate::check_config`) enforce, spelled as schemas so generated clients and
        // the fuzzer send what is accepted: two, because `null` may stand for an object
        // member outside arrays and nowhere inside one.
        (
            "ConfigValue".into(),
            json!({
                "description": "A member of a configuration object: `null` (absent, or deleted by a merge patch) or any JSON value whose numbers lie within the exact integer range.",
                "anyOf": [
                    {"type": "null"},
                    schema_ref("ConfigArrayItem"),
                    {"type": "object", "additionalProperties": schema_ref("ConfigValue")},
                ],
            }),
        ),
        (
            "ConfigArrayItem".into(),
            json!({
                "description": "A value inside an array of a configuration: any JSON value but `null`, with no `null` anywhere inside it, and numbers within the exact integer range.",
                "anyOf": [
                    {"type": ["string", "boolean"]},
                    {"type": "number", "minimum": -(MAX_SAFE_INTEGER as i64), "maximum": MAX_SAFE_INTEGER},
                    {"type": "array", "items": schema_ref("ConfigArrayItem")},
                    {"type": "object", "additionalProperties": schema_ref("ConfigArrayItem")},
                ],
            }),
        ),
        (
            "JsonPatch".into(),
            json!({
                "type": "array",
                "maxItems": MAX_PATCH_OPS,
                "description": format!("An RFC 6902 JSON Patch of at most {MAX_PATCH_OPS} operations."),
                "items": {
                    "type": "object",
                    "required": ["op", "path"],
                    "properties": {
                        "op": {"enum": ["add", "remove", "replace", "move", "copy", "test"]},
                        "path": {"type": "string"},
                        "from": {"type": "string"},
                        "value": {}
                    }
                },
                "examples": [[{"op": "replace", "path": "/mfa", "value": true}]],
            }),
        ),
        (
            "EventBatch".into(),
            json!({
                "description": format!("One event, or a batch of 1 to {MAX_BATCH_EVENTS} events all addressed to one hub (the platform, or one tenant); a batch is applied all or nothing."),
                "oneOf": [
                    schema_ref("PostedEvent"),
                    {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": MAX_BATCH_EVENTS,
                        "items": schema_ref("PostedEvent")
                    }
                ]
            }),
        ),
        // `src/events.rs` (`PostedEvent`, `target_hub`) and `ChangeEvent::check_shape`.
        (
            "PostedEvent".into(),
            json!({
                "description": "A change event as `POST /v1/events` takes it: a `ChangeEvent`, with `targetId` required at tenant and user scope, and `tenantId` naming a user-scope event's tenant.",
                "allOf": [schema_ref("ChangeEvent")],
                "properties": {
                    "tenantId": {
                        "allOf": [schema_ref("Name")],
                        "description": "The tenant of a user-scope event; defaults to the caller's tenant, so a platform admin must give it. Ignored at other scopes."
                    }
                },
                "if": {"required": ["scope"], "properties": {"scope": {"enum": ["tenant", "user"]}}},
                "then": {
                    "required": ["targetId"],
                    "properties": {"targetId": schema_ref("Name")}
                },
            }),
        ),
    ]
}

/// `1000` → `1,000`, as the prose writes numbers.
fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The limits paragraph of `info.description`: the sizes from the enforced constants, the
/// sentences on rates, keys and tokens ([`LIMITS_MORE`]) between them.
fn limits_paragraph(more: &str) -> String {
    let kib = MAX_BODY_BYTES / 1024;
    let ops = grouped(MAX_PATCH_OPS);
    let outcomes = grouped(MAX_OUTCOMES_LISTED);
    let items = grouped(MAX_OPEN_ITEMS_LISTED as usize);
    format!(
        "Limits (docs/LIMITS.md), each refused before anything is stored: request bodies {kib} KiB \
         (413 `CASCADE:Request:TooLarge`) and {MAX_DEPTH} levels deep (422 `CASCADE:Request:TooDeep`); \
         a layer, an event's config and a tenant's effective config {kib} KiB each (422 \
         `CASCADE:Validation:TooLarge`); at most {MAX_BATCH_EVENTS} events per batch, all to one hub, \
         and {ops} operations per JSON Patch (422 `CASCADE:Validation:PatchTooLarge`); integers \
         within ±(2^53 − 1) in every JSON body (422 `CASCADE:Validation:InexactInteger`, the detail \
         naming the JSON Pointer; send larger ones as strings); {more} Answers list at most \
         {outcomes} outcomes, then one `{{\"kind\": \"omitted\", \"count\": N}}`; pending and \
         conflict listings return at most {items} items."
    )
}

/// `/v1/tenants/:tenant` → `/v1/tenants/{tenant}`.
fn openapi_path(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|seg| match seg.strip_prefix(':') {
            Some(name) => format!("{{{name}}}"),
            None => seg.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn method_name(method: &Method) -> &'static str {
    match method {
        Method::Get => "get",
        Method::Put => "put",
        Method::Post => "post",
        Method::Patch => "patch",
        Method::Delete => "delete",
        other => panic!("no route uses {other:?}"),
    }
}

/// `TenantHistory` → `tenantHistory`.
fn operation_id(endpoint: Endpoint) -> String {
    let name = format!("{endpoint:?}");
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// A path parameter of `pattern`.
fn path_parameter(name: &str) -> Value {
    let (description, schema) = match name {
        "tenant" => ("Tenant id.", "Name"),
        "user" => ("User id.", "Name"),
        "rule" => ("Rule id.", "Name"),
        "namespace" => (
            "Namespace (config type), e.g. auth, rbac, notifications, modules.",
            "Namespace",
        ),
        "change" => ("Pending change id, as listed.", "ItemId"),
        "conflict" => ("Conflict id, as listed.", "ItemId"),
        other => panic!("path parameter '{other}' has no schema: add it to path_parameter"),
    };
    json!({
        "name": name,
        "in": "path",
        "required": true,
        "description": description,
        "schema": {"$ref": format!("#/components/schemas/{schema}")},
    })
}

/// The access rule as `security` and a sentence.
fn access(rule: Rule) -> (Value, &'static str) {
    let bearer = json!([{"bearer": []}]);
    match rule {
        Rule::Public => (json!([]), "Anyone, without credentials."),
        Rule::PlatformAdmin => (bearer, "Platform admins."),
        Rule::TenantAdminOfPath => (bearer, "Platform admins and admins of the tenant in the path."),
        Rule::MemberOfTenant => (bearer, "Any member of the tenant connected to (platform admins without a tenant connect to the platform)."),
        Rule::UserOfPathOrTenantAdmin => (bearer, "Platform admins, admins of the tenant in the path, and the user in the path."),
        Rule::Authenticated => (bearer, "Any authenticated caller; each event is checked against the caller's role and tenant."),
    }
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// A listing of open items, at most as many as a hub lists.
fn listing(item: &str) -> Value {
    json!({
        "type": "array",
        "maxItems": MAX_OPEN_ITEMS_LISTED,
        "description": format!("At most {MAX_OPEN_ITEMS_LISTED} items."),
        "items": schema_ref(item),
    })
}

/// A JSON answer with `schema`.
fn answer(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

/// A response header.
fn header(description: &str, schema: Value) -> Value {
    json!({"description": description, "schema": schema})
}

/// The headers of a write's answer.
fn write_headers() -> Value {
    json!({
        "ETag": header("Version of the document, e.g. \"v3\"; send it back in If-Match.", json!({"type": "string"})),
        "Idempotent-Replayed": header("Present and true when this is the replay of an earlier request.", json!({"type": "string"})),
    })
}

/// The successful answers of an endpoint, by status.
fn success_responses(endpoint: Endpoint) -> Map<String, Value> {
    use Endpoint as E;
    let array = |item: &str| json!({"type": "array", "items": schema_ref(item)});
    let with_headers = |mut response: Value, headers: Value| {
        response["headers"] = headers;
        response
    };
    let answers: Vec<(&str, Value)> = match endpoint {
        E::Health => vec![("200", answer("The Worker is serving.", schema_ref("Liveness")))],
        E::OpenApi => vec![("200", answer("OpenAPI 3.1 document.", json!({"type": "object"})))],
        E::Status => vec![("200", answer("The snapshot.", schema_ref("Snapshot")))],
        E::TenantStatus => vec![("200", answer("The tenant's status.", schema_ref("TenantStatusView")))],
        E::ListTenants => vec![("200", answer("Tenants by id.", array("Tenant")))],
        E::GetTenant => vec![(
            "200",
            with_headers(
                answer("The tenant.", schema_ref("Tenant")),
                json!({"ETag": header("Version of the registry entry, for If-Match on DELETE.", json!({"type": "string"}))}),
            ),
        )],
        E::PutTenant => vec![
            ("200", answer("Updated.", schema_ref("Tenant"))),
            ("201", answer("Created.", schema_ref("Tenant"))),
        ],
        E::DeleteTenant => vec![(
            "204",
            json!({"description": "Erased.", "headers": {"Idempotent-Replayed": header("true when this answers a retry.", json!({"type": "string"}))}}),
        )],
        E::SyncAll => vec![(
            "200",
            with_headers(
                answer("One line per tenant of the page, the page's totals, and `next`.", schema_ref("SyncReport")),
                json!({"Link": header("`</v1/sync?after={next}&limit={limit}>; rel=\"next\"` when another page follows.", json!({"type": "string"}))}),
            ),
        )],
        E::SyncTenant => vec![("200", answer("Where the tenant is now.", schema_ref("SyncAck")))],
        E::TenantHistory => vec![("200", answer("A page of history.", schema_ref("HistoryPage")))],
        E::TenantRefusals | E::PlatformRefusals => vec![(
            "200",
            answer("A page of refused writes, newest first.", schema_ref("RefusalPage")),
        )],
        E::GetTenantConfig | E::GetUserConfig | E::GetPlatformConfig => {
            vec![("200", answer("The layer's document.", schema_ref("StoredDocument")))]
        }
        E::GetTenantEffective | E::GetUserEffective => {
            vec![("200", answer("The effective document.", schema_ref("StoredDocument")))]
        }
        E::PutTenantConfig | E::PatchTenantConfig | E::PutUserConfig | E::PatchUserConfig => vec![(
            "200",
            with_headers(answer("Durable in the tenant's hub.", schema_ref("WriteAck")), write_headers()),
        )],
        E::PutPlatformConfig | E::PatchPlatformConfig => vec![(
            "200",
            with_headers(answer("Durable in the platform hub.", schema_ref("PlatformWriteAck")), write_headers()),
        )],
        E::PostEvents => vec![(
            "200",
            with_headers(
                answer(
                    "Durable in the hub. A platform batch (events of scope platform) answers a PlatformWriteAck: with `targetedTenants` counted over its events and a `warning` when it reaches none.",
                    json!({"anyOf": [schema_ref("WriteAck"), schema_ref("PlatformWriteAck")]}),
                ),
                write_headers(),
            ),
        )],
        E::AcceptPending | E::RejectPending | E::ResolveConflict | E::Rollback => {
            vec![("200", answer("The decision's commit.", schema_ref("WriteAck")))]
        }
        E::PlatformRollback => vec![("200", answer("The decision's commit.", schema_ref("PlatformWriteAck")))],
        E::ListPending => vec![(
            "200",
            answer("The pending platform changes, oldest first per namespace.", listing("PendingItem")),
        )],
        E::ListConflicts => vec![(
            "200",
            answer("The open conflicts, oldest first per namespace.", listing("ConflictItem")),
        )],
        E::ListRules => vec![("200", answer("Rules.", array("StoredRule")))],
        E::PutRule => vec![
            ("200", answer("Replaced.", schema_ref("StoredRule"))),
            ("201", answer("Created.", schema_ref("StoredRule"))),
        ],
        E::DeleteRule => vec![("204", json!({"description": "Deleted."}))],
        E::PreviewRule => vec![("200", answer("The tenants the rule would reach.", schema_ref("RulePreview")))],
        E::Connect => vec![("101", json!({"description": "Switching protocols."}))],
    };
    answers
        .into_iter()
        .map(|(status, a)| (status.to_owned(), a))
        .collect()
}

/// The request body of an endpoint whose body the limits describe, when it has one.
fn typed_request(endpoint: Endpoint) -> Option<Value> {
    use Endpoint as E;
    Some(match endpoint {
        E::PutTenantConfig | E::PutUserConfig | E::PutPlatformConfig => json!({
            "required": true,
            "content": {"application/json": {"schema": schema_ref("Document")}}
        }),
        E::PatchTenantConfig | E::PatchUserConfig | E::PatchPlatformConfig => json!({
            "required": true,
            "content": {
                "application/merge-patch+json": {"schema": schema_ref("Document")},
                "application/json-patch+json": {"schema": schema_ref("JsonPatch")}
            }
        }),
        E::PostEvents => json!({
            "required": true,
            "content": {"application/json": {"schema": schema_ref("EventBatch")}}
        }),
        E::PutRule | E::PreviewRule => json!({
            "required": true,
            "content": {"application/json": {"schema": schema_ref("RuleBody")}}
        }),
        E::PutTenant => json!({
            "required": true,
            "content": {"application/json": {"schema": schema_ref("TenantInput")}}
        }),
        E::Rollback | E::PlatformRollback => json!({
            "required": true,
            "content": {"application/json": {"schema": schema_ref("Rollback")}}
        }),
        E::ResolveConflict => json!({
            "required": true,
            "content": {"application/json": {"schema": schema_ref("ConflictAction")}}
        }),
        _ => return None,
    })
}

/// A parameter definition as an OpenAPI parameter.
fn parameter(param: &Param) -> Value {
    let schema = match param.values {
        Values::Integer { min, max, default } => {
            let mut schema = json!({"type": "integer", "minimum": min});
            if max <= MAX_SAFE_INTEGER {
                schema["maximum"] = max.into();
            }
            if let Some(default) = default {
                schema["default"] = default.into();
            }
            schema
        }
        Values::Boolean => json!({"type": "boolean"}),
        Values::OneOf(words) => json!({"enum": words}),
        Values::Schema(name) => schema_ref(name),
        Values::Text { pattern, max_len } => {
            json!({"type": "string", "minLength": 1, "maxLength": max_len, "pattern": pattern})
        }
        Values::EntityTag => json!({
            "type": "string",
            "pattern": "^(\\*|(W/)?\"v[0-9]{1,16}\")$",
            "examples": ["\"v3\""],
        }),
    };
    json!({
        "name": param.name,
        "in": match param.location { In::Query => "query", In::Header => "header" },
        "required": false,
        "description": param.description,
        "schema": schema,
    })
}

/// The status of a failure: the Worker's from its `ApiError` (`src/problem.rs`), a hub's from
/// the problem it answers (passed on as it is).
fn status(failure: Failure) -> u16 {
    use Failure as F;
    let api = |e: ApiError| e.to_problem().status;
    match failure {
        F::InvalidName => api(ApiError::InvalidName {
            what: "tenant",
            value: String::new(),
        }),
        F::BadQuery => api(ApiError::BadQuery {
            name: "limit",
            problem: String::new(),
        }),
        F::BadHeader => api(ApiError::BadHeader {
            name: "If-Match",
            problem: String::new(),
        }),
        F::MalformedJson => api(ApiError::MalformedJson(String::new())),
        F::Unauthenticated => api(ApiError::Unauthenticated("")),
        F::Forbidden => api(ApiError::Forbidden(String::new())),
        F::TenantNotFound => api(ApiError::TenantNotFound(String::new())),
        F::RuleNotFound => api(ApiError::RuleNotFound(String::new())),
        F::NoSnapshot => api(ApiError::NoSnapshot),
        F::NotChecked => api(ApiError::NotChecked(String::new())),
        F::TenantChanged => api(ApiError::TenantChanged {
            tenant: String::new(),
            etag: String::new(),
        }),
        F::TooLarge => api(ApiError::BodyTooLarge { size: 0, limit: 0 }),
        F::UnsupportedMediaType => api(ApiError::UnsupportedMediaType(String::new())),
        F::Unprocessable => api(ApiError::TooDeep { depth: 0, limit: 0 }),
        F::InvalidRule => api(ApiError::InvalidRule(String::new())),
        F::UpgradeRequired => api(ApiError::UpgradeRequired),
        F::EraseFailed => api(ApiError::Internal(String::new())),
        // Hubs answer these, passed on as they are: the engine's errors by kind
        // (durable/src/engine_error.rs), versioned reads (durable/src/versioned_read.rs), the
        // write admission (durable/src/core.rs), socket caps and catch-up (durable/src/tenant_hub).
        F::ItemNotFound => 404,
        F::OutOfOrder | F::LockedPath => 409,
        F::VersionUnreachable => 422,
        F::VersionNotFound => 404,
        F::VersionNotRetained => 410,
        F::VersionMismatch => 412,
        F::KeyReused => 422,
        F::RateLimited | F::TooManySockets => 429,
        F::CatchUpFailed => 502,
    }
}

/// What a failure means, as the document says it.
fn failure_text(failure: Failure) -> String {
    use Failure as F;
    let kib = MAX_BODY_BYTES / 1024;
    match failure {
        F::InvalidName => "A path parameter is not a valid name (`CASCADE:Request:InvalidName`).".into(),
        F::BadQuery => "A query parameter is malformed or unknown (`CASCADE:Request:BadQuery`).".into(),
        F::BadHeader => format!("A header is malformed: `If-Match` not an ETag, `Idempotency-Key` not 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters (`CASCADE:Request:BadHeader`)."),
        F::MalformedJson => "The body is not JSON, or not of the shape this endpoint takes (`CASCADE:Request:MalformedJson`).".into(),
        F::Unauthenticated => "Missing or invalid token (`CASCADE:Auth:Unauthenticated`).".into(),
        F::Forbidden => "The caller's role may not do this (`CASCADE:Auth:Forbidden`).".into(),
        F::TenantNotFound => "No such tenant (`CASCADE:Tenant:NotFound`).".into(),
        F::RuleNotFound => "No such rule (`CASCADE:Rule:NotFound`).".into(),
        F::NoSnapshot => "No health check has run yet (`CASCADE:Health:NoSnapshot`).".into(),
        F::NotChecked => "No health check has seen the tenant yet (`CASCADE:Health:NotChecked`).".into(),
        F::ItemNotFound => "No such pending change or conflict (`CASCADE:Pending:NotFound`, `CASCADE:Conflict:NotFound`).".into(),
        F::VersionNotFound => "No such version yet (`?version=`, `CASCADE:Config:VersionNotFound`).".into(),
        F::LockedPath => "The write touches a locked path (`CASCADE:Rule:LockedPath`).".into(),
        F::OutOfOrder => "Out of order: pending changes are decided oldest first (`CASCADE:Pending:OutOfOrder`).".into(),
        F::VersionNotRetained => "The version asked for is no longer retained (`CASCADE:Config:VersionNotRetained`).".into(),
        F::VersionMismatch => "If-Match names a version the document has moved past (`CASCADE:Config:VersionMismatch`).".into(),
        F::TenantChanged => "If-Match names an older version of the tenant (`CASCADE:Tenant:VersionMismatch`).".into(),
        F::TooLarge => format!("Body larger than {kib} KiB (`CASCADE:Request:TooLarge`)."),
        F::UnsupportedMediaType => "Neither merge patch nor JSON Patch (`CASCADE:Request:UnsupportedMediaType`).".into(),
        F::Unprocessable => "Valid JSON refused: of the wrong shape, too deep, with an integer outside ±(2^53 − 1), or refused by the engine's validation.".into(),
        F::KeyReused => "The `Idempotency-Key` was used for a different request (`CASCADE:Idempotency:KeyReused`).".into(),
        F::InvalidRule => "The rule is invalid: `CASCADE:Rule:Invalid`; when one field is missing or does not parse, `pointer` names it (`/syncDirection`).".into(),
        F::VersionUnreachable => "A version the history cannot reach (`CASCADE:History:Unreachable`, `CASCADE:History:FutureVersion`).".into(),
        F::UpgradeRequired => "Not a WebSocket upgrade (`CASCADE:Connect:UpgradeRequired`).".into(),
        F::RateLimited => "Write rate limit, the caller's own (25/s, burst 50) or the hub's (50/s, burst 100); see Retry-After (`CASCADE:RateLimit:Writes`).".into(),
        F::TooManySockets => "Too many open sockets: one more than the cap per user (`MAX_SOCKETS_PER_USER`, default 8) or per tenant (`MAX_SOCKETS_PER_TENANT`, default 20,000) on the tenant's hub. Refused before the upgrade with code `CASCADE:Connect:TooManySockets`; the detail names the cap and the count. See docs/PROTOCOL.md (Connection limits).".into(),
        F::CatchUpFailed => "The tenant's hub could not fetch or apply the platform updates it lacks; nothing is lost, retry (`CASCADE:Fanout:CatchUp`).".into(),
        F::EraseFailed => "The tenant's hub could not be erased now (`CASCADE:Internal`): the tenant stays marked deleting, and a retry or the lifecycle alarm finishes the deletion.".into(),
    }
}

/// Every failure `route` can answer: those that follow from its access rule, path,
/// parameters, body and method, and those its row lists.
fn failures(route: &Route) -> Vec<Failure> {
    use Failure as F;
    let mut found: Vec<Failure> = route.failures.to_vec();
    if route.access != Rule::Public {
        found.extend([F::Unauthenticated, F::Forbidden]);
    }
    if route.path.contains("/:") {
        found.push(F::InvalidName);
    }
    // Every route addressing a tenant requires it registered, but the one registering it.
    if route.path.contains("/:tenant") && route.endpoint != Endpoint::PutTenant {
        found.push(F::TenantNotFound);
    }
    for param in route.params {
        found.push(match param.location {
            In::Query => F::BadQuery,
            In::Header => F::BadHeader,
        });
        found.extend(param.failures);
    }
    if typed_request(route.endpoint).is_some() {
        found.extend([F::MalformedJson, F::TooLarge, F::Unprocessable]);
    }
    if route.method == Method::Patch {
        found.push(F::UnsupportedMediaType);
    }
    found.sort();
    found.dedup();
    found
}

/// The error answers of `route`, one per status, each describing every failure of that status.
fn error_responses(route: &Route) -> Map<String, Value> {
    let mut by_status: std::collections::BTreeMap<u16, Vec<Failure>> = Default::default();
    for failure in failures(route) {
        by_status.entry(status(failure)).or_default().push(failure);
    }
    by_status
        .into_iter()
        .map(|(status, failures)| {
            let description = failures.iter().map(|f| failure_text(*f)).collect::<Vec<_>>().join(" ");
            let schema = if failures.contains(&Failure::InvalidRule) {
                json!({"anyOf": [schema_ref("FieldProblem"), schema_ref("Problem")]})
            } else {
                schema_ref("Problem")
            };
            let mut response = json!({
                "description": description,
                "content": {"application/problem+json": {"schema": schema}},
            });
            if status == 429 {
                response["headers"] = json!({"Retry-After": {
                    "description": "Seconds to wait before trying again (also `retryAfter` in the document).",
                    "schema": {"type": "integer"},
                }});
            }
            (status.to_string(), response)
        })
        .collect()
}

/// One operation, entirely from its route row and the types.
fn operation(route: &Route) -> Value {
    let mut parameters: Vec<Value> = route
        .path
        .split('/')
        .filter_map(|seg| seg.strip_prefix(':'))
        .map(path_parameter)
        .collect();
    parameters.extend(route.params.iter().map(|p| parameter(p)));
    let (security, who) = access(route.access);
    let mut op = json!({
        "summary": route.summary,
        "operationId": operation_id(route.endpoint),
        "security": security,
        "x-cascade-access": who,
    });
    if !route.description.is_empty() {
        op["description"] = route.description.into();
    }
    if !parameters.is_empty() {
        op["parameters"] = Value::Array(parameters);
    }
    if let Some(body) = typed_request(route.endpoint) {
        op["requestBody"] = body;
    }
    let mut responses = success_responses(route.endpoint);
    responses.extend(error_responses(route));
    op["responses"] = Value::Object(responses);
    op
}

/// The document's title.
const TITLE: &str = "Cascade admin API";
/// The first paragraph of `info.description`.
const INTRO: &str = "Multi-tenant configuration sync: platform, tenant and user layers, kept in sync in real time. Errors are RFC 7807 problem documents with a stable `code`.";
/// The limits paragraph's sentences on rates, keys and tokens.
const LIMITS_MORE: &str = "writes per hub 50/s with bursts of 100, and per caller (token `sub` and role) half of that inside it, 25/s with bursts of 50 (429 `CASCADE:RateLimit:Writes`, `Retry-After`). An `Idempotency-Key` belongs to its caller: another caller sending the same key makes a request of its own. A token is read from `Authorization: Bearer`; only `/v1/connect` also takes it as the `access_token` query parameter (elsewhere a token in the URL is refused with 401).";
/// The last paragraph of `info.description`.
const MORE: &str = "Every answer carries `Cascade-Request-Id`: the request's `Cascade-Request-Id` (or `X-Request-Id`) when it is 1 to 128 visible ASCII characters, else a new one. History entries record it with the writer's subject and role; refused writes are listed by GET /v1/tenants/{tenant}/refusals.";

/// The whole document.
pub fn generate() -> Value {
    let mut schemas = Map::new();
    for (name, schema) in typed_schemas().into_iter().chain(limit_schemas()) {
        schemas.insert(name, schema);
    }
    // A limit the Worker enforces on a type the engine declares.
    let filter = &mut schemas["SyncRule"]["properties"]["tenantFilter"];
    filter["maxProperties"] = MAX_TENANT_FILTER_ATTRIBUTES.into();

    let mut paths = Map::new();
    for route in ROUTES {
        paths
            .entry(openapi_path(route.path))
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("a path item is an object")
            .insert(method_name(&route.method).into(), operation(route));
    }

    let description = format!("{INTRO}\n\n{}\n\n{MORE}", limits_paragraph(LIMITS_MORE));
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": env!("CARGO_PKG_VERSION"),
            "description": description,
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": format!(
                        "HS256 or EdDSA; claims sub, tid, role ({}), exp, nbf.",
                        [Role::PlatformAdmin, Role::TenantAdmin, Role::User].map(Role::as_str).join(", ")
                    ),
                }
            },
            "schemas": schemas,
        },
    })
}

/// The document as written to `docs/openapi.json`.
fn render() -> String {
    let mut text = serde_json::to_string_pretty(&generate()).expect("serializes");
    text.push('\n');
    text
}

#[test]
fn served_document_is_the_generated_one() {
    let fresh = render();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(OUTPUT);
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &fresh).expect("writes docs/openapi.json");
        return;
    }
    assert!(
        crate::routes::OPENAPI_JSON == fresh,
        "{OUTPUT} differs from what the Rust types and the route table generate: regenerate it with \
         UPDATE_OPENAPI=1 cargo test --lib openapi (after editing the types, ROUTES or \
         src/api_spec.rs, never docs/openapi.json itself)"
    );
}

/// Every `$ref` in `value`.
fn refs(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                found.push(r.clone());
            }
            map.values().for_each(|v| refs(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves() {
    let doc = generate();
    let mut found = Vec::new();
    refs(&doc, &mut found);
    for r in found {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {r}"));
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{r} does not resolve: list its type in typed_schemas"
        );
    }
}

#[test]
fn limits_in_the_document_are_the_enforced_ones() {
    let doc = generate();
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["JsonPatch"]["maxItems"], MAX_PATCH_OPS);
    assert_eq!(
        schemas["EventBatch"]["oneOf"][1]["maxItems"],
        MAX_BATCH_EVENTS
    );
    assert_eq!(schemas["Name"]["maxLength"], MAX_NAME_LEN);
    assert_eq!(
        schemas["SyncRule"]["properties"]["tenantFilter"]["maxProperties"],
        MAX_TENANT_FILTER_ATTRIBUTES
    );
    let events = &doc["paths"]["/v1/events"]["post"]["requestBody"]["content"]["application/json"];
    assert_eq!(events["schema"]["$ref"], "#/components/schemas/EventBatch");
    assert!(doc["info"]["description"]
        .as_str()
        .is_some_and(|d| d.contains("256 KiB") && d.contains("at most 100 events")));
}

#[test]
fn every_derived_schema_has_an_example_and_described_fields() {
    for (name, schema) in typed_schemas() {
        let has_example = schema.get("example").is_some() || schema.get("examples").is_some();
        assert!(has_example, "schema {name} has no example");
        if let Some(properties) = schema["properties"].as_object() {
            for (field, property) in properties {
                let described = property.get("description").is_some()
                    || property["allOf"].is_array()
                    || property["oneOf"].is_array();
                assert!(
                    described,
                    "{name}.{field} has no description (a doc comment)"
                );
            }
        }
    }
}

#[test]
fn every_operation_has_a_summary_parameters_with_schemas_and_answers() {
    let doc = generate();
    for route in ROUTES {
        let op = &doc["paths"][openapi_path(route.path)][method_name(&route.method)];
        let name = format!("{} {}", route.method, route.path);
        assert!(
            op["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{name}: no summary"
        );
        for p in op["parameters"].as_array().into_iter().flatten() {
            let described = p["description"].as_str().is_some_and(|d| !d.is_empty());
            assert!(
                described,
                "{name}: parameter {} has no description",
                p["name"]
            );
            assert!(
                p["schema"].is_object(),
                "{name}: parameter {} has no schema",
                p["name"]
            );
        }
        let responses = op["responses"].as_object().expect("responses");
        assert!(
            responses
                .keys()
                .any(|s| s.starts_with('1') || s.starts_with('2')),
            "{name}: no successful answer"
        );
        for (status, response) in responses {
            let described = response["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty());
            assert!(described, "{name}: answer {status} has no description");
        }
    }
}

#[test]
fn a_route_lists_each_parameter_once() {
    for route in ROUTES {
        let mut seen: Vec<(&str, In)> = route.params.iter().map(|p| (p.name, p.location)).collect();
        let count = seen.len();
        seen.sort_by_key(|(n, _)| *n);
        seen.dedup();
        assert_eq!(
            seen.len(),
            count,
            "{} {} lists a parameter twice",
            route.method,
            route.path
        );
    }
}

#[test]
fn derived_failures_follow_the_row() {
    let route = |endpoint| {
        ROUTES
            .iter()
            .find(|r| r.endpoint == endpoint)
            .expect("routed")
    };
    let statuses = |endpoint| {
        error_responses(route(endpoint))
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    // A public route has no credentials to refuse.
    assert!(statuses(Endpoint::Health).is_empty());
    // If-Match, Idempotency-Key, a tenant path, a PATCH body and the row's own failures.
    assert_eq!(
        statuses(Endpoint::PatchTenantConfig),
        ["400", "401", "403", "404", "409", "412", "413", "415", "422", "429"]
    );
    // A version read: 404 and 410 from the parameter, and no body.
    assert_eq!(
        statuses(Endpoint::GetPlatformConfig),
        ["400", "401", "403", "404", "410"]
    );
    // Registering a tenant is never "no such tenant".
    assert!(!statuses(Endpoint::PutTenant).contains(&"404".to_owned()));
    // The Worker's statuses are its `ApiError`s'.
    assert_eq!(status(Failure::TenantChanged), 412);
    assert_eq!(status(Failure::EraseFailed), 500);
}

/// A validator for the document's schema `name`, its references resolved inside `doc`.
fn validator(doc: &Value, name: &str) -> jsonschema::Validator {
    let root = json!({
        "$ref": format!("#/components/schemas/{name}"),
        "components": doc["components"],
    });
    jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("schema {name} compiles: {e}"))
}

/// Whether the Worker and the engine take `body` as a config document: the Worker's parse
/// (sizes, depth, exact integers) and the engine's value rules (`null` outside arrays).
fn api_accepts_config(body: &Value) -> bool {
    let Ok(parsed) = crate::input::parse_json::<Value>(body.to_string().as_bytes()) else {
        return false;
    };
    cascade_engine::validate::check_config(&parsed, &cascade_engine::validate::Limits::default())
        .is_ok()
}

#[test]
fn config_schemas_accept_exactly_what_the_api_accepts() {
    let doc = generate();
    let schema = validator(&doc, "Document");
    let max = MAX_SAFE_INTEGER;
    let bodies = [
        json!({"mfa": true, "provider": "okta"}),
        json!({"gone": null, "nested": {"gone": null, "kept": 1}}),
        json!({"n": max, "m": -(max as i64), "f": -1.5, "list": [1, "x", {"k": [true, 2.5]}]}),
        json!({"n": max + 1}),
        json!({"deep": {"list": [3, -(max as i64) - 1]}}),
        json!({"f": 1e300}),
        json!({"list": [null]}),
        json!({"list": [{"inner": null}]}),
        json!({"list": [[1, [null]]]}),
        json!([1, 2]),
        json!("text"),
    ];
    for body in bodies {
        assert_eq!(
            schema.is_valid(&body),
            api_accepts_config(&body),
            "the Document schema and the API disagree on {body}"
        );
    }
}

#[test]
fn event_schema_requires_a_target_where_the_api_does() {
    let doc = generate();
    let schema = validator(&doc, "EventBatch");
    let event = |scope: &str, target: Option<Value>| {
        let mut e = json!({"type": "auth", "action": "update", "scope": scope,
                           "config": {"mfa": true}, "triggeredBy": "ann"});
        if let Some(target) = target {
            e["targetId"] = target;
        }
        e
    };
    let events = [
        event("platform", None),
        event("tenant", Some(json!("acme"))),
        event("user", Some(json!("ulla"))),
        event("tenant", None),
        event("user", None),
        event("tenant", Some(Value::Null)),
        event("user", Some(json!(""))),
    ];
    for e in events {
        let shape_ok = serde_json::from_value::<ChangeEvent>(e.clone())
            .is_ok_and(|parsed| parsed.check_shape().is_ok());
        assert_eq!(schema.is_valid(&e), shape_ok, "one event: {e}");
        assert_eq!(schema.is_valid(&json!([e])), shape_ok, "a batch of it: {e}");
    }
    let mut with_tenant = event("user", Some(json!("ulla")));
    with_tenant["tenantId"] = json!("acme");
    assert!(schema.is_valid(&with_tenant));
    with_tenant["tenantId"] = json!(7);
    assert!(!schema.is_valid(&with_tenant), "tenantId is a name");
}
