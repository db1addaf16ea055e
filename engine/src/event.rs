//! The seed's change event `{type, action, scope, targetId, config, triggeredBy}` and the
//! topic string trigger patterns match.
//!
//! **Topic.** An event's topic is `{type}.{action}`. `type` is the namespace; `action` is a
//! verb (`update`, `create`, `enable`, `add`, …), optionally prefixed by the sub-resource it
//! acts on, dot-separated: `{"type": "auth", "action": "provider.update"}` has the topic
//! `auth.provider.update`. Both seed forms therefore work:
//!
//! * with a sub-resource, the topic matches patterns segment by segment
//!   (`auth.provider.update` matches `auth.provider.*`);
//! * without one (the seed's `{"type": "rbac", "action": "update"}`), the two-segment topic
//!   `rbac.update` means "some resource of `rbac` was updated" and matches any pattern
//!   `rbac.<anything>.update`, e.g. the seed's `rbac.template.update`.
//!
//! **Config.** `config` is an RFC 7396 JSON Merge Patch on the source scope's layer: members
//! are set recursively, `null` deletes a member, arrays are replaced whole.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::EngineError;
use crate::scope::{Namespace, Scope};

/// A configuration change, as the seed's `triggerConfigChange` receives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "type": "auth", "action": "provider.update", "scope": "tenant", "targetId": "acme",
    "config": {"provider": "okta"}, "triggeredBy": "admin-1"
})))]
pub struct ChangeEvent {
    /// The namespace (config type) the change is in.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(schema_with = namespace_schema))]
    pub kind: Namespace,
    /// The verb, optionally prefixed by the sub-resource: `update`, `provider.update`.
    pub action: String,
    /// The scope whose layer the change writes.
    pub scope: Scope,
    /// The tenant id (tenant scope) or user id (user scope); absent at platform scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
    /// RFC 7396 merge patch on the source layer (a JSON object, at most 256 KiB and 32
    /// levels deep).
    #[cfg_attr(feature = "openapi", schema(schema_with = config_schema))]
    pub config: Value,
    /// Who made the change (a user id or a role such as `platform-admin`).
    pub triggered_by: String,
}

/// `type` is a namespace: the document's `Namespace` schema, which carries the name limits
/// (one definition, built from `MAX_NAME_LEN` in `src/openapi.rs`).
#[cfg(feature = "openapi")]
fn namespace_schema() -> utoipa::openapi::Ref {
    described_ref("Namespace", "The namespace (config type) the change is in.")
}

/// `config` is a document: the `Document` schema, which carries the value rules and limits
/// (built in `src/openapi.rs` from the enforced constants).
#[cfg(feature = "openapi")]
fn config_schema() -> utoipa::openapi::Ref {
    described_ref("Document", "RFC 7396 merge patch on the source layer.")
}

/// A reference to the document's schema `name`, described for the field that holds it.
#[cfg(feature = "openapi")]
fn described_ref(name: &str, description: &str) -> utoipa::openapi::Ref {
    utoipa::openapi::schema::RefBuilder::new()
        .ref_location_from_schema_name(name)
        .description(Some(description))
        .build()
}

impl ChangeEvent {
    /// The topic string patterns match: `{type}.{action}`.
    #[must_use]
    pub fn topic(&self) -> String {
        format!("{}.{}", self.kind, self.action)
    }

    /// Checks the event's own shape: action syntax, target presence, config an object.
    ///
    /// # Errors
    /// [`EngineError::InvalidPattern`] for a malformed action, [`EngineError::MissingTarget`]
    /// for a tenant/user event without `targetId`, [`EngineError::NotAnObject`] for a config
    /// that is not an object.
    pub fn check_shape(&self) -> Result<(), EngineError> {
        if self.action.is_empty()
            || self
                .action
                .split('.')
                .any(|s| s.is_empty() || s == "*" || s.chars().any(char::is_whitespace))
        {
            return Err(EngineError::InvalidPattern {
                pattern: self.action.clone(),
                reason: "an action is dot-separated non-empty words without '*' or spaces".into(),
            });
        }
        if self.scope != Scope::Platform && self.target_id.as_deref().is_none_or(str::is_empty) {
            return Err(EngineError::MissingTarget {
                scope: self.scope.to_string(),
            });
        }
        if !self.config.is_object() {
            return Err(EngineError::NotAnObject {
                what: "the event's config".into(),
            });
        }
        Ok(())
    }
}

/// A platform change set as it reaches a tenant: "apply platform layer update at platform
/// seq P". Its events are applied at the tenant atomically; a tenant that has already
/// applied `platform_seq` ignores it (see [`crate::apply::apply_platform_update`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformUpdate {
    /// The platform sequence number the change set got at the `PlatformHub`.
    pub platform_seq: u64,
    /// The platform-scope events of the change set, in order.
    pub events: Vec<ChangeEvent>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn seed_events_deserialize() {
        let platform: ChangeEvent = serde_json::from_value(json!({
            "type": "rbac", "action": "update", "scope": "platform",
            "config": {"permissionTemplate": {"roles": []}}, "triggeredBy": "platform-admin"
        }))
        .expect("seed platform event");
        assert_eq!(platform.topic(), "rbac.update");
        assert!(platform.check_shape().is_ok());

        let tenant: ChangeEvent = serde_json::from_value(json!({
            "type": "notifications", "action": "update", "scope": "tenant", "targetId": "t1",
            "config": {"smsProvider": {"name": "twilio"}}, "triggeredBy": "u1"
        }))
        .expect("seed tenant event");
        assert_eq!(tenant.target_id.as_deref(), Some("t1"));
        assert!(tenant.check_shape().is_ok());
    }

    #[test]
    fn shape_errors_have_codes() {
        let base = ChangeEvent {
            kind: Namespace::new("auth").expect("valid"),
            action: "provider.update".into(),
            scope: Scope::Tenant,
            target_id: None,
            config: json!({}),
            triggered_by: "x".into(),
        };
        assert_eq!(base.topic(), "auth.provider.update");
        assert_eq!(
            base.check_shape().map_err(|e| e.code()),
            Err("CASCADE:Event:MissingTarget")
        );
        let bad_action = ChangeEvent {
            action: "provider..update".into(),
            target_id: Some("t".into()),
            ..base.clone()
        };
        assert_eq!(
            bad_action.check_shape().map_err(|e| e.code()),
            Err("CASCADE:Rule:InvalidPattern")
        );
        let bad_config = ChangeEvent {
            config: json!([1]),
            target_id: Some("t".into()),
            ..base
        };
        assert_eq!(
            bad_config.check_shape().map_err(|e| e.code()),
            Err("CASCADE:Validation:NotAnObject")
        );
    }
}
