//! Caps on a tenant hub's WebSockets: at most so many per subject and so many per tenant,
//! checked before the upgrade.
//!
//! Why: a client stuck in a reconnect loop opened sockets until the local runtime died with
//! "accept: Too many open files", taking every tenant down; and a Durable Object holds at most
//! [`HIBERNATION_SOCKET_LIMIT`] hibernated sockets, beyond which accepting throws. A refused
//! connect is answered 429 `CASCADE:Connect:TooManySockets` (problem+json, `Retry-After`)
//! before any socket exists, so it costs the hub nothing to hold.
//!
//! The hub is the only place that knows the count, and it counts with the hibernation tags
//! (`tenant:{id}`, and the subject tag of [`SocketInfo::subject_tag`]): listing sockets by
//! tag wakes none of them and is right after hibernation too. Sockets already closing (closed
//! by the hub or by their client, not yet gone) do not count: they are about to free their
//! slot, and a client that closes one socket and reconnects must get in.
//!
//! The caps come from the Worker variables [`PER_USER_VAR`] and [`PER_TENANT_VAR`]
//! (`wrangler.jsonc` `vars`); a missing, zero or unreadable value means the default.

use cascade_protocol::{room, Problem};
use worker::{Env, State, WebSocket};

use crate::sockets::{self, SocketInfo};

/// Worker variable: most open sockets one subject may hold on one tenant's hub.
pub const PER_USER_VAR: &str = "MAX_SOCKETS_PER_USER";
/// Worker variable: most open sockets one tenant's hub holds.
pub const PER_TENANT_VAR: &str = "MAX_SOCKETS_PER_TENANT";

/// Default cap per subject: a few browser tabs, a native client and a dashboard, plus slack
/// for sockets whose network dropped and that the hub has not noticed yet (the heartbeat
/// sweep closes them after 90 s). A reconnect loop stops at this many.
pub const DEFAULT_MAX_SOCKETS_PER_USER: usize = 8;

/// Default cap per tenant: well under the runtime's [`HIBERNATION_SOCKET_LIMIT`], leaving room
/// for sockets that are closing but still listed, and at the scale the end-to-end and
/// benchmark runs measured (up to 10,000 sockets per hub, docs/BENCHMARKS.md) with twice the
/// headroom.
pub const DEFAULT_MAX_SOCKETS_PER_TENANT: usize = 20_000;

/// Hibernated WebSockets one Durable Object may hold (the runtime's limit).
pub const HIBERNATION_SOCKET_LIMIT: usize = 32_768;

/// Highest per-tenant cap a variable may set: the runtime's limit less room for sockets that
/// are closing but still counted by the runtime.
pub const MAX_TENANT_CAP: usize = 32_000;

/// Seconds a refused client is told to wait (`Retry-After`): a slot frees when a socket
/// closes, which the hub learns at once for a clean close and within a heartbeat sweep
/// (every 30 s at most) for a dead one; retrying sooner only repeats the refusal.
pub const RETRY_AFTER_SECS: u64 = 30;

/// Stable code of the refusal.
pub const TOO_MANY_SOCKETS: &str = "CASCADE:Connect:TooManySockets";

/// The caps in force for one connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketCaps {
    /// Most open sockets per subject on this hub.
    pub per_user: usize,
    /// Most open sockets on this hub.
    pub per_tenant: usize,
}

impl Default for SocketCaps {
    fn default() -> Self {
        Self {
            per_user: DEFAULT_MAX_SOCKETS_PER_USER,
            per_tenant: DEFAULT_MAX_SOCKETS_PER_TENANT,
        }
    }
}

/// A positive whole number, or `None`.
fn positive(text: Option<&str>) -> Option<usize> {
    text?.trim().parse::<usize>().ok().filter(|n| *n > 0)
}

impl SocketCaps {
    /// The caps from the variables' text (`None`: not set). The tenant cap is kept at or
    /// below [`MAX_TENANT_CAP`], whatever the variable says.
    pub fn from_vars(per_user: Option<&str>, per_tenant: Option<&str>) -> Self {
        let defaults = Self::default();
        Self {
            per_user: positive(per_user).unwrap_or(defaults.per_user),
            per_tenant: positive(per_tenant)
                .unwrap_or(defaults.per_tenant)
                .min(MAX_TENANT_CAP),
        }
    }

    /// The caps the hub's Worker variables set.
    pub fn from_env(env: &Env) -> Self {
        let read = |name: &str| env.var(name).ok().map(|v| v.to_string());
        Self::from_vars(
            read(PER_USER_VAR).as_deref(),
            read(PER_TENANT_VAR).as_deref(),
        )
    }

    /// Whether one more socket fits, given the open sockets the subject (`user`) and the
    /// tenant hold now; the refusal otherwise. The subject's cap is checked first: its
    /// refusal tells the client what it can do about it (close one of its own).
    pub fn check(&self, tenant: &str, sub: &str, user: usize, all: usize) -> Result<(), Problem> {
        let refuse = |detail: String| {
            Problem::new(429, TOO_MANY_SOCKETS, "Too Many Requests", detail)
                .with_retry_after(RETRY_AFTER_SECS)
        };
        if user >= self.per_user {
            return Err(refuse(format!(
                "'{sub}' already has {user} open sockets on tenant '{tenant}'; the cap is {} \
                 per user ({PER_USER_VAR}): close one, or retry in {RETRY_AFTER_SECS} s",
                self.per_user
            )));
        }
        if all >= self.per_tenant {
            return Err(refuse(format!(
                "tenant '{tenant}' already has {all} open sockets; the cap is {} per tenant \
                 ({PER_TENANT_VAR}): retry in {RETRY_AFTER_SECS} s",
                self.per_tenant
            )));
        }
        Ok(())
    }

    /// Counts the sockets of `info`'s subject and of `tenant` on this hub and checks them
    /// against the caps (see [`SocketCaps::check`]).
    pub fn admit(&self, state: &State, tenant: &str, info: &SocketInfo) -> Result<(), Problem> {
        let user = open_count(state, &info.subject_tag(), self.per_user);
        let all = open_count(state, &room::tenant(tenant), self.per_tenant);
        self.check(tenant, &info.sub, user, all)
    }
}

/// Open sockets tagged `tag`. Below `cap` the runtime's list is enough (a closing socket in it
/// can only make the count high, and it is under the cap anyway); at or over `cap`, each is
/// asked whether it is still open, so closing sockets never refuse a connect.
fn open_count(state: &State, tag: &str, cap: usize) -> usize {
    let listed: Vec<WebSocket> = state.get_websockets_with_tag(tag);
    if listed.len() < cap {
        return listed.len();
    }
    listed.iter().filter(|ws| sockets::is_open(ws)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_when_unset_zero_or_unreadable() {
        assert_eq!(SocketCaps::from_vars(None, None), SocketCaps::default());
        assert_eq!(
            SocketCaps::from_vars(Some("0"), Some("lots")),
            SocketCaps::default()
        );
        assert_eq!(
            SocketCaps::from_vars(Some(" 3 "), Some("5")),
            SocketCaps {
                per_user: 3,
                per_tenant: 5
            }
        );
    }

    #[test]
    fn the_tenant_cap_stays_below_the_runtime_limit() {
        const { assert!(DEFAULT_MAX_SOCKETS_PER_TENANT < HIBERNATION_SOCKET_LIMIT) };
        const { assert!(MAX_TENANT_CAP < HIBERNATION_SOCKET_LIMIT) };
        let caps = SocketCaps::from_vars(None, Some("100000"));
        assert_eq!(caps.per_tenant, MAX_TENANT_CAP);
    }

    #[test]
    fn one_more_than_a_cap_is_refused_with_429_and_retry_after() {
        let caps = SocketCaps::from_vars(Some("2"), Some("3"));
        assert!(caps.check("acme", "bob", 1, 2).is_ok());

        let user = caps.check("acme", "bob", 2, 2).unwrap_err();
        assert_eq!(
            (user.status, user.code.as_str(), user.retry_after),
            (429, TOO_MANY_SOCKETS, Some(RETRY_AFTER_SECS))
        );
        assert!(user.detail.contains("'bob' already has 2 open sockets"));
        assert!(user
            .detail
            .contains("cap is 2 per user (MAX_SOCKETS_PER_USER)"));

        let tenant = caps.check("acme", "bob", 0, 3).unwrap_err();
        assert_eq!(
            (tenant.status, tenant.code.as_str()),
            (429, TOO_MANY_SOCKETS)
        );
        assert!(tenant
            .detail
            .contains("tenant 'acme' already has 3 open sockets"));
        assert!(tenant
            .detail
            .contains("cap is 3 per tenant (MAX_SOCKETS_PER_TENANT)"));
    }
}
