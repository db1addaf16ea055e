//! Sync rules as stored in D1, with the seed's camelCase field names.
//!
//! ```
//! use cascade_engine::rule::{SyncRule, ConflictResolution};
//! let rule: SyncRule = serde_json::from_str(r#"{
//!     "triggerEvents": ["auth.provider.create", "auth.provider.update", "auth.provider.enable"],
//!     "targetScopes": ["tenant", "user"],
//!     "syncDirection": "down",
//!     "conflictResolution": "platform-wins",
//!     "autoApply": true
//! }"#).expect("the seed's auth rule");
//! assert_eq!(rule.conflict_resolution, ConflictResolution::PlatformWins);
//! ```
//!
//! The five seed fields are required; `id`, `namespaces`, `tenantFilter`, `lockedPaths` and
//! `priority` are optional. Unknown fields are ignored so D1 rows may carry bookkeeping.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::EngineError;
use crate::path::PathPattern;
use crate::scope::{Namespace, Scope};

/// Which way a rule moves a change relative to the scope that made it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = "down"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncDirection {
    /// Apply the change at the target scopes below the source.
    Down,
    /// Report the change to the target scopes above the source; never apply it there.
    Up,
    /// Both of the above.
    Both,
}

impl SyncDirection {
    /// Whether the rule applies changes downward.
    #[must_use]
    pub fn goes_down(self) -> bool {
        matches!(self, Self::Down | Self::Both)
    }

    /// Whether the rule reports changes upward.
    #[must_use]
    pub fn goes_up(self) -> bool {
        matches!(self, Self::Up | Self::Both)
    }
}

/// What happens where an upper change meets a lower override (docs/RULES.md, "What each
/// strategy does at each scope").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = "merge"))]
pub enum ConflictResolution {
    /// The upper value replaces the lower override, which is removed and kept in history.
    PlatformWins,
    /// The tenant's value beats the platform's and its users'.
    TenantWins,
    /// A lower scope's own value is never overridden.
    UserWins,
    /// Three-way merge against the upper value the override was based on.
    Merge,
}

impl ConflictResolution {
    /// The kebab-case name used in JSON.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PlatformWins => "platform-wins",
            Self::TenantWins => "tenant-wins",
            Self::UserWins => "user-wins",
            Self::Merge => "merge",
        }
    }
}

/// One segment of a [`TriggerPattern`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum PatternPart {
    Literal(String),
    Any,
}

/// A trigger pattern such as `auth.provider.*`: dot-separated segments, each a literal or
/// `*`. See [`crate::matching`] for how patterns match events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TriggerPattern {
    text: String,
    parts: Vec<PatternPart>,
}

impl TriggerPattern {
    /// Parses a pattern.
    ///
    /// # Errors
    /// [`EngineError::InvalidPattern`] for an empty pattern or an empty segment.
    pub fn parse(text: &str) -> Result<Self, EngineError> {
        let parts = text
            .split('.')
            .map(|part| match part {
                "" => Err(EngineError::InvalidPattern {
                    pattern: text.into(),
                    reason: "segments must not be empty".into(),
                }),
                "*" => Ok(PatternPart::Any),
                literal => Ok(PatternPart::Literal(literal.into())),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            text: text.into(),
            parts,
        })
    }

    /// The pattern as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Number of literal segments: more is more specific.
    #[must_use]
    pub fn specificity(&self) -> usize {
        self.parts
            .iter()
            .filter(|p| matches!(p, PatternPart::Literal(_)))
            .count()
    }

    fn part_matches(part: &PatternPart, segment: &str) -> bool {
        match part {
            PatternPart::Any => true,
            PatternPart::Literal(lit) => lit == segment,
        }
    }

    /// Whether the pattern matches a topic's segments (see [`crate::matching`]).
    #[must_use]
    pub fn matches(&self, topic: &[&str]) -> bool {
        let parts = &self.parts;
        let Some((last, init)) = parts.split_last() else {
            return false;
        };
        // A trailing `*` matches one or more segments.
        let direct = if *last == PatternPart::Any {
            topic.len() >= parts.len()
                && init
                    .iter()
                    .zip(topic)
                    .all(|(p, s)| Self::part_matches(p, s))
        } else {
            topic.len() == parts.len()
                && parts
                    .iter()
                    .zip(topic)
                    .all(|(p, s)| Self::part_matches(p, s))
        };
        if direct {
            return true;
        }
        // A resource-less topic `{type}.{verb}` stands for "some resource of {type} was
        // {verb}": it matches `{type}.<anything>.{verb}`.
        match (topic, parts.as_slice()) {
            ([kind, verb], [first, .., last]) if parts.len() >= 3 => {
                Self::part_matches(first, kind) && Self::part_matches(last, verb)
            }
            _ => false,
        }
    }

    /// The namespace this pattern is confined to, if its first segment is a literal.
    #[must_use]
    pub fn namespace(&self) -> Option<&str> {
        match self.parts.first() {
            Some(PatternPart::Literal(lit)) => Some(lit),
            _ => None,
        }
    }
}

/// What [`TriggerPattern::parse`] accepts, as a regular expression: one or more non-empty
/// segments separated by dots (a segment is a literal or `*`).
pub const TRIGGER_PATTERN_SYNTAX: &str = r"^[^.]+(\.[^.]+)*$";

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for TriggerPattern {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "An event pattern: segments separated by dots, each a literal or `*`, none empty.",
            ))
            .min_length(Some(1))
            .pattern(Some(TRIGGER_PATTERN_SYNTAX))
            .examples(["auth.provider.*"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for TriggerPattern {}

impl TryFrom<String> for TriggerPattern {
    type Error = EngineError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TriggerPattern> for String {
    fn from(value: TriggerPattern) -> Self {
        value.text
    }
}

impl fmt::Display for TriggerPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A sync rule (the seed's shape, plus Cascade's optional filters and locks); the rule
/// language is documented in docs/RULES.md.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "triggerEvents": ["auth.provider.*"], "targetScopes": ["tenant", "user"],
    "syncDirection": "down", "conflictResolution": "platform-wins", "autoApply": true,
    "tenantFilter": {"plan": ["pro", "enterprise"]}, "lockedPaths": ["/sso/required"]
})))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncRule {
    /// Stable id, used in outcomes and errors. Rules without one are named `#<index>`.
    /// A stored rule's id is its path's (`PUT /v1/rules/{rule}`), not this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Event patterns that trigger the rule, `{type}.{action}` with `*` segments, e.g.
    /// `auth.provider.*`; a plain layer write of a namespace is the event `{namespace}.update`.
    /// An empty list matches no change: the rule then only shapes the namespaces it lists in
    /// `namespaces` (locks, layer order).
    pub trigger_events: Vec<TriggerPattern>,
    /// Scopes the rule applies changes to (down) or reports changes to (up).
    pub target_scopes: Vec<Scope>,
    /// Down, up or both.
    pub sync_direction: SyncDirection,
    /// The conflict strategy at the target scopes.
    pub conflict_resolution: ConflictResolution,
    /// `false` holds platform changes as pending changes for the tenant admin.
    pub auto_apply: bool,
    /// Restricts the rule to these namespaces (otherwise: the namespaces its patterns name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<String>>))]
    pub namespaces: Option<Vec<Namespace>>,
    /// Tenant attributes that must match, e.g. `{"businessType": "retail"}`. An array value
    /// means "one of" (unless the attribute itself equals the array).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    // Its most attributes are the Worker's limit (`rules::MAX_TENANT_FILTER_ATTRIBUTES`),
    // set on the schema from that constant by the generator.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub tenant_filter: BTreeMap<String, Value>,
    /// Paths the target scopes may not override (JSON Pointers, `*` wildcard segments, `[id]`
    /// segments for elements of id-keyed arrays).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub locked_paths: Vec<PathPattern>,
    /// Higher wins when several rules match. Defaults to 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub priority: i32,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &i32) -> bool {
    *n == 0
}

impl SyncRule {
    /// The rule's name in outcomes and errors: its `id`, or `#<index>` in the rule list.
    #[must_use]
    pub fn label(&self, index: usize) -> String {
        self.id.clone().unwrap_or_else(|| format!("#{index}"))
    }

    /// Whether the rule concerns `namespace`: listed in `namespaces`, or, without that
    /// filter, named by one of its patterns (a pattern starting with `*` names every one).
    #[must_use]
    pub fn covers_namespace(&self, namespace: &Namespace) -> bool {
        match &self.namespaces {
            Some(list) => list.contains(namespace),
            None => self
                .trigger_events
                .iter()
                .any(|p| p.namespace().is_none_or(|ns| ns == namespace.as_str())),
        }
    }

    /// Whether the tenant's attributes satisfy `tenantFilter`.
    #[must_use]
    pub fn accepts_tenant(&self, attributes: &BTreeMap<String, Value>) -> bool {
        self.tenant_filter.iter().all(|(key, wanted)| {
            let Some(actual) = attributes.get(key) else {
                return false;
            };
            actual == wanted || matches!(wanted, Value::Array(options) if options.contains(actual))
        })
    }

    /// Whether the rule targets `scope`.
    #[must_use]
    pub fn targets(&self, scope: Scope) -> bool {
        self.target_scopes.contains(&scope)
    }
}

#[cfg(test)]
mod tests {
    /// The schema's syntax ([`TRIGGER_PATTERN_SYNTAX`]: non-empty segments between dots) is
    /// what parsing accepts.
    #[test]
    fn trigger_pattern_syntax_is_what_parse_accepts() {
        for ok in ["auth", "auth.*", "*.update", "a-b.c_d.*", "*"] {
            assert!(TriggerPattern::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "auth.", ".auth", "auth..update"] {
            assert!(TriggerPattern::parse(bad).is_err(), "{bad}");
        }
    }

    use super::*;
    use serde_json::json;

    fn pattern(text: &str) -> TriggerPattern {
        TriggerPattern::parse(text).expect("valid pattern")
    }

    #[test]
    fn trigger_pattern_table() {
        // (pattern, topic, matches?)
        let table = [
            ("auth.provider.update", "auth.provider.update", true),
            ("auth.provider.*", "auth.provider.update", true),
            ("auth.provider.*", "auth.provider.enable", true),
            ("auth.provider.*", "auth.sso.update", false),
            ("auth.*", "auth.provider.update", true),
            ("auth.*", "auth.update", true),
            ("*", "anything.at.all", true),
            ("auth.*.update", "auth.sso.update", true),
            ("auth.provider.create", "auth.provider.update", false),
            ("rbac.template.update", "auth.template.update", false),
            // Resource-less topics stand for any resource of the namespace.
            ("rbac.template.update", "rbac.update", true),
            ("auth.provider.*", "auth.update", true),
            ("notifications.provider.add", "notifications.add", true),
            ("notifications.provider.add", "notifications.update", false),
            ("rbac.template.update", "rbac.role.update", false),
        ];
        for (pat, topic, expected) in table {
            let segments: Vec<&str> = topic.split('.').collect();
            assert_eq!(
                pattern(pat).matches(&segments),
                expected,
                "{pat} vs {topic}"
            );
        }
    }

    #[test]
    fn bad_patterns_are_refused() {
        for bad in ["", "auth..update", ".auth", "auth."] {
            let err = TriggerPattern::parse(bad).expect_err(bad);
            assert_eq!(err.code(), "CASCADE:Rule:InvalidPattern");
        }
    }

    #[test]
    fn seed_rules_deserialize_exactly() {
        let seeds = [
            json!({"triggerEvents": ["auth.provider.create", "auth.provider.update", "auth.provider.enable"],
                   "targetScopes": ["tenant", "user"], "syncDirection": "down",
                   "conflictResolution": "platform-wins", "autoApply": true}),
            json!({"triggerEvents": ["rbac.template.create", "rbac.template.update"],
                   "targetScopes": ["tenant"], "syncDirection": "down",
                   "conflictResolution": "merge", "autoApply": true}),
            json!({"triggerEvents": ["notifications.config.update", "notifications.provider.add"],
                   "targetScopes": ["tenant", "user"], "syncDirection": "down",
                   "conflictResolution": "tenant-wins", "autoApply": true}),
        ];
        let expected = [
            ConflictResolution::PlatformWins,
            ConflictResolution::Merge,
            ConflictResolution::TenantWins,
        ];
        for (seed, strategy) in seeds.iter().zip(expected) {
            let rule: SyncRule = serde_json::from_value(seed.clone()).expect("seed rule parses");
            assert_eq!(rule.conflict_resolution, strategy);
            assert_eq!(rule.sync_direction, SyncDirection::Down);
            assert!(rule.auto_apply);
            assert_eq!(rule.priority, 0);
            // And it serializes back to exactly the seed's shape.
            assert_eq!(&serde_json::to_value(&rule).expect("serializes"), seed);
        }
    }

    #[test]
    fn optional_fields_and_required_ones() {
        let rule: SyncRule = serde_json::from_value(json!({
            "id": "retail-business", "triggerEvents": ["business.*"], "targetScopes": ["tenant"],
            "syncDirection": "both", "conflictResolution": "user-wins", "autoApply": false,
            "namespaces": ["business"], "tenantFilter": {"businessType": "retail"},
            "lockedPaths": ["/pricing/*"], "priority": 5
        }))
        .expect("full rule parses");
        assert_eq!(rule.label(3), "retail-business");
        assert_eq!(rule.priority, 5);
        assert_eq!(rule.locked_paths[0].as_str(), "/pricing/*");
        let missing = serde_json::from_value::<SyncRule>(json!({
            "triggerEvents": ["auth.*"], "targetScopes": ["tenant"], "syncDirection": "down",
            "conflictResolution": "merge"
        }));
        assert!(missing.is_err(), "autoApply is required, as in the seed");
        let bad = serde_json::from_value::<SyncRule>(json!({
            "triggerEvents": ["auth.*"], "targetScopes": ["tenant"], "syncDirection": "sideways",
            "conflictResolution": "merge", "autoApply": true
        }));
        assert!(bad.is_err());
    }

    #[test]
    fn tenant_filter_table() {
        let rule: SyncRule = serde_json::from_value(json!({
            "triggerEvents": ["business.*"], "targetScopes": ["tenant"], "syncDirection": "down",
            "conflictResolution": "merge", "autoApply": true,
            "tenantFilter": {"businessType": ["retail", "food"], "tier": "gold"}
        }))
        .expect("parses");
        let attrs = |pairs: Value| -> BTreeMap<String, Value> {
            serde_json::from_value(pairs).expect("attribute map")
        };
        assert!(rule.accepts_tenant(&attrs(json!({"businessType": "retail", "tier": "gold"}))));
        assert!(rule.accepts_tenant(&attrs(
            json!({"businessType": "food", "tier": "gold", "x": 1})
        )));
        assert!(!rule.accepts_tenant(&attrs(json!({"businessType": "saas", "tier": "gold"}))));
        assert!(!rule.accepts_tenant(&attrs(json!({"businessType": "retail"}))));
    }

    #[test]
    fn namespaces_covered() {
        let rule: SyncRule = serde_json::from_value(json!({
            "triggerEvents": ["auth.provider.*"], "targetScopes": ["tenant"],
            "syncDirection": "down", "conflictResolution": "merge", "autoApply": true
        }))
        .expect("parses");
        let ns = |n: &str| Namespace::new(n).expect("valid namespace");
        assert!(rule.covers_namespace(&ns("auth")));
        assert!(!rule.covers_namespace(&ns("rbac")));
    }
}
