//! Target `resolve`: effective configs of the tenant and of users from generated layers.
//!
//! Invariants (module docs of `resolve` and `document`): resolution is deterministic; the
//! lowest layer in the order wins, so each of its leaves is in the effective config (the
//! tenant's leaves for the tenant and, under `tenant-wins`, for users too; a user's own
//! leaves under the natural order); a user without a layer sees exactly the tenant's config
//! under either order; an empty lower layer changes nothing; `NamespaceState::effective`
//! agrees with the free functions, and resolution with origins gives the same document.

use arbitrary::{Result, Unstructured};
use cascade_engine::document::{overlay, Layer};
use cascade_engine::resolve::{effective_tenant, effective_user, Resolution};
use cascade_engine::scope::{Namespace, Subject};
use cascade_engine::state::{LowerLayer, NamespaceState};

use crate::{check, gen};

fn layer(u: &mut Unstructured<'_>) -> Result<Layer> {
    Layer::from_value(gen::document(u, false)?).map_err(|_| arbitrary::Error::IncorrectFormat)
}

fn fuzz(u: &mut Unstructured<'_>) -> Result<()> {
    let platform = layer(u)?;
    let tenant = layer(u)?;
    let user = layer(u)?;
    let resolution = if u.arbitrary()? {
        Resolution::TenantWins
    } else {
        Resolution::LowerWins
    };

    let tenant_config = effective_tenant(&platform, &tenant);
    assert_eq!(
        tenant_config,
        effective_tenant(&platform, &tenant),
        "deterministic"
    );
    check::leaves_visible("tenant over platform", tenant.as_value(), &tenant_config);
    assert_eq!(
        overlay(platform.as_value(), Layer::empty().as_value()),
        *platform.as_value(),
        "an empty layer changes nothing"
    );

    let user_config = effective_user(&platform, &tenant, &user, resolution);
    assert_eq!(
        user_config,
        effective_user(&platform, &tenant, &user, resolution),
        "deterministic"
    );
    match resolution {
        Resolution::LowerWins => {
            check::leaves_visible("user, natural order", user.as_value(), &user_config)
        }
        Resolution::TenantWins => {
            check::leaves_visible("tenant-wins", tenant.as_value(), &user_config)
        }
    }
    assert_eq!(
        effective_user(&platform, &tenant, &Layer::empty(), resolution),
        tenant_config,
        "a user without a layer sees the tenant's config"
    );

    let mut ns = NamespaceState::new(Namespace::new("auth").expect("a namespace name"));
    ns.platform = platform;
    ns.tenant = LowerLayer::new(tenant);
    ns.users.insert("u1".into(), LowerLayer::new(user));
    assert_eq!(ns.effective(&Subject::Tenant, resolution), tenant_config);
    assert_eq!(
        ns.effective(&Subject::User("u1".into()), resolution),
        user_config
    );
    assert_eq!(
        ns.effective(&Subject::User("nobody".into()), resolution),
        tenant_config,
        "a user without a record sees the tenant's config"
    );
    for subject in [Subject::Tenant, Subject::User("u1".into())] {
        assert_eq!(
            ns.effective_with_origins(&subject, resolution).0,
            ns.effective(&subject, resolution),
            "resolution with origins gives the plain document"
        );
    }
    Ok(())
}

/// Runs the target on one input.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let _ = fuzz(&mut u);
}
