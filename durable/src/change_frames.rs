//! Turns a commit into the change frames its subjects must receive: each subject gets
//! exactly its own effective change. A user with a layer in the namespace (or whose layer
//! just went away) gets its own patch; everyone else in the tenant gets the tenant's patch;
//! a user whose own value shadows the change gets nothing.
//!
//! Each frame is encoded once here, logged (see [`crate::frame_log`]) and delivered live.

use std::collections::BTreeSet;

use cascade_engine::commit::Commit;
use cascade_engine::scope::Scope;
use cascade_protocol::{ConfigChange, ServerFrame};
use worker::Result;

use crate::frame_log::{Audience, LoggedFrame};

/// The frames of `commit` in `tenant`, written at `scope` by `triggered_by`.
pub fn frames_for(
    tenant: &str,
    commit: &Commit,
    scope: Scope,
    triggered_by: &str,
) -> Result<Vec<LoggedFrame>> {
    let mut frames = Vec::new();
    for delta in &commit.deltas {
        let namespace = delta.namespace.as_str();
        let version = commit
            .state
            .namespace(&delta.namespace)
            .map_or(commit.seq, |n| n.version);
        let encode = |patch: &json_patch::Patch| -> Result<String> {
            Ok(serde_json::to_string(&ServerFrame::for_change(
                ConfigChange {
                    seq: commit.seq,
                    tenant: tenant.to_owned(),
                    scope,
                    namespace: namespace.to_owned(),
                    version,
                    patch: patch.clone(),
                    triggered_by: Some(triggered_by.to_owned()),
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
                frame: encode(patch)?,
            });
        }
        for (user, patch) in &delta.users {
            frames.push(LoggedFrame {
                seq: commit.seq,
                namespace: namespace.to_owned(),
                audience: Audience::User(user.clone()),
                frame: encode(patch)?,
            });
        }
    }
    Ok(frames)
}
