//! Role-based access: what each role may do with each endpoint.
//!
//! - A platform admin may do everything.
//! - A tenant admin may act only within its own tenant (`tid`); another tenant's resources
//!   answer 403 whether or not they exist, so nothing leaks about other tenants.
//! - A user may reach only its own tenant's WebSocket (which sends it what concerns it).
//!   User layers and effective config arrive with the engine; until then users have no HTTP
//!   resource.
//! - Liveness and the OpenAPI document are public.

use crate::problem::ApiError;
use crate::routes::{Endpoint, Matched};

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

/// The rule of each endpoint.
pub fn rule(endpoint: Endpoint) -> Rule {
    match endpoint {
        Endpoint::Health | Endpoint::OpenApi => Rule::Public,
        Endpoint::Status
        | Endpoint::ListTenants
        | Endpoint::PutTenant
        | Endpoint::DeleteTenant
        | Endpoint::SyncAll
        | Endpoint::GetPlatformConfig
        | Endpoint::PutPlatformConfig
        | Endpoint::PatchPlatformConfig
        | Endpoint::PlatformRefusals
        | Endpoint::PlatformRollback => Rule::PlatformAdmin,
        Endpoint::ListRules | Endpoint::PutRule | Endpoint::DeleteRule | Endpoint::PreviewRule => {
            Rule::PlatformAdmin
        }
        Endpoint::GetTenant
        | Endpoint::GetTenantConfig
        | Endpoint::PutTenantConfig
        | Endpoint::PatchTenantConfig
        | Endpoint::GetTenantEffective
        | Endpoint::SyncTenant
        | Endpoint::TenantHistory
        | Endpoint::TenantRefusals
        | Endpoint::ListPending
        | Endpoint::AcceptPending
        | Endpoint::RejectPending
        | Endpoint::ListConflicts
        | Endpoint::ResolveConflict
        | Endpoint::Rollback
        | Endpoint::TenantStatus => Rule::TenantAdminOfPath,
        Endpoint::GetUserConfig
        | Endpoint::PutUserConfig
        | Endpoint::PatchUserConfig
        | Endpoint::GetUserEffective => Rule::UserOfPathOrTenantAdmin,
        Endpoint::Connect => Rule::MemberOfTenant,
        Endpoint::PostEvents => Rule::Authenticated,
    }
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
    let allowed = match rule(matched.endpoint) {
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

    fn principal(role: Role, tenant: Option<&str>) -> Principal {
        Principal {
            sub: "u1".into(),
            tenant: tenant.map(str::to_owned),
            role,
            expires_at: 0,
        }
    }

    fn matched(endpoint: Endpoint) -> Matched {
        Matched {
            endpoint,
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
