//! Live change frames: encoded once per commit, logged in the commit's synchronous run of
//! writes (for replay on reconnect), then handed to the sockets once the commit is durable,
//! with the tenant's sync status for its admins.

use cascade_engine::commit::Commit;
use cascade_engine::scope::Scope;
use cascade_protocol::{room, ServerFrame, SyncStatusReport};
use worker::Result;

use super::TenantHub;
use crate::change_frames::frames_for;
use crate::delivery::{Batch, SOCKETS_PER_TURN};
use crate::frame_log::{self, LoggedFrame, DEFAULT_RETAINED_SEQS};
use crate::internal::HubContext;
use crate::sockets;

impl TenantHub {
    /// Encodes a commit's frames and logs them in the commit's synchronous run of writes,
    /// pruning the log to its retention.
    pub(super) fn log_frames(
        &self,
        tenant: &str,
        commit: &Commit,
        context: &HubContext,
        scope: Scope,
        triggered_by: &str,
    ) -> Result<Vec<LoggedFrame>> {
        // Origins only for namespaces an origins socket follows (no `await` from here to the
        // commit's end, so no socket can connect in between: one that connects later and
        // would be replayed these frames gets a snapshot).
        let state = &self.core.state;
        let all = !state
            .get_websockets_with_tag(sockets::ALL_NAMESPACES_ORIGINS_TAG)
            .is_empty();
        let wanted = |namespace: &str| {
            all || !state
                .get_websockets_with_tag(&sockets::origins_tag(namespace))
                .is_empty()
        };
        let frames = frames_for(tenant, commit, context, scope, triggered_by, &wanted)?;
        frame_log::append(&self.core.store, &frames)?;
        let retained = self
            .core
            .env
            .var("FRAME_LOG_SEQS")
            .ok()
            .and_then(|v| v.to_string().parse().ok())
            .unwrap_or(DEFAULT_RETAINED_SEQS);
        frame_log::prune(&self.core.store, commit.seq, retained)?;
        Ok(frames)
    }

    /// Queues a commit's frames for live delivery once the commit is durable, with the
    /// tenant's sync status after it for its admins.
    pub(super) fn publish(&self, tenant: &str, frames: Vec<LoggedFrame>) -> Result<()> {
        // No change for a socket whose token expired: close those first, even if the alarm
        // set for their expiry has not fired yet (one storage read when none is due).
        let now = crate::core::js_now();
        if crate::socket_expiry::due(&self.core.store, now)? {
            crate::socket_expiry::close_expired(&self.core.state, &self.core.store, now)?;
        }
        // Worked out even when no admin is connected: listing the sockets to find out would
        // cost more, on the writer's path, than three small queries. Sent after every commit
        // so an admin's view of the tenant's seq never lags (a change-only rule measured no
        // gain in time-to-all; docs/BENCHMARKS.md).
        let current = self.sync_status(tenant)?;
        // The platform admins hear of it only when the status class or a count moved.
        if crate::status_watch::take_change(&self.core.store, &current)? {
            crate::status_watch::report(&self.core.state, self.core.env.clone(), current.clone());
        }
        let report = SyncStatusReport::Tenant(current);
        let status = (
            room::tenant_admins(tenant),
            serde_json::to_string(&ServerFrame::SyncStatus(report))?,
        );
        let per_turn = self
            .core
            .env
            .var("DELIVERY_SOCKETS_PER_TURN")
            .ok()
            .and_then(|v| v.to_string().parse().ok())
            .filter(|n: &usize| *n > 0)
            .unwrap_or(SOCKETS_PER_TURN);
        self.outgoing
            .push(&self.core.raw_state, Batch { frames, status }, per_turn);
        Ok(())
    }
}
