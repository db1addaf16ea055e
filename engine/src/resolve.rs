//! Effective configs: the layers of a namespace resolved top-down.
//!
//! The tenant's effective config is `platform ⊕ tenant`; a user's is `platform ⊕ tenant ⊕
//! user`, where `a ⊕ b` overlays `b` on `a` ([`crate::document::overlay`]: objects merge per
//! key, id arrays per id, everything else is a leaf taken from the lower layer).
//!
//! Under `tenant-wins` the tenant's value beats its users' too, so a user's effective config
//! is `platform ⊕ user ⊕ tenant` instead ([`Resolution::TenantWins`]). `platform-wins` and
//! `merge` act when a change is applied (they edit lower layers), not at resolution, and
//! `user-wins` is the natural order, so all three resolve as [`Resolution::LowerWins`].
//!
//! A user without a layer of their own has exactly the tenant's effective config under either
//! order, which is why hubs broadcast one tenant patch to them all.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::document::{overlay, overlay_into, Layer};
use crate::scope::Subject;
use crate::state::NamespaceState;

/// The order layers resolve in for users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resolution {
    /// platform, then tenant, then user: the most specific value wins.
    LowerWins,
    /// platform, then user, then tenant: a tenant's value beats its users'.
    TenantWins,
}

/// The tenant's effective config from the platform layer and the tenant layer.
#[must_use]
pub fn effective_tenant(platform: &Layer, tenant: &Layer) -> Value {
    overlay(platform.as_value(), tenant.as_value())
}

/// A user's effective config from the three layers under `resolution`.
#[must_use]
pub fn effective_user(
    platform: &Layer,
    tenant: &Layer,
    user: &Layer,
    resolution: Resolution,
) -> Value {
    let mut out = platform.as_value().clone();
    match resolution {
        Resolution::LowerWins => {
            overlay_into(&mut out, tenant.as_value());
            overlay_into(&mut out, user.as_value());
        }
        Resolution::TenantWins => {
            overlay_into(&mut out, user.as_value());
            overlay_into(&mut out, tenant.as_value());
        }
    }
    out
}

impl NamespaceState {
    /// The effective config of `subject` in this namespace.
    #[must_use]
    pub fn effective(&self, subject: &Subject, resolution: Resolution) -> Value {
        match subject {
            Subject::Tenant => effective_tenant(&self.platform, &self.tenant.layer),
            Subject::User(id) => match self.users.get(id) {
                Some(user) => {
                    effective_user(&self.platform, &self.tenant.layer, &user.layer, resolution)
                }
                None => effective_tenant(&self.platform, &self.tenant.layer),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn layer(value: Value) -> Layer {
        Layer::from_value(value).expect("object")
    }

    #[test]
    fn resolution_table() {
        let platform = layer(json!({"a": "p", "b": "p", "c": "p"}));
        let tenant = layer(json!({"b": "t", "c": "t"}));
        let user = layer(json!({"c": "u", "d": "u"}));
        // (resolution, expected user effective)
        let table = [
            (
                Resolution::LowerWins,
                json!({"a": "p", "b": "t", "c": "u", "d": "u"}),
            ),
            (
                Resolution::TenantWins,
                json!({"a": "p", "b": "t", "c": "t", "d": "u"}),
            ),
        ];
        for (resolution, expected) in table {
            assert_eq!(
                effective_user(&platform, &tenant, &user, resolution),
                expected
            );
        }
        assert_eq!(
            effective_tenant(&platform, &tenant),
            json!({"a": "p", "b": "t", "c": "t"})
        );
    }

    #[test]
    fn a_user_without_a_layer_sees_the_tenant_config() {
        let platform = layer(json!({"a": 1}));
        let tenant = layer(json!({"b": 2}));
        for resolution in [Resolution::LowerWins, Resolution::TenantWins] {
            assert_eq!(
                effective_user(&platform, &tenant, &Layer::empty(), resolution),
                effective_tenant(&platform, &tenant)
            );
        }
    }
}
