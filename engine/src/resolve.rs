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
use serde_json::{Map, Value};

use crate::document::{overlay_traced, Layer, OverlayTrace};
use crate::scope::{Scope, Subject};
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
    resolve_stack(platform, tenant, None, Resolution::LowerWins, &mut ())
}

/// A user's effective config from the three layers under `resolution`.
#[must_use]
pub fn effective_user(
    platform: &Layer,
    tenant: &Layer,
    user: &Layer,
    resolution: Resolution,
) -> Value {
    resolve_stack(platform, tenant, Some(user), resolution, &mut ())
}

/// Resolves the layers of one effective config, telling `trace` where values land: the
/// platform's, then the tenant's with the user's (if any) below it or, under
/// [`Resolution::TenantWins`], above it.
pub(crate) fn resolve_stack<T: OverlayTrace>(
    platform: &Layer,
    tenant: &Layer,
    user: Option<&Layer>,
    resolution: Resolution,
    trace: &mut T,
) -> Value {
    let platform = (Scope::Platform, platform);
    let tenant = (Scope::Tenant, tenant);
    match (user.map(|layer| (Scope::User, layer)), resolution) {
        (None, _) => resolve_layers(&[platform, tenant], trace),
        (Some(user), Resolution::LowerWins) => resolve_layers(&[platform, tenant, user], trace),
        (Some(user), Resolution::TenantWins) => resolve_layers(&[platform, user, tenant], trace),
    }
}

/// Resolves `layers` (top first, each with its scope): a copy of the first, each next one
/// overlaid on it ([`crate::document::overlay`]), all told to `trace`. `{}` for no layers.
pub(crate) fn resolve_layers<T: OverlayTrace>(layers: &[(Scope, &Layer)], trace: &mut T) -> Value {
    let Some(((scope, first), rest)) = layers.split_first() else {
        return Value::Object(Map::new());
    };
    trace.layer(*scope);
    trace.took();
    let mut out = first.as_value().clone();
    for (scope, layer) in rest {
        trace.layer(*scope);
        overlay_traced(&mut out, layer.as_value(), trace);
    }
    out
}

impl NamespaceState {
    /// The effective config of `subject` in this namespace.
    #[must_use]
    pub fn effective(&self, subject: &Subject, resolution: Resolution) -> Value {
        self.resolve_traced(subject, resolution, &mut ())
    }

    /// [`NamespaceState::effective`], telling `trace` where values land. A user without a
    /// layer of their own resolves as the tenant.
    pub(crate) fn resolve_traced<T: OverlayTrace>(
        &self,
        subject: &Subject,
        resolution: Resolution,
        trace: &mut T,
    ) -> Value {
        let user = match subject {
            Subject::User(id) => self.users.get(id).map(|user| &user.layer),
            Subject::Tenant => None,
        };
        resolve_stack(&self.platform, &self.tenant.layer, user, resolution, trace)
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
