//! The OpenAPI 3.1 document (`docs/openapi.json`, served at `/v1/openapi.json`), generated
//! from the Rust types and the route table (test builds only, so the wasm never carries
//! `utoipa`).
//!
//! What is generated:
//! - every path and method, its `operationId`, its path parameters and its security, from
//!   [`ROUTES`] (the access rule becomes `security` and `x-cascade-access`);
//! - the schemas of the types the handlers send, derived with `utoipa::ToSchema` (field
//!   descriptions are their doc comments, each with an example): [`typed_schemas`];
//! - the 200 bodies of the endpoints that send those types: [`typed_response`];
//! - every size limit, from the constants the Worker and the engine enforce: the `Name`,
//!   `Namespace`, `Document`, `JsonPatch` and `EventBatch` schemas, the config write and event
//!   request bodies, and the limits paragraph of `info.description`.
//!
//! What is still hand-kept, in `docs/openapi/hand-kept.json` (a partial OpenAPI document):
//! per operation its summary, query and header parameters, error responses and the bodies not
//! typed yet; the schemas not generated yet. The generator refuses a hand-kept schema or path
//! parameter that it generates itself, and a hand-kept operation without a route.
//!
//! Regenerate: `UPDATE_OPENAPI=1 cargo test --lib openapi`.

use cascade_durable::internal::{ConflictItem, DeliveryAck, HubStatus, PendingItem, WriteAck};
use cascade_durable::{MAX_OPEN_ITEMS_LISTED, MAX_OUTCOMES_LISTED};
use cascade_engine::conflict::Conflict;
use cascade_engine::event::ChangeEvent;
use cascade_engine::pending::PendingChange;
use cascade_engine::rule::{ConflictResolution, SyncDirection, SyncRule};
use cascade_engine::scope::Subject;
use cascade_engine::validate::{MAX_BATCH_EVENTS, MAX_DEPTH, MAX_PATCH_OPS, MAX_SAFE_INTEGER};
use cascade_protocol::{
    HistoryEntry, HistoryPage, Problem, Role, Scope, StoredDocument, SyncState, MAX_NAME_LEN,
};
use serde_json::{json, Map, Value};
use utoipa::{PartialSchema, ToSchema};
use worker::Method;

use crate::audit::{RefusalEntry, RefusalPage};
use crate::auth::access::Rule;
use crate::config::{PlatformWriteAck, MAX_IDEMPOTENCY_KEY_LEN};
use crate::input::MAX_BODY_BYTES;
use crate::problem::FieldProblem;
use crate::routes::{Endpoint, Liveness, ROUTES};
use crate::rules::{RuleBody, StoredRule, MAX_TENANT_FILTER_ATTRIBUTES};
use crate::targeting::Preview;
use crate::tenants::{Tenant, TenantInput};

/// The hand-kept remainder (see the module docs).
const HAND_KEPT: &str = include_str!("../docs/openapi/hand-kept.json");

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
        schema_of::<SyncRule>(),
        schema_of::<RuleBody>(),
        schema_of::<StoredRule>(),
        schema_of::<Preview>(),
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
                "description": format!("A layer's own values: a JSON object of at most {kib} KiB serialized and {MAX_DEPTH} levels deep; integers within ±{MAX_SAFE_INTEGER}."),
                "examples": [{"mfa": true, "provider": "okta"}],
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
                    {"$ref": "#/components/schemas/ChangeEvent"},
                    {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": MAX_BATCH_EVENTS,
                        "items": {"$ref": "#/components/schemas/ChangeEvent"}
                    }
                ]
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
/// hand-kept sentences on rates, keys and tokens (`x-limits-more`) between them.
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

/// The 200 body of an endpoint that sends a typed body, when it does.
fn typed_response(endpoint: Endpoint) -> Option<(&'static str, Value)> {
    use Endpoint as E;
    Some(match endpoint {
        E::Health => ("The Worker is serving.", schema_ref("Liveness")),
        E::TenantHistory => ("A page of history.", schema_ref("HistoryPage")),
        E::TenantRefusals | E::PlatformRefusals => (
            "A page of refused writes, newest first.",
            schema_ref("RefusalPage"),
        ),
        E::GetTenantConfig | E::GetUserConfig | E::GetPlatformConfig => {
            ("The layer's document.", schema_ref("StoredDocument"))
        }
        E::GetTenantEffective | E::GetUserEffective => {
            ("The effective document.", schema_ref("StoredDocument"))
        }
        E::ListPending => (
            "The pending platform changes, oldest first per namespace.",
            listing("PendingItem"),
        ),
        E::ListConflicts => (
            "The open conflicts, oldest first per namespace.",
            listing("ConflictItem"),
        ),
        _ => return None,
    })
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
        _ => return None,
    })
}

/// One operation: the hand-kept parts with the generated ones laid over them.
fn operation(route: &crate::routes::Route, hand: Option<&Value>) -> Value {
    let path = openapi_path(route.path);
    let method = method_name(&route.method);
    let mut op = hand
        .cloned()
        .unwrap_or_else(|| panic!("{method} {path}: no hand-kept operation (summary, responses) in docs/openapi/hand-kept.json"));
    let op_map = op.as_object_mut().expect("an operation is an object");
    for generated in ["operationId", "security", "x-cascade-access"] {
        assert!(
            !op_map.contains_key(generated),
            "{method} {path}: '{generated}' is generated; delete it from docs/openapi/hand-kept.json"
        );
    }
    let mut parameters: Vec<Value> = route
        .path
        .split('/')
        .filter_map(|seg| seg.strip_prefix(':'))
        .map(path_parameter)
        .collect();
    for p in op_map
        .remove("parameters")
        .and_then(|p| p.as_array().cloned())
        .unwrap_or_default()
    {
        assert_ne!(
            p["in"], "path",
            "{method} {path}: path parameters are generated; delete them from docs/openapi/hand-kept.json"
        );
        let mut p = p;
        if p["name"] == "Idempotency-Key" {
            p["schema"] =
                json!({"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY_LEN});
        }
        parameters.push(p);
    }
    if !parameters.is_empty() {
        op_map.insert("parameters".into(), Value::Array(parameters));
    }
    let (security, who) = access(route.access);
    op_map.insert("operationId".into(), operation_id(route.endpoint).into());
    op_map.insert("security".into(), security);
    op_map.insert("x-cascade-access".into(), who.into());
    if let Some(body) = typed_request(route.endpoint) {
        assert!(
            !op_map.contains_key("requestBody"),
            "{method} {path}: the request body is generated; delete it from docs/openapi/hand-kept.json"
        );
        op_map.insert("requestBody".into(), body);
    }
    if let Some((description, schema)) = typed_response(route.endpoint) {
        let responses = op_map
            .entry("responses")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("responses is an object");
        assert!(
            !responses.contains_key("200"),
            "{method} {path}: its 200 answer is generated; delete it from docs/openapi/hand-kept.json"
        );
        responses.insert(
            "200".into(),
            json!({"description": description, "content": {"application/json": {"schema": schema}}}),
        );
    }
    op
}

/// The whole document.
pub fn generate() -> Value {
    let hand: Value = serde_json::from_str(HAND_KEPT).expect("hand-kept.json is JSON");

    let mut schemas = Map::new();
    for (name, schema) in typed_schemas().into_iter().chain(limit_schemas()) {
        schemas.insert(name, schema);
    }
    // A limit the Worker enforces on a type the engine declares.
    let filter = &mut schemas["SyncRule"]["properties"]["tenantFilter"];
    filter["maxProperties"] = MAX_TENANT_FILTER_ATTRIBUTES.into();
    for (name, schema) in hand["components"]["schemas"].as_object().expect("schemas") {
        assert!(
            !schemas.contains_key(name),
            "schema {name} is generated; delete it from docs/openapi/hand-kept.json"
        );
        schemas.insert(name.clone(), schema.clone());
    }

    let mut paths = Map::new();
    for route in ROUTES {
        let path = openapi_path(route.path);
        let method = method_name(&route.method);
        let op = operation(route, hand["paths"][&path].get(method));
        paths
            .entry(path)
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("a path item is an object")
            .insert(method.into(), op);
    }
    for (path, item) in hand["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            assert!(
                paths.get(path).and_then(|i| i.get(method)).is_some(),
                "{method} {path} is in docs/openapi/hand-kept.json but not in ROUTES"
            );
        }
    }

    let text = |key: &str| {
        hand["info"][key]
            .as_str()
            .unwrap_or_else(|| panic!("info.{key} in docs/openapi/hand-kept.json"))
    };
    let description = format!(
        "{}\n\n{}\n\n{}",
        text("x-intro"),
        limits_paragraph(text("x-limits-more")),
        text("x-more"),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": hand["info"]["title"],
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
         docs/openapi/hand-kept.json, never docs/openapi.json itself)"
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
            "{r} does not resolve: list its type in typed_schemas or keep it in hand-kept.json"
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
