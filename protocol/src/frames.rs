//! WebSocket frames from server to client, and the stored-document shape the API returns.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One configuration change as a client receives it: an RFC 6902 patch that turns the
/// document at the previous version into the one at `version`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigChange {
    /// The hub's sequence number this change was applied at.
    pub seq: u64,
    /// Tenant the change belongs to.
    pub tenant: String,
    /// Scope that was written: `platform`, `tenant` or `user`.
    pub scope: String,
    /// Namespace (config type) that changed.
    pub namespace: String,
    /// Version of the namespace document after the change (equals `seq` of its last write).
    pub version: u64,
    /// RFC 6902 JSON Patch from the previous document to the new one.
    pub patch: json_patch::Patch,
    /// Who made the change, as given by the writer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggered_by: Option<String>,
}

/// A frame sent by a hub to a connected client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ServerFrame {
    /// First frame on every connection: where the hub is now.
    Hello {
        /// Tenant the socket is attached to.
        tenant: String,
        /// The hub's current sequence number.
        seq: u64,
    },
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
            Self::Hello { .. } | Self::Pong | Self::Error { .. } => None,
        }
    }
}

/// A namespace document as stored by a hub and returned by `GET .../config/{namespace}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredDocument {
    /// Scope of the layer: `platform`, `tenant` or `user`.
    pub scope: String,
    /// Tenant id for tenant and user layers; absent for the platform layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Namespace (config type).
    pub namespace: String,
    /// Version of the document: the hub `seq` of its last write, 0 when never written.
    pub version: u64,
    /// The layer's own values.
    pub config: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(namespace: &str) -> ConfigChange {
        ConfigChange {
            seq: 7,
            tenant: "acme".into(),
            scope: "tenant".into(),
            namespace: namespace.into(),
            version: 7,
            patch: serde_json::from_value(json!([{"op": "add", "path": "/a", "value": 1}]))
                .expect("valid patch"),
            triggered_by: Some("admin-1".into()),
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
            },
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
}
