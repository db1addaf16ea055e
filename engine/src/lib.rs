//! Cascade's pure sync engine: layers, rules, resolution, conflicts, pending changes and
//! history, with no I/O, no clock, no randomness and no `worker` dependency. Durable Objects
//! wrap it: a `TenantHub` per tenant calls the functions in [`apply`], [`pending`],
//! [`conflict`] and [`rollback`]; the `PlatformHub` calls [`platform`].
//!
//! # The model
//!
//! * A **namespace** (the seed's config `type`: `auth`, `rbac`, …) is a JSON object document.
//! * Each **scope** — platform, tenant, user — holds a **layer** per namespace with only its
//!   own values ([`document::Layer`]). A tenant keeps its *own copy* of the platform layer,
//!   patched by the platform changes it accepted (selective sync, filters and pending
//!   changes make it lag on purpose).
//! * The **effective config** resolves the layers top-down ([`resolve`]): objects merge per
//!   key, arrays of objects with distinct `id`s merge per id, everything else is a leaf from
//!   the lowest layer that sets it (under `tenant-wins`, the tenant's beats its users').
//! * A **change** is the seed's event `{type, action, scope, targetId, config, triggeredBy}`
//!   ([`event::ChangeEvent`]); `config` is an RFC 7396 merge patch on the source layer. Its
//!   topic `{type}.{action}` is matched against **sync rules** ([`rule`], [`matching`]).
//! * Applying a change is a pure function from (state, change, rules) to a [`commit::Commit`]:
//!   new state, the tenant's next `seq`, an exhaustive list of [`outcome::Outcome`]s, and RFC
//!   6902 patches per subject to broadcast ([`patch`]). Batches are atomic with one seq.
//! * Where an upper change meets a lower override, the governing rule's strategy decides
//!   (the conflict table of docs/RULES.md; details in [`reconcile`]). An upper change
//!   *touches* a leaf when it changes the upper value there; re-sending an unchanged value
//!   touches nothing.
//! * Every commit appends a history entry with undos to each namespace it touched
//!   ([`history`]); [`rollback`] restores any retained version as a new, forward commit.
//! * Errors carry stable codes ([`error::EngineError::code`], e.g. `CASCADE:Rule:LockedPath`).
//!
//! # One example per strategy
//!
//! All four start from the same tenant: the platform set `{"sso": {"provider": "google",
//! "timeout": 30}}`, the tenant overrode the provider with `"okta"`; then the platform
//! changes the provider to `"azure"` and the timeout to `60`.
//!
//! ```
//! use cascade_engine::apply::{apply_changes, apply_platform_update, PlatformApply};
//! use cascade_engine::commit::{Commit, Context};
//! use cascade_engine::event::{ChangeEvent, PlatformUpdate};
//! use cascade_engine::outcome::Outcome;
//! use cascade_engine::resolve::Resolution;
//! use cascade_engine::rule::SyncRule;
//! use cascade_engine::scope::{Namespace, Subject, TenantContext};
//! use cascade_engine::state::TenantState;
//! use cascade_engine::validate::Limits;
//! use serde_json::{json, Value};
//!
//! fn scenario(strategy: &str) -> (Value, Commit) {
//!     let rules: Vec<SyncRule> = serde_json::from_value(json!([{
//!         "triggerEvents": ["auth.*"], "targetScopes": ["tenant", "user"],
//!         "syncDirection": "down", "conflictResolution": strategy, "autoApply": true
//!     }])).unwrap();
//!     let tenant = TenantContext::new("t1");
//!     let limits = Limits::default();
//!     let ctx = |at| Context { tenant: &tenant, rules: &rules, limits: &limits, at };
//!     let event = |scope: &str, config: Value| -> ChangeEvent {
//!         serde_json::from_value(json!({"type": "auth", "action": "update", "scope": scope,
//!             "targetId": if scope == "tenant" { json!("t1") } else { Value::Null },
//!             "config": config, "triggeredBy": "admin"})).unwrap()
//!     };
//!     let platform = |state: &TenantState, seq, config, at| {
//!         let update = PlatformUpdate { platform_seq: seq, events: vec![event("platform", config)] };
//!         match apply_platform_update(state, &update, ctx(at)).unwrap() {
//!             PlatformApply::Committed(commit) => commit,
//!             PlatformApply::AlreadyApplied { .. } => unreachable!(),
//!         }
//!     };
//!     let s = platform(&TenantState::default(), 1, json!({"sso": {"provider": "google", "timeout": 30}}), 1).state;
//!     let s = apply_changes(&s, &[event("tenant", json!({"sso": {"provider": "okta"}}))], ctx(2)).unwrap().state;
//!     let commit = platform(&s, 2, json!({"sso": {"provider": "azure", "timeout": 60}}), 3);
//!     let auth = Namespace::new("auth").unwrap();
//!     let effective = commit.state.namespace(&auth).unwrap().effective(&Subject::Tenant, Resolution::LowerWins);
//!     (effective, commit)
//! }
//!
//! // platform-wins: the override is removed (kept in the outcome and history).
//! let (effective, commit) = scenario("platform-wins");
//! assert_eq!(effective, json!({"sso": {"provider": "azure", "timeout": 60}}));
//! assert!(commit.outcomes.iter().any(|o| matches!(o, Outcome::Overridden { removed, .. } if removed == "okta")));
//!
//! // tenant-wins and user-wins: the tenant's value stays; the upper change is shadowed there.
//! for strategy in ["tenant-wins", "user-wins"] {
//!     let (effective, commit) = scenario(strategy);
//!     assert_eq!(effective, json!({"sso": {"provider": "okta", "timeout": 60}}));
//!     assert!(commit.outcomes.iter().any(|o| matches!(o, Outcome::Shadowed { .. })));
//! }
//!
//! // merge: the disjoint edit (timeout) combines; the same leaf edited on both sides keeps
//! // the customization and opens a conflict (base "google", upper "azure", lower "okta").
//! let (effective, commit) = scenario("merge");
//! assert_eq!(effective, json!({"sso": {"provider": "okta", "timeout": 60}}));
//! let conflict = commit.state.namespace(&Namespace::new("auth").unwrap()).unwrap().conflicts[0].clone();
//! assert_eq!((conflict.base, conflict.upper, conflict.lower), (Some(json!("google")), Some(json!("azure")), json!("okta")));
//! ```
//!
//! # Choices the specification leaves open
//!
//! * **Rule precedence**: higher `priority`, then the more specific trigger, then D1 order;
//!   the first rule with downward targets governs ([`matching`]).
//! * **Topics**: `{type}.{action}`, where `action` may carry a sub-resource
//!   (`provider.update`); a resource-less topic such as `rbac.update` matches
//!   `rbac.<anything>.update` ([`event`]).
//! * **No matching rule**: a platform change is not delivered to the tenant (recorded as
//!   `Skipped`); a tenant's or user's own write always lands in its own layer.
//! * **Targets**: the strategy is enforced only at the rule's `targetScopes`; overrides at
//!   other scopes are kept and recorded as `Shadowed`.
//! * **Locks** bind the declaring rule's target scopes; a write setting a locked path is
//!   refused; an existing override at a locked path is removed by the next upper change to
//!   it, whatever the strategy.
//! * **`autoApply: false`** holds platform changes as pending; later platform changes to the
//!   namespace queue behind them; accepting goes oldest first ([`pending`]).
//! * **`null`** in a config deletes (RFC 7396); layers never store `null` or `{}`; lower
//!   layers can override but not delete upper values (set `false`, `[]` or a marker instead).
//! * **Rollback** restores every layer of the namespace at the tenant, including its platform
//!   copy, so effective configs are exactly as they were ([`rollback`]).

#![warn(missing_docs)]

pub mod apply;
pub mod commit;
pub mod conflict;
pub mod converge;
pub mod document;
pub mod error;
pub mod event;
pub mod history;
pub mod matching;
pub mod origin;
pub mod outcome;
pub mod patch;
pub mod path;
pub mod pending;
pub mod platform;
pub mod reach;
pub mod reconcile;
pub mod resolve;
pub mod rollback;
pub mod rule;
pub mod scope;
pub mod state;
pub mod validate;

pub use commit::{Commit, Context};
pub use error::EngineError;
