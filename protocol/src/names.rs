//! Names on the wire: event names per namespace, room tags, and the identifier syntax that
//! tenant ids, user ids and namespaces share.

/// Maximum length of a tenant id, user id or namespace name.
pub const MAX_NAME_LEN: usize = 64;

/// Whether `name` is a valid tenant id, user id or namespace: 1 to 64 characters of ASCII
/// letters, digits, `-` and `_`, starting with a letter or digit.
///
/// The same rule everywhere keeps names safe inside room tags (`tenant:{id}`), Durable Object
/// names and URL paths without escaping.
pub fn is_valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_NAME_LEN
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
}

/// The seed's event name for a change in `namespace`: `auth-changed`, `rbac-changed` and
/// `module-changed` for those namespaces, `config-updated` for every other one.
pub fn event_name_for_namespace(namespace: &str) -> &'static str {
    match namespace {
        "auth" => "auth-changed",
        "rbac" => "rbac-changed",
        "modules" => "module-changed",
        _ => "config-updated",
    }
}

/// Room tags, as attached to hibernating WebSockets (the seed's room names).
pub mod room {
    /// `platform:admins`: every platform admin.
    pub const PLATFORM_ADMINS: &str = "platform:admins";

    /// `tenant:{id}`: everyone in the tenant.
    pub fn tenant(tenant: &str) -> String {
        format!("tenant:{tenant}")
    }

    /// `tenant:{id}:admins`: the tenant's admins.
    pub fn tenant_admins(tenant: &str) -> String {
        format!("tenant:{tenant}:admins")
    }

    /// `user:{id}`: one user's sockets.
    pub fn user(user: &str) -> String {
        format!("user:{user}")
    }

    /// `config:{type}`: subscribers of one namespace.
    pub fn config(namespace: &str) -> String {
        format!("config:{namespace}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_accept_identifiers_and_refuse_everything_else() {
        for good in ["acme", "t1", "tenant_2", "a-b", &"x".repeat(64)] {
            assert!(is_valid_name(good), "{good} should be valid");
        }
        for bad in [
            "",
            "-lead",
            "_lead",
            "has space",
            "a/b",
            "a:b",
            "é",
            &"x".repeat(65),
        ] {
            assert!(!is_valid_name(bad), "{bad} should be invalid");
        }
    }

    #[test]
    fn seed_event_names() {
        assert_eq!(event_name_for_namespace("auth"), "auth-changed");
        assert_eq!(event_name_for_namespace("rbac"), "rbac-changed");
        assert_eq!(event_name_for_namespace("modules"), "module-changed");
        assert_eq!(event_name_for_namespace("notifications"), "config-updated");
    }

    #[test]
    fn room_tags() {
        assert_eq!(room::tenant("acme"), "tenant:acme");
        assert_eq!(room::tenant_admins("acme"), "tenant:acme:admins");
        assert_eq!(room::user("u1"), "user:u1");
        assert_eq!(room::config("auth"), "config:auth");
    }
}
