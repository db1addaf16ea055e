//! Turns a commit into the change frames its subjects must receive: each subject gets
//! exactly its own effective change. A user with a layer in the namespace (or whose layer
//! just went away) gets its own patch; everyone else in the tenant gets the tenant's patch;
//! a user whose own value shadows the change gets nothing.
//!
//! Each frame is encoded once here, logged (see [`crate::frame_log`]) and delivered live:
//! plain, and — when a socket that asked for origins follows the namespace — also with the
//! origin entries of the subtrees its patch changed (`cascade_engine::origin`). Nobody else
//! pays for origins: a socket that asks later and would be replayed a frame without them
//! gets a snapshot instead.

use std::collections::BTreeSet;

use cascade_engine::commit::Commit;
use cascade_engine::matching::NamespacePolicy;
use cascade_engine::origin::OriginMap;
use cascade_engine::scope::{Scope, Subject};
use cascade_engine::state::NamespaceState;
use cascade_protocol::{ConfigChange, Origins, ServerFrame};
use worker::Result;

use crate::frame_log::{Audience, LoggedFrame};
use crate::internal::HubContext;

/// The frames of `commit` in `tenant`, written at `scope` by `triggered_by`, resolved under
/// the rules of `context`; with their origins form in the namespaces for which
/// `origins_wanted` says a socket asked for origins.
pub fn frames_for(
    tenant: &str,
    commit: &Commit,
    context: &HubContext,
    scope: Scope,
    triggered_by: &str,
    origins_wanted: &dyn Fn(&str) -> bool,
) -> Result<Vec<LoggedFrame>> {
    let mut frames = Vec::new();
    for delta in &commit.deltas {
        let namespace = delta.namespace.as_str();
        let wanted = origins_wanted(namespace);
        let state = commit.state.namespace(&delta.namespace);
        let version = state.map_or(commit.seq, |n| n.version);
        let resolution =
            NamespacePolicy::derive(&context.rules, &delta.namespace, &context.tenant).resolution;
        // The origin entries a patch changed, from the subject's new origin map.
        let origins_of = |subject: &Subject, patch: &json_patch::Patch| -> Origins {
            let map = state.map_or_else(
                || OriginMap::whole(Scope::Platform),
                |ns: &NamespaceState| ns.effective_with_origins(subject, resolution).1,
            );
            wire_origins(map.for_patch(patch))
        };
        let encode = |patch: &json_patch::Patch, origins: Option<Origins>| -> Result<String> {
            Ok(serde_json::to_string(&ServerFrame::for_change(
                ConfigChange {
                    seq: commit.seq,
                    tenant: tenant.to_owned(),
                    scope,
                    namespace: namespace.to_owned(),
                    version,
                    patch: patch.clone(),
                    triggered_by: Some(triggered_by.to_owned()),
                    origins,
                },
            ))?)
        };
        if let Some(patch) = &delta.tenant {
            let excluded: BTreeSet<String> = delta
                .personal_users
                .iter()
                .chain(delta.users.keys())
                .cloned()
                .collect();
            frames.push(LoggedFrame {
                seq: commit.seq,
                namespace: namespace.to_owned(),
                audience: Audience::Tenant { excluded },
                frame: encode(patch, None)?,
                with_origins: if wanted {
                    Some(encode(patch, Some(origins_of(&Subject::Tenant, patch)))?)
                } else {
                    None
                },
            });
        }
        for (user, patch) in &delta.users {
            let subject = Subject::User(user.clone());
            frames.push(LoggedFrame {
                seq: commit.seq,
                namespace: namespace.to_owned(),
                audience: Audience::User(user.clone()),
                frame: encode(patch, None)?,
                with_origins: if wanted {
                    Some(encode(patch, Some(origins_of(&subject, patch)))?)
                } else {
                    None
                },
            });
        }
    }
    Ok(frames)
}

/// An origin map in its wire form (scopes by name).
pub fn wire_origins(map: OriginMap) -> Origins {
    map.into_entries()
        .into_iter()
        .map(|(pointer, scope)| (pointer, scope.as_str().to_owned()))
        .collect()
}
