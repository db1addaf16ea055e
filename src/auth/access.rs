//! Role-based access: what each role may do with each endpoint. Each route names its
//! [`Rule`] in the route table (`crate::routes::ROUTES`); [`authorize`] applies it.
//!
//! - A platform admin may do everything.
//! - A tenant admin may act only within its own tenant (`tid`); another tenant's resources
//!   answer 403 whether or not they exist, so nothing leaks about other tenants.
//! - A user may read and write only its own layer and read its own effective config, and
//!   reach its own tenant's WebSocket (which sends it what concerns it); a batch of events is
//!   checked against its events' scopes by the endpoint.
//! - Liveness and the OpenAPI document are public.

use crate::problem::ApiError;
use crate::routes::Matched;

use super::{Principal, Role};

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Anyone, without credentials.
    Public,
    /// Platform admins only.
    PlatformAdmin,
    /// Platform admins, and admins of the tenant named in the path.
    TenantAdminOfPath,
    /// Any authenticated member of the tenant being connected to.
    MemberOfTenant,
    /// Platform admins, admins of the tenant in the path, and the user named in the path.
    UserOfPathOrTenantAdmin,
    /// Any authenticated caller; the endpoint checks the body (events).
    Authenticated,
}

/// Checks that `principal` may call the matched endpoint. `tenant` is the tenant the request
/// addresses (from the path, or the `tenant` query parameter of a WebSocket connect).
pub fn authorize(
    principal: &Principal,
    matched: &Matched,
    tenant: Option<&str>,
    user: Option<&str>,
) -> Result<(), ApiError> {
    if principal.role == Role::PlatformAdmin {
        return Ok(());
    }
    let own_tenant = principal.tenant.as_deref();
    let allowed = match matched.access {
        Rule::Public => true,
        Rule::PlatformAdmin => false,
        Rule::TenantAdminOfPath => {
            principal.role == Role::TenantAdmin && tenant.is_some() && tenant == own_tenant
        }
        Rule::MemberOfTenant => tenant.is_none() || tenant == own_tenant,
        Rule::UserOfPathOrTenantAdmin => {
            tenant.is_some()
                && tenant == own_tenant
                && (principal.role == Role::TenantAdmin
                    || (user.is_some() && user == Some(principal.sub.as_str())))
        }
        Rule::Authenticated => true,
    };
    if allowed {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "a {} may not call {:?}{}",
            match principal.role {
                Role::PlatformAdmin => "platform admin",
                Role::TenantAdmin => "tenant admin",
                Role::User => "user",
            },
            matched.endpoint,
            tenant
                .map(|t| format!(" on tenant '{t}'"))
                .unwrap_or_default()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::Endpoint;

    fn principal(role: Role, tenant: Option<&str>) -> Principal {
        Principal {
            sub: "u1".into(),
            tenant: tenant.map(str::to_owned),
            role,
            expires_at: 0,
        }
    }

    fn matched(endpoint: Endpoint) -> Matched {
        let route = crate::routes::ROUTES
            .iter()
            .find(|r| r.endpoint == endpoint)
            .expect("every endpoint has a route");
        Matched {
            endpoint,
            access: route.access,
            params: Vec::new(),
        }
    }

    #[test]
    fn role_table() {
        let platform = principal(Role::PlatformAdmin, None);
        let admin = principal(Role::TenantAdmin, Some("acme"));
        let user = principal(Role::User, Some("acme"));
        // (who, endpoint, tenant addressed, user addressed, allowed)
        let cases = [
            (&platform, Endpoint::PutPlatformConfig, None, None, true),
            (
                &platform,
                Endpoint::PutTenantConfig,
                Some("globex"),
                None,
                true,
            ),
            (&admin, Endpoint::PutTenantConfig, Some("acme"), None, true),
            (
                &admin,
                Endpoint::PutTenantConfig,
                Some("globex"),
                None,
                false,
            ),
            (&admin, Endpoint::TenantHistory, Some("acme"), None, true),
            (&admin, Endpoint::PutPlatformConfig, None, None, false),
            (&admin, Endpoint::ListTenants, None, None, false),
            (&admin, Endpoint::Status, None, None, false),
            (&admin, Endpoint::PutRule, None, None, false),
            (
                &admin,
                Endpoint::PutUserConfig,
                Some("acme"),
                Some("u9"),
                true,
            ),
            (
                &admin,
                Endpoint::PutUserConfig,
                Some("globex"),
                Some("u9"),
                false,
            ),
            (&user, Endpoint::PutTenantConfig, Some("acme"), None, false),
            (&user, Endpoint::GetTenantConfig, Some("acme"), None, false),
            (
                &user,
                Endpoint::GetTenantEffective,
                Some("acme"),
                None,
                false,
            ),
            (
                &user,
                Endpoint::PutUserConfig,
                Some("acme"),
                Some("u1"),
                true,
            ),
            (
                &user,
                Endpoint::GetUserEffective,
                Some("acme"),
                Some("u1"),
                true,
            ),
            (
                &user,
                Endpoint::GetUserEffective,
                Some("acme"),
                Some("u2"),
                false,
            ),
            (
                &user,
                Endpoint::PutUserConfig,
                Some("globex"),
                Some("u1"),
                false,
            ),
            (&user, Endpoint::PostEvents, None, None, true),
            (&user, Endpoint::Connect, Some("acme"), None, true),
            (&user, Endpoint::Connect, Some("globex"), None, false),
            (&admin, Endpoint::Connect, Some("globex"), None, false),
        ];
        for (who, endpoint, tenant, user, allowed) in cases {
            let got = authorize(who, &matched(endpoint), tenant, user);
            assert_eq!(
                got.is_ok(),
                allowed,
                "{:?} {endpoint:?} {tenant:?}: {got:?}",
                who.role
            );
        }
    }
}
