//! The words every part of Cascade shares: who a caller is ([`Role`]), which layer a value
//! lives in ([`Scope`]) and how a tenant's sync stands ([`SyncState`]). Each is spelled once,
//! here; the engine, the hubs, the Worker and the clients use these types.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A caller's role, from the token's `role` claim.
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = "tenant-admin"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Everything, on every tenant and the platform.
    PlatformAdmin,
    /// Everything within one tenant (`tid`).
    TenantAdmin,
    /// Its own layer and its own effective config, within one tenant (`tid`).
    User,
}

impl Role {
    /// The role as the `role` claim spells it (`platform-admin`, `tenant-admin`, `user`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PlatformAdmin => "platform-admin",
            Self::TenantAdmin => "tenant-admin",
            Self::User => "user",
        }
    }

    /// Whether the role administers something (a tenant or the platform).
    #[must_use]
    pub fn is_admin(self) -> bool {
        matches!(self, Self::PlatformAdmin | Self::TenantAdmin)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One of the three configuration scopes, ordered top-down: `platform` > `tenant` > `user`.
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = "tenant"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// The SaaS operator; one platform layer per namespace.
    Platform,
    /// One customer organisation; one tenant layer per namespace.
    Tenant,
    /// One person inside a tenant; one user layer per namespace.
    User,
}

impl Scope {
    /// Every scope, top-down.
    pub const ALL: [Self; 3] = [Self::Platform, Self::Tenant, Self::User];

    /// Depth from the top: platform 0, tenant 1, user 2.
    #[must_use]
    pub fn level(self) -> u8 {
        match self {
            Self::Platform => 0,
            Self::Tenant => 1,
            Self::User => 2,
        }
    }

    /// Whether `self` sits strictly above `other`.
    #[must_use]
    pub fn is_above(self, other: Scope) -> bool {
        self.level() < other.level()
    }

    /// The lowercase name used in JSON (`platform`, `tenant`, `user`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Platform => "platform",
            Self::Tenant => "tenant",
            Self::User => "user",
        }
    }

    /// The scope named `name`, if any.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A tenant's sync state: in its hub's `sync-status` frames, in health snapshots and in the
/// platform admins' counts. Declared in alphabetical order so that maps keyed by it list
/// their keys as the JSON text always did.
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = "success"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncState {
    /// A copy of a platform layer differs from the platform's where the rules deliver it,
    /// and the health check could not converge it (a rollback the rules let stand, or a
    /// failed convergence).
    Drifted,
    /// The hub failed (its last operation, or its history flush) or could not be reached.
    Failed,
    /// Some configurations have open conflicts or pending changes.
    Partial,
    /// Changes are waiting to be applied (platform updates) or recorded (history).
    Pending,
    /// Everything applied and recorded.
    Success,
}

/// What a tenant's sync state is decided from (see [`SyncState::classify`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncFacts {
    /// The hub recorded an error (its `lastError`).
    pub failed: bool,
    /// Platform updates the tenant has not applied yet (0 when the observer does not know
    /// the platform's latest seq, as a hub reporting on itself).
    pub platform_behind: u64,
    /// History rows not yet copied to D1.
    pub unrecorded: u64,
    /// Platform changes waiting for a tenant admin's decision.
    pub pending_changes: u64,
    /// Conflicts waiting for a manual resolution.
    pub open_conflicts: u64,
}

impl SyncState {
    /// Every state, in the order the dashboard lists them.
    pub const ALL: [Self; 5] = [
        Self::Success,
        Self::Partial,
        Self::Drifted,
        Self::Pending,
        Self::Failed,
    ];

    /// The state's name on the wire and in D1.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Partial => "partial",
            Self::Failed => "failed",
            Self::Pending => "pending",
            Self::Drifted => "drifted",
        }
    }

    /// The state named `name`, if any.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// The one classification of a tenant's sync, used by its hub (`sync-status` frames)
    /// and by the health check: an error makes it `failed`; platform updates not applied
    /// yet or history not yet in D1 make it `pending`; open conflicts or pending changes
    /// make it `partial`; otherwise `success`. (`drifted` is decided by the health check's
    /// drift probe, on top of this.)
    #[must_use]
    pub fn classify(facts: &SyncFacts) -> Self {
        if facts.failed {
            Self::Failed
        } else if facts.platform_behind > 0 || facts.unrecorded > 0 {
            Self::Pending
        } else if facts.open_conflicts > 0 || facts.pending_changes > 0 {
            Self::Partial
        } else {
            Self::Success
        }
    }
}

impl fmt::Display for SyncState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_serde() {
        for role in [Role::PlatformAdmin, Role::TenantAdmin, Role::User] {
            assert_eq!(serde_json::to_value(role).expect("ok"), role.as_str());
        }
        for scope in Scope::ALL {
            assert_eq!(serde_json::to_value(scope).expect("ok"), scope.as_str());
            assert_eq!(Scope::parse(scope.as_str()), Some(scope));
        }
        for state in SyncState::ALL {
            assert_eq!(serde_json::to_value(state).expect("ok"), state.as_str());
            assert_eq!(SyncState::parse(state.as_str()), Some(state));
        }
    }

    #[test]
    fn classification_orders_failure_lag_and_open_items() {
        let base = SyncFacts::default();
        assert_eq!(SyncState::classify(&base), SyncState::Success);
        let partial = SyncFacts {
            open_conflicts: 1,
            ..base
        };
        assert_eq!(SyncState::classify(&partial), SyncState::Partial);
        let pending = SyncFacts {
            platform_behind: 1,
            ..partial
        };
        assert_eq!(SyncState::classify(&pending), SyncState::Pending);
        let unrecorded = SyncFacts {
            unrecorded: 2,
            ..base
        };
        assert_eq!(SyncState::classify(&unrecorded), SyncState::Pending);
        let failed = SyncFacts {
            failed: true,
            ..pending
        };
        assert_eq!(SyncState::classify(&failed), SyncState::Failed);
    }

    #[test]
    fn maps_keyed_by_state_keep_alphabetical_keys() {
        let map: std::collections::BTreeMap<SyncState, u64> =
            SyncState::ALL.into_iter().map(|s| (s, 1)).collect();
        let text = serde_json::to_string(&map).expect("ok");
        assert_eq!(
            text,
            r#"{"drifted":1,"failed":1,"partial":1,"pending":1,"success":1}"#
        );
    }
}
