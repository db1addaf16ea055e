//! Drift and convergence at a tenant: comparing its copies of the platform layers with the
//! platform's (by digest, for the health check) and bringing them back where the rules say
//! they must converge (through the commit pipeline, as one `convergence` entry). The why of
//! each difference is `cascade_engine::converge`'s.

use std::time::Duration;

use cascade_engine::converge::{classify_drift, convergence_event};
use cascade_engine::scope::Namespace;
use cascade_engine::state::NamespaceState;
use worker::Result;

use super::commit::{Change, Op, Step};
use super::TenantHub;
use crate::digest::layer_digest;
use crate::internal::{ConvergeAck, ConvergeRequest, HealthProbe, HealthReport, NamespaceDrift};
use crate::store::Meta;
use crate::{lifecycle, tenant_store};

/// Who a convergence's history entry and frames name.
pub const CONVERGENCE_AUTHOR: &str = "system:convergence";

impl TenantHub {
    /// The hub's status and the namespaces whose copy differs from the platform's digest.
    pub(super) fn health(&self, tenant: &str, probe: &HealthProbe) -> Result<HealthReport> {
        let mut drift = Vec::new();
        for (name, digest) in &probe.digests {
            let Ok(namespace) = Namespace::new(name.as_str()) else {
                continue;
            };
            let ns = self.head(&namespace)?;
            if &layer_digest(ns.platform.as_value()) != digest {
                drift.push(self.drift_of(&ns, probe)?);
            }
        }
        Ok(HealthReport {
            status: self.status(tenant)?,
            drift,
        })
    }

    fn drift_of(&self, ns: &NamespaceState, probe: &HealthProbe) -> Result<NamespaceDrift> {
        let rolled_back = tenant_store::rolled_back(&self.core.store, &ns.namespace)?;
        let d = classify_drift(ns, &probe.context.tenant, &probe.context.rules, rolled_back);
        Ok(NamespaceDrift {
            namespace: d.namespace.as_str().to_owned(),
            reason: d.reason,
            must_converge: d.must_converge,
        })
    }

    /// The namespace's head with its pending changes: a copy that differs because a change
    /// waits for the tenant admin is `pending` drift, which must not converge (that would
    /// hold the same difference for approval a second time).
    fn head(&self, namespace: &Namespace) -> Result<NamespaceState> {
        let mut ns = tenant_store::load_head(&self.core.store, namespace)?
            .unwrap_or_else(|| NamespaceState::new(namespace.clone()));
        ns.pending = tenant_store::load_pending(&self.core.store, namespace)?;
        Ok(ns)
    }

    /// Brings the copies of `request.layers` to the platform's where the rules say they must
    /// converge, after catching up on any platform update the layers already include. `None`
    /// when the hub is not live (its tenant was deleted); a hub that never served anyone
    /// becomes live, as it does for a platform delivery.
    pub(super) async fn converge(
        &self,
        tenant: &str,
        request: &ConvergeRequest,
    ) -> Result<Option<ConvergeAck>> {
        if !lifecycle::admit_delivery(&self.core.store)? {
            return Ok(None);
        }
        let have = self.core.store.counter(Meta::PlatformSeq)?;
        if have < request.platform_seq
            && self
                .catch_up(tenant, request.platform_seq, &request.context)
                .await?
                .is_none()
        {
            return Ok(None);
        }
        if self.core.store.counter(Meta::PlatformSeq)? != request.platform_seq {
            return Ok(Some(ConvergeAck {
                stale: true,
                ..ConvergeAck::default()
            }));
        }
        let probe = HealthProbe {
            context: request.context.clone(),
            digests: Default::default(),
        };
        let mut ack = ConvergeAck::default();
        let mut events = Vec::new();
        for layer in &request.layers {
            let Ok(namespace) = Namespace::new(layer.namespace.as_str()) else {
                continue;
            };
            let ns = self.head(&namespace)?;
            let Some(event) = convergence_event(&ns, &layer.config, CONVERGENCE_AUTHOR) else {
                continue;
            };
            let drift = self.drift_of(&ns, &probe)?;
            if drift.must_converge {
                ack.converged.push(drift.namespace);
                events.push(event);
            } else {
                ack.drift.push(drift);
            }
        }
        if events.is_empty() {
            return Ok(Some(ack));
        }
        let change = Change {
            op: Op::Converge {
                events,
                cause: request.cause.clone(),
            },
            context: &request.context,
            by: CONVERGENCE_AUTHOR,
            caller: None,
            guard: None,
            platform_committed_at: None,
        };
        match self.commit(tenant, change).await? {
            Step::Reply(crate::core::WriteReply::Done(done)) => ack.seq = Some(done.seq),
            Step::Reply(crate::core::WriteReply::Refused(problem)) => {
                return Err(worker::Error::RustError(format!(
                    "convergence refused: {}",
                    problem.detail
                )))
            }
            Step::Reply(_) | Step::AlreadyHad => {}
            Step::NotLive => return Ok(None),
        }
        self.core.arm_alarm(Duration::ZERO).await?;
        Ok(Some(ack))
    }
}
