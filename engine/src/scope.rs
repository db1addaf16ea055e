//! Who owns a layer: scopes, subjects, namespaces and the tenant context rules filter on.
//!
//! Scopes are ordered top-down: `platform` > `tenant` > `user`. A *subject* is one concrete
//! owner of an effective config inside a tenant (the tenant as a whole, or one user), which
//! is also the unit a hub broadcasts to (`tenant:{id}` and `user:{id}` rooms).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::EngineError;

/// One of the three configuration scopes: the protocol's, so the engine, the hubs, the
/// Worker and the clients share one spelling.
pub use cascade_protocol::Scope;

/// The owner of an effective config inside a tenant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"scope": "user", "id": "u-42"})))]
#[serde(tag = "scope", content = "id", rename_all = "lowercase")]
pub enum Subject {
    /// The tenant as a whole: its admins, and every user without a layer of their own.
    Tenant,
    /// One user, identified by the user id.
    User(String),
}

impl Subject {
    /// The scope of this subject.
    #[must_use]
    pub fn scope(&self) -> Scope {
        match self {
            Self::Tenant => Scope::Tenant,
            Self::User(_) => Scope::User,
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tenant => f.write_str("tenant"),
            Self::User(id) => write!(f, "user {id}"),
        }
    }
}

/// A namespace (the seed's config `type`): `auth`, `rbac`, `notifications`, `modules`,
/// `business`, `mfa`, or a custom name.
///
/// Names are 1–64 characters of ASCII letters, digits, `-` and `_`, starting with a letter,
/// so that they can appear unescaped in topic strings (`auth.provider.update`), room names
/// (`config:{type}`) and SQL keys. `.` is excluded because it separates topic segments.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Namespace(String);

impl Namespace {
    /// Validates and wraps a namespace name.
    ///
    /// # Errors
    /// [`EngineError::InvalidNamespace`] when the name breaks the rules above.
    pub fn new(name: impl Into<String>) -> Result<Self, EngineError> {
        let name = name.into();
        let reason = if name.is_empty() || name.len() > 64 {
            Some("must be 1 to 64 characters")
        } else if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
            Some("must start with an ASCII letter")
        } else if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            Some("may only contain ASCII letters, digits, '-' and '_'")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(EngineError::InvalidNamespace {
                name,
                reason: reason.into(),
            }),
            None => Ok(Self(name)),
        }
    }

    /// The name as a string slice.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Namespace {
    type Error = EngineError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Namespace> for String {
    fn from(value: Namespace) -> Self {
        value.0
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the engine needs to know about the tenant a change is applied to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantContext {
    /// The tenant id (an event's `targetId` at tenant scope).
    pub id: String,
    /// Attributes that rules' `tenantFilter` compares against, e.g. `{"businessType": "retail"}`.
    #[serde(default)]
    pub attributes: BTreeMap<String, Value>,
    /// Namespaces this tenant opted out of (selective sync): platform changes to them are
    /// skipped and recorded as such, never applied.
    #[serde(default)]
    pub opted_out: BTreeSet<Namespace>,
}

impl TenantContext {
    /// A context with an id and no attributes or opt-outs.
    #[must_use]
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_order_top_down() {
        assert!(Scope::Platform.is_above(Scope::Tenant));
        assert!(Scope::Tenant.is_above(Scope::User));
        assert!(!Scope::User.is_above(Scope::Tenant));
        assert!(!Scope::Tenant.is_above(Scope::Tenant));
    }

    #[test]
    fn namespace_names_are_checked() {
        for ok in ["auth", "rbac", "notifications", "custom_thing-2"] {
            assert!(Namespace::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a.b", "9lives", "sp ace", &"x".repeat(65)] {
            let err = Namespace::new(bad).expect_err(bad);
            assert_eq!(err.code(), "CASCADE:Validation:Namespace");
        }
    }

    #[test]
    fn subjects_serialize_with_scope_tag() {
        let user = serde_json::to_value(Subject::User("u1".into())).expect("serializes");
        assert_eq!(user, serde_json::json!({"scope": "user", "id": "u1"}));
        let tenant = serde_json::to_value(Subject::Tenant).expect("serializes");
        assert_eq!(tenant, serde_json::json!({"scope": "tenant"}));
    }
}
