//! Platform updates at a tenant: a delivery from the fan-out, after catching up on any
//! earlier updates this tenant missed, each applied through the commit pipeline.

use crate::store::Meta;
use std::time::Duration;

use cascade_engine::event::PlatformUpdate;
use worker::{Method, Request, Result};

use super::commit::{Change, Op, Step};
use super::TenantHub;
use crate::internal::{Delivery, DeliveryAck, HubContext, BASE_URL, HUB_NAME_HEADER};
use crate::platform_hub::PLATFORM_HUB_NAME;

/// How many platform updates one catch-up call asks the platform hub for.
const CATCH_UP_PAGE: u64 = 100;

impl TenantHub {
    /// Applies a platform update delivered by the fan-out, after catching up on any earlier
    /// ones this tenant missed. Idempotent: an update already applied is acknowledged again.
    /// `None` when the hub stopped being live (its tenant was deleted).
    pub(super) async fn deliver(
        &self,
        tenant: &str,
        delivery: &Delivery,
    ) -> Result<Option<DeliveryAck>> {
        let update = &delivery.update;
        let mut applied = 0;
        let have = self.core.store.counter(Meta::PlatformSeq)?;
        if update.platform_seq > have + 1 {
            match self
                .catch_up(tenant, update.platform_seq - 1, &delivery.context)
                .await?
            {
                Some(n) => applied += n,
                None => return Ok(None),
            }
        }
        match self
            .apply_platform(
                tenant,
                update,
                delivery.platform_committed_at,
                &delivery.context,
            )
            .await?
        {
            Step::Reply(_) => applied += 1,
            Step::AlreadyHad => {}
            Step::NotLive => return Ok(None),
        }
        self.core.arm_alarm(Duration::ZERO).await?;
        Ok(Some(DeliveryAck {
            platform_seq: self.core.store.counter(Meta::PlatformSeq)?,
            applied,
        }))
    }

    /// Catches up before a write when the caller saw a newer platform seq than this hub has
    /// applied: a tenant that missed a delivery catches up when it is written, not only when
    /// the health check finds it. A failed catch-up does not stop the write (the next read,
    /// write or health check catches up); it is logged.
    pub(super) async fn catch_up_first(&self, tenant: &str, context: &HubContext) -> Result<()> {
        let Some(latest) = context.platform_seq else {
            return Ok(());
        };
        // A hub that never served anyone becomes live, as for a platform delivery (the write
        // that follows would make it live anyway); a deleted tenant's stays erased.
        if self.core.store.counter(Meta::PlatformSeq)? >= latest
            || !crate::lifecycle::admit_delivery(&self.core.store)?
        {
            return Ok(());
        }
        if let Err(e) = self.catch_up(tenant, latest, context).await {
            worker::console_warn!("catch-up before a write of {tenant} failed: {e}");
        }
        Ok(())
    }

    /// Fetches and applies, in order, the platform updates after this tenant's platform
    /// sequence, up to `until`. Returns how many it applied, or `None` when the hub stopped
    /// being live meanwhile (its tenant was deleted).
    pub(super) async fn catch_up(
        &self,
        tenant: &str,
        until: u64,
        context: &HubContext,
    ) -> Result<Option<u64>> {
        let platform = self
            .core
            .env
            .durable_object("PLATFORM_HUB")?
            .get_by_name(PLATFORM_HUB_NAME)?;
        let mut applied = 0;
        loop {
            let since = self.core.store.counter(Meta::PlatformSeq)?;
            if since >= until {
                break;
            }
            let headers = worker::Headers::new();
            headers.set(HUB_NAME_HEADER, PLATFORM_HUB_NAME)?;
            let mut init = worker::RequestInit::new();
            init.with_method(Method::Get).with_headers(headers);
            let url = format!("{BASE_URL}/updates?since={since}&limit={CATCH_UP_PAGE}");
            let mut resp = platform
                .fetch_with_request(Request::new_with_init(&url, &init)?)
                .await?;
            if resp.status_code() != 200 {
                return Err(worker::Error::RustError(format!(
                    "platform hub answered {}",
                    resp.status_code()
                )));
            }
            let updates: Vec<PlatformUpdate> = resp.json().await?;
            if updates.is_empty() {
                break;
            }
            for update in updates.iter().filter(|u| u.platform_seq <= until) {
                // No propagation latency for catch-ups: for a tenant created (or healed)
                // long after the commit, the gap measures its age, not the fan-out.
                match self.apply_platform(tenant, update, None, context).await? {
                    Step::Reply(_) => applied += 1,
                    Step::AlreadyHad => {}
                    Step::NotLive => return Ok(None),
                }
            }
            if updates.len() < CATCH_UP_PAGE as usize {
                break;
            }
        }
        Ok(Some(applied))
    }

    /// Offers one platform update to the commit pipeline (applied only while the hub is
    /// live, once per platform seq). With the platform commit's time, the history row
    /// records the propagation latency.
    async fn apply_platform(
        &self,
        tenant: &str,
        update: &PlatformUpdate,
        platform_committed_at: Option<u64>,
        context: &HubContext,
    ) -> Result<Step> {
        let change = Change {
            op: Op::Platform(update.clone()),
            context,
            by: "",
            guard: None,
            platform_committed_at,
            caller: None,
        };
        self.commit(tenant, change).await
    }
}
