//! WebSocket frames from server to client, and the stored-document shape the API returns.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Scope, SyncState};

/// One configuration change as a client receives it: an RFC 6902 patch that turns the
/// document at the previous version into the one at `version`.
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigChange {
    /// The hub's sequence number this change was applied at.
    pub seq: u64,
    /// Tenant the change belongs to.
    pub tenant: String,
    /// Scope that was written.
    pub scope: Scope,
    /// Namespace (config type) that changed.
    pub namespace: String,
    /// Version of the namespace document after the change (equals `seq` of its last write).
    pub version: u64,
    /// RFC 6902 JSON Patch from the previous document to the new one.
    #[cfg_attr(test, ts(type = "Array<JsonPatchOperation>"))]
    pub patch: json_patch::Patch,
    /// Who made the change, as given by the writer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggered_by: Option<String>,
    /// Only on sockets that asked for origins (`origins=1`): the origin entries of the
    /// subtrees the patch changed (docs/PROTOCOL.md, "Origins"). Every entry without an
    /// ancestor entry here is a root: the client drops its own entries at and below it,
    /// then takes these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(type = "Origins"))]
    pub origins: Option<Origins>,
}

/// Where the values of an effective config came from: JSON Pointer (into the effective
/// document, array elements by position) to the scope (`platform`, `tenant` or `user`) of
/// that subtree; deeper entries override (the longest pointer that is a value's own or an
/// ancestor's names its origin). The root `""` is always present in a whole map.
pub type Origins = BTreeMap<String, String>;

/// How a hub brings a connecting client up to date, announced in `hello`.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resume {
    /// The client gave no `since`: nothing is replayed (it reads documents over HTTP).
    #[default]
    None,
    /// The change frames after the client's `since` follow, in order, from the hub's log.
    Replay,
    /// A `snapshot` follows: the client asked for `since=0`, or the log no longer reaches
    /// back to its `since`.
    Snapshot,
}

/// One namespace in a [`ServerFrame::Snapshot`].
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotDocument {
    /// The namespace's version (the `seq` of its last write; 0 when never written).
    pub version: u64,
    /// The subject's effective config of the namespace.
    #[cfg_attr(test, ts(type = "JsonObject"))]
    pub config: Map<String, Value>,
    /// Only on sockets that asked for origins (`origins=1`): where each value of `config`
    /// came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(type = "Origins"))]
    pub origins: Option<Origins>,
}

/// What a `sync-status` frame reports.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "scope", rename_all = "kebab-case")]
pub enum SyncStatusReport {
    /// One tenant, sent by its hub to `tenant:{id}:admins` after each change it commits.
    Tenant(TenantSyncStatus),
    /// The platform, sent by the platform hub to `platform:admins` after each health check.
    Platform(PlatformSyncStatus),
}

/// A tenant's sync state as its hub sees it.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantSyncStatus {
    /// The tenant.
    pub tenant: String,
    /// `success`, `partial` (pending changes or open conflicts) or `failed` (the hub's last
    /// operation failed), classified by `SyncState::classify` from what the hub knows.
    pub status: SyncState,
    /// The hub's sequence number.
    pub seq: u64,
    /// The platform sequence the tenant has applied.
    pub platform_seq: u64,
    /// Platform changes waiting for a tenant admin's decision.
    pub pending_changes: u64,
    /// Conflicts waiting for a manual resolution.
    pub open_conflicts: u64,
}

/// The platform-wide view of the last health check.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformSyncStatus {
    /// When the check ran, in milliseconds since the Unix epoch.
    pub checked_at: u64,
    /// The platform's sequence number at the check.
    pub platform_seq: u64,
    /// Share of tenants in `success`, 0 to 100.
    pub health_percent: f64,
    /// Tenants per status (every state, counted or 0).
    pub tenants_by_status: BTreeMap<SyncState, u64>,
    /// Tenants whose status changed since the previous check, with their new status.
    #[serde(default)]
    pub changed: BTreeMap<String, SyncState>,
}

/// A frame a client may send. Anything else is answered with an `error` frame.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ClientFrame {
    /// Heartbeat: must be exactly `{"type":"ping"}`, which the runtime answers with
    /// `{"type":"pong"}` without waking the hub.
    Ping,
    /// Asks the hub for a `sync-status` frame now (admins only).
    Status,
}

/// A frame sent by a hub to a connected client.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ServerFrame {
    /// First frame on every connection: where the hub is now and how the client is brought
    /// up to it (see [`Resume`]). A [`ServerFrame::Synced`] follows once it is.
    Hello {
        /// Tenant the socket is attached to (`platform` on the platform hub).
        tenant: String,
        /// The hub's current sequence number.
        seq: u64,
        /// How the frames between `hello` and `synced` bring the client to `seq`.
        #[serde(default)]
        resume: Resume,
    },
    /// The subject's whole effective config of every namespace it follows, at `seq`: sent
    /// when a client connects with `since=0`, or when the hub's retained log no longer
    /// reaches back to the client's `since`.
    Snapshot {
        /// Tenant the snapshot belongs to.
        tenant: String,
        /// The hub's sequence number the snapshot was taken at.
        seq: u64,
        /// Namespace name to its effective document and version.
        configs: BTreeMap<String, SnapshotDocument>,
    },
    /// The client has everything up to `seq`: the replay or snapshot after `hello` is over
    /// and live frames (with a larger `seq`) follow. Resume from `seq` after a drop.
    Synced {
        /// The sequence number the client is now at.
        seq: u64,
    },
    /// The sync state of a tenant (to its admins, after each change) or of the whole
    /// platform (to platform admins, after each health check).
    SyncStatus(SyncStatusReport),
    /// A change in a namespace without a dedicated event name.
    ConfigUpdated(ConfigChange),
    /// A change in the `modules` namespace.
    ModuleChanged(ConfigChange),
    /// A change in the `auth` namespace.
    AuthChanged(ConfigChange),
    /// A change in the `rbac` namespace.
    RbacChanged(ConfigChange),
    /// Answer to a client `ping` text frame (sent by the runtime without waking the hub).
    Pong,
    /// Something the client sent could not be handled.
    Error {
        /// Stable error code such as `CASCADE:Frame:Malformed`.
        #[cfg_attr(test, ts(type = "FrameErrorCode | (string & {})"))]
        code: String,
        /// Human-readable explanation.
        message: String,
    },
}

impl ServerFrame {
    /// Wraps a change in the frame whose event name the seed gives its namespace.
    pub fn for_change(change: ConfigChange) -> Self {
        match crate::event_name_for_namespace(&change.namespace) {
            "auth-changed" => Self::AuthChanged(change),
            "rbac-changed" => Self::RbacChanged(change),
            "module-changed" => Self::ModuleChanged(change),
            _ => Self::ConfigUpdated(change),
        }
    }

    /// The change this frame carries, if it carries one.
    pub fn change(&self) -> Option<&ConfigChange> {
        match self {
            Self::ConfigUpdated(c)
            | Self::ModuleChanged(c)
            | Self::AuthChanged(c)
            | Self::RbacChanged(c) => Some(c),
            Self::Hello { .. }
            | Self::Snapshot { .. }
            | Self::Synced { .. }
            | Self::SyncStatus(_)
            | Self::Pong
            | Self::Error { .. } => None,
        }
    }
}

/// A namespace document as stored by a hub and returned by `GET .../config/{namespace}`.
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "scope": "tenant", "tenant": "acme", "namespace": "auth", "version": 3,
    "config": {"mfa": true}
})))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredDocument {
    /// Scope of the layer.
    pub scope: Scope,
    /// Tenant id for tenant and user layers; absent for the platform layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Namespace (config type).
    pub namespace: String,
    /// Version of the document: the hub `seq` of its last write, 0 when never written.
    pub version: u64,
    /// The layer's own values (an effective read: the subject's effective config).
    #[cfg_attr(test, ts(type = "JsonObject"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub config: Map<String, Value>,
    /// Tenant and user documents: the platform seq the tenant has applied (the hub always
    /// says; the API answers it only beside `platform_behind`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_seq: Option<u64>,
    /// Tenant and user documents of a tenant that lags the platform: how many platform
    /// updates it has not applied yet. The read starts its catch-up; a later read shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_behind: Option<u64>,
    /// Effective reads with `?origins=true` only: JSON Pointer (into `config`, array elements
    /// by position) to the scope that subtree came from; the longest pointer that is a
    /// value's own or an ancestor's names its origin. Always has the root `""`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(type = "Origins"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<std::collections::BTreeMap<String, Scope>>))]
    pub origins: Option<Origins>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(namespace: &str) -> ConfigChange {
        ConfigChange {
            seq: 7,
            tenant: "acme".into(),
            scope: Scope::Tenant,
            namespace: namespace.into(),
            version: 7,
            patch: serde_json::from_value(json!([{"op": "add", "path": "/a", "value": 1}]))
                .expect("valid patch"),
            triggered_by: Some("admin-1".into()),
            origins: None,
        }
    }

    #[test]
    fn change_frames_use_the_seed_event_names_and_camel_case() {
        let frame = ServerFrame::for_change(change("notifications"));
        let wire = serde_json::to_value(&frame).expect("serializes");
        assert_eq!(wire["type"], "config-updated");
        assert_eq!(wire["seq"], 7);
        assert_eq!(wire["triggeredBy"], "admin-1");
        assert_eq!(wire["patch"][0]["op"], "add");

        let auth = serde_json::to_value(ServerFrame::for_change(change("auth"))).expect("ok");
        assert_eq!(auth["type"], "auth-changed");
        let modules = serde_json::to_value(ServerFrame::for_change(change("modules"))).expect("ok");
        assert_eq!(modules["type"], "module-changed");
    }

    #[test]
    fn frames_round_trip() {
        let frames = [
            ServerFrame::Hello {
                tenant: "acme".into(),
                seq: 3,
                resume: Resume::Replay,
            },
            ServerFrame::Snapshot {
                tenant: "acme".into(),
                seq: 3,
                configs: BTreeMap::from([(
                    "auth".to_owned(),
                    SnapshotDocument {
                        version: 2,
                        config: json!({"mfa": true}).as_object().cloned().expect("object"),
                        origins: Some(BTreeMap::from([(String::new(), "platform".into())])),
                    },
                )]),
            },
            ServerFrame::Synced { seq: 3 },
            ServerFrame::SyncStatus(SyncStatusReport::Tenant(TenantSyncStatus {
                tenant: "acme".into(),
                status: SyncState::Partial,
                seq: 3,
                platform_seq: 1,
                pending_changes: 1,
                open_conflicts: 0,
            })),
            ServerFrame::SyncStatus(SyncStatusReport::Platform(PlatformSyncStatus {
                checked_at: 1,
                platform_seq: 2,
                health_percent: 50.0,
                tenants_by_status: BTreeMap::from([(SyncState::Success, 1)]),
                changed: BTreeMap::new(),
            })),
            ServerFrame::for_change(change("rbac")),
            ServerFrame::Pong,
            ServerFrame::Error {
                code: "CASCADE:Frame:Malformed".into(),
                message: "bad".into(),
            },
        ];
        for frame in frames {
            let text = serde_json::to_string(&frame).expect("serializes");
            let back: ServerFrame = serde_json::from_str(&text).expect("parses");
            assert_eq!(back, frame);
        }
    }

    #[test]
    fn hello_without_resume_reads_as_none_and_sync_status_carries_its_scope() {
        let hello: ServerFrame =
            serde_json::from_str(r#"{"type":"hello","tenant":"acme","seq":4}"#).expect("parses");
        assert_eq!(
            hello,
            ServerFrame::Hello {
                tenant: "acme".into(),
                seq: 4,
                resume: Resume::None
            }
        );
        let status = ServerFrame::SyncStatus(SyncStatusReport::Tenant(TenantSyncStatus {
            tenant: "acme".into(),
            status: SyncState::Success,
            seq: 1,
            platform_seq: 0,
            pending_changes: 0,
            open_conflicts: 0,
        }));
        let wire = serde_json::to_value(&status).expect("serializes");
        assert_eq!(wire["type"], "sync-status");
        assert_eq!(wire["scope"], "tenant");
        assert_eq!(wire["pendingChanges"], 0);
    }

    #[test]
    fn client_frames_parse_by_type() {
        let ping: ClientFrame = serde_json::from_str(r#"{"type":"ping"}"#).expect("parses");
        assert_eq!(ping, ClientFrame::Ping);
        let status: ClientFrame = serde_json::from_str(r#"{"type":"status"}"#).expect("parses");
        assert_eq!(status, ClientFrame::Status);
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"shout"}"#).is_err());
    }
}
