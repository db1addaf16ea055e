//! The client's pure state machine: server frames in, held configs and events out. No I/O.
//!
//! [`SyncState`] holds the subject's effective config per namespace and the resume point. It
//! applies each frame as the protocol says (`docs/PROTOCOL.md`):
//!
//! - `hello` opens a connection; its `resume` says whether a replay or a snapshot follows.
//! - `snapshot` replaces every held config, and the resume point with its `seq`.
//! - change frames apply their RFC 6902 patch to the held config of their namespace (an
//!   object not held yet starts as `{}`). A frame whose `seq` is at or below the resume
//!   point is a duplicate (a replay overlapping what was already applied) and is skipped; a
//!   jump in `seq` is not a gap (a subject does not receive the changes that do not concern
//!   it). A patch that does not apply asks for a resync: reconnect with `since=0`.
//! - `synced` marks the end of the catch-up; its `seq` is a resume point too.
//!
//! The resume point, [`SyncState::seq`], is the largest of the last applied change's `seq`,
//! the snapshot's and the `synced` one; [`SyncState::since`] is what to send on the next
//! connection (0 asks for a snapshot).

use std::collections::BTreeMap;

use cascade_protocol::{Resume, ServerFrame};
use serde_json::{Map, Value};

use crate::event::{ChangeEvent, ChangeKind, Event};

/// One namespace's held effective config.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldConfig {
    /// The namespace's version (the `seq` of its last write as the hub reported it).
    pub version: u64,
    /// The effective config.
    pub config: Value,
}

/// Where the state machine is in a connection's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// No `hello` yet on the current connection.
    AwaitingHello,
    /// `hello` arrived; the replay or snapshot it announced is under way, until `synced`.
    CatchingUp(Resume),
    /// `synced` arrived: live changes follow.
    Live,
    /// A patch did not apply: change frames are ignored until the next connection (or a
    /// snapshot), which must ask for `since=0`.
    Resyncing,
}

/// What the I/O layer must do after a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Keep reading.
    Continue,
    /// Drop this connection and reconnect with [`SyncState::since`] (which is then 0): the
    /// held state can no longer be patched.
    Resync,
}

/// The outcome of one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Events to report, in order.
    pub events: Vec<Event>,
    /// What to do with the connection.
    pub action: Action,
}

impl Step {
    fn events(events: Vec<Event>) -> Self {
        Self {
            events,
            action: Action::Continue,
        }
    }

    fn none() -> Self {
        Self::events(Vec::new())
    }
}

/// The held effective configs and the resume point, updated frame by frame.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncState {
    configs: BTreeMap<String, HeldConfig>,
    seq: u64,
    tenant: Option<String>,
    phase: Phase,
    needs_snapshot: bool,
    duplicates: u64,
}

impl Default for SyncState {
    fn default() -> Self {
        Self::new()
    }
}

impl SyncState {
    /// Nothing held: the first connection asks for a snapshot (`since=0`).
    pub fn new() -> Self {
        Self {
            configs: BTreeMap::new(),
            seq: 0,
            tenant: None,
            phase: Phase::AwaitingHello,
            needs_snapshot: true,
            duplicates: 0,
        }
    }

    /// The resume point: every change up to it is reflected in the held configs.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The `since` to send on the next connection: the resume point, or 0 (a snapshot)
    /// before the first snapshot and after a patch failed.
    pub fn since(&self) -> u64 {
        if self.needs_snapshot {
            0
        } else {
            self.seq
        }
    }

    /// Where the current connection is.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The tenant of the last `hello`.
    pub fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }

    /// The held effective config of `namespace`.
    pub fn config(&self, namespace: &str) -> Option<&Value> {
        self.configs.get(namespace).map(|held| &held.config)
    }

    /// The held version of `namespace`.
    pub fn version(&self, namespace: &str) -> Option<u64> {
        self.configs.get(namespace).map(|held| held.version)
    }

    /// Every held namespace.
    pub fn configs(&self) -> &BTreeMap<String, HeldConfig> {
        &self.configs
    }

    /// How many change frames were skipped as duplicates so far.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// A new connection is being opened: its frames start with `hello`.
    pub fn connecting(&mut self) {
        self.phase = Phase::AwaitingHello;
    }

    /// Parses a text frame and applies it; text that is no known frame becomes a
    /// [`Event::Malformed`] and changes nothing.
    pub fn handle_text(&mut self, text: &str) -> Step {
        match serde_json::from_str::<ServerFrame>(text) {
            Ok(frame) => self.handle(frame),
            Err(error) => Step::events(vec![Event::Malformed {
                error: format!("{error} in {:.200}", text),
            }]),
        }
    }

    /// Applies one server frame.
    pub fn handle(&mut self, frame: ServerFrame) -> Step {
        match frame {
            ServerFrame::Hello {
                tenant,
                seq,
                resume,
            } => {
                self.tenant = Some(tenant.clone());
                self.phase = Phase::CatchingUp(resume);
                Step::events(vec![Event::Connected {
                    tenant,
                    seq,
                    resume,
                }])
            }
            ServerFrame::Snapshot { seq, configs, .. } => {
                self.configs = configs
                    .into_iter()
                    .map(|(namespace, doc)| {
                        let held = HeldConfig {
                            version: doc.version,
                            config: Value::Object(doc.config),
                        };
                        (namespace, held)
                    })
                    .collect();
                self.seq = seq;
                self.needs_snapshot = false;
                if self.phase == Phase::Resyncing {
                    self.phase = Phase::CatchingUp(Resume::Snapshot);
                }
                Step::events(vec![Event::Snapshot {
                    seq,
                    namespaces: self.configs.keys().cloned().collect(),
                }])
            }
            ServerFrame::Synced { seq } => {
                if self.phase == Phase::Resyncing {
                    return Step::none();
                }
                self.seq = self.seq.max(seq);
                self.phase = Phase::Live;
                Step::events(vec![Event::Synced { seq: self.seq }])
            }
            ServerFrame::SyncStatus(report) => Step::events(vec![Event::SyncStatus(report)]),
            ServerFrame::Error { code, message } => {
                Step::events(vec![Event::ServerError { code, message }])
            }
            ServerFrame::Pong => Step::none(),
            ServerFrame::ConfigUpdated(change) => self.change(ChangeKind::ConfigUpdated, change),
            ServerFrame::ModuleChanged(change) => self.change(ChangeKind::ModuleChanged, change),
            ServerFrame::AuthChanged(change) => self.change(ChangeKind::AuthChanged, change),
            ServerFrame::RbacChanged(change) => self.change(ChangeKind::RbacChanged, change),
        }
    }

    fn change(&mut self, kind: ChangeKind, change: cascade_protocol::ConfigChange) -> Step {
        if self.phase == Phase::Resyncing {
            return Step::none();
        }
        if change.seq <= self.seq {
            self.duplicates += 1;
            return Step::none();
        }
        let held = self.configs.get(&change.namespace);
        let mut config = held
            .map(|held| held.config.clone())
            .unwrap_or_else(|| Value::Object(Map::new()));
        if let Err(error) = json_patch::patch(&mut config, &change.patch) {
            self.phase = Phase::Resyncing;
            self.needs_snapshot = true;
            return Step {
                events: vec![Event::PatchFailed {
                    seq: change.seq,
                    namespace: change.namespace,
                    error: error.to_string(),
                }],
                action: Action::Resync,
            };
        }
        self.seq = change.seq;
        self.configs.insert(
            change.namespace.clone(),
            HeldConfig {
                version: change.version,
                config: config.clone(),
            },
        );
        Step::events(vec![Event::Changed(Box::new(ChangeEvent {
            kind,
            change,
            config,
        }))])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cascade_protocol::ConfigChange;
    use cascade_protocol::{SnapshotDocument, SyncStatusReport, TenantSyncStatus};
    use proptest::prelude::*;
    use serde_json::json;

    fn hello(seq: u64, resume: Resume) -> ServerFrame {
        ServerFrame::Hello {
            tenant: "acme".into(),
            seq,
            resume,
        }
    }

    fn change(seq: u64, namespace: &str, patch: Value) -> ServerFrame {
        ServerFrame::for_change(ConfigChange {
            seq,
            tenant: "acme".into(),
            scope: cascade_protocol::Scope::Tenant,
            namespace: namespace.into(),
            version: seq,
            patch: serde_json::from_value(patch).expect("patch"),
            triggered_by: Some("ann".into()),
            origins: None,
        })
    }

    fn snapshot(seq: u64, configs: &[(&str, u64, Value)]) -> ServerFrame {
        ServerFrame::Snapshot {
            tenant: "acme".into(),
            seq,
            configs: configs
                .iter()
                .map(|(ns, version, config)| {
                    let doc = SnapshotDocument {
                        version: *version,
                        config: config.as_object().cloned().expect("object"),
                        origins: None,
                    };
                    ((*ns).to_owned(), doc)
                })
                .collect(),
        }
    }

    fn changed_seqs(events: &[Event]) -> Vec<u64> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Changed(c) => Some(c.change.seq),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_fresh_state_asks_for_a_snapshot_then_resumes_from_its_seq() {
        let mut s = SyncState::new();
        assert_eq!(s.since(), 0);
        s.connecting();
        let step = s.handle(hello(5, Resume::Snapshot));
        assert!(matches!(step.events[0], Event::Connected { seq: 5, .. }));
        assert_eq!(s.phase(), Phase::CatchingUp(Resume::Snapshot));
        s.handle(snapshot(5, &[("auth", 3, json!({"mfa": true}))]));
        assert_eq!(s.config("auth"), Some(&json!({"mfa": true})));
        assert_eq!(s.version("auth"), Some(3));
        let step = s.handle(ServerFrame::Synced { seq: 5 });
        assert_eq!(step.events, vec![Event::Synced { seq: 5 }]);
        assert_eq!((s.phase(), s.seq(), s.since()), (Phase::Live, 5, 5));
        assert_eq!(s.tenant(), Some("acme"));
    }

    #[test]
    fn changes_patch_the_held_config_and_skip_duplicates_but_not_jumps() {
        let mut s = SyncState::new();
        s.handle(snapshot(2, &[("notifications", 2, json!({"email": true}))]));
        let step = s.handle(change(
            3,
            "notifications",
            json!([{"op": "replace", "path": "/email", "value": false}]),
        ));
        let Event::Changed(ev) = &step.events[0] else {
            panic!("{step:?}")
        };
        assert_eq!(ev.kind, ChangeKind::ConfigUpdated);
        assert_eq!(ev.config, json!({"email": false}));
        // A jump is not a gap.
        let step = s.handle(change(
            9,
            "auth",
            json!([{"op": "add", "path": "/sso", "value": "okta"}]),
        ));
        assert_eq!(changed_seqs(&step.events), [9]);
        assert!(matches!(&step.events[0], Event::Changed(c) if c.kind == ChangeKind::AuthChanged));
        assert_eq!(s.config("auth"), Some(&json!({"sso": "okta"})));
        // Duplicates (a replay overlapping what we have) are skipped.
        for seq in [3, 9, 1] {
            let step = s.handle(change(
                seq,
                "auth",
                json!([{"op": "add", "path": "/x", "value": seq}]),
            ));
            assert!(step.events.is_empty());
        }
        assert_eq!(s.duplicates(), 3);
        assert_eq!(s.seq(), 9);
        assert_eq!(s.config("auth"), Some(&json!({"sso": "okta"})));
    }

    #[test]
    fn a_patch_that_does_not_apply_asks_for_a_snapshot_and_ignores_changes_until_then() {
        let mut s = SyncState::new();
        s.handle(snapshot(4, &[("auth", 4, json!({"a": 1}))]));
        s.handle(ServerFrame::Synced { seq: 4 });
        assert_eq!(s.since(), 4);
        let step = s.handle(change(
            5,
            "auth",
            json!([{"op": "remove", "path": "/missing"}]),
        ));
        assert_eq!(step.action, Action::Resync);
        assert!(matches!(&step.events[0], Event::PatchFailed { seq: 5, .. }));
        assert_eq!(s.config("auth"), Some(&json!({"a": 1})), "left untouched");
        assert_eq!((s.seq(), s.since(), s.phase()), (4, 0, Phase::Resyncing));
        // Later frames on the broken connection change nothing.
        let step = s.handle(change(
            6,
            "auth",
            json!([{"op": "add", "path": "/b", "value": 2}]),
        ));
        assert!(step.events.is_empty());
        assert!(s.handle(ServerFrame::Synced { seq: 6 }).events.is_empty());
        // The next connection gets a snapshot.
        s.connecting();
        s.handle(hello(6, Resume::Snapshot));
        s.handle(snapshot(6, &[("auth", 6, json!({"b": 2}))]));
        s.handle(ServerFrame::Synced { seq: 6 });
        assert_eq!((s.seq(), s.since(), s.phase()), (6, 6, Phase::Live));
        assert_eq!(s.config("auth"), Some(&json!({"b": 2})));
    }

    #[test]
    fn a_snapshot_replaces_everything_held() {
        let mut s = SyncState::new();
        s.handle(snapshot(
            3,
            &[("a", 1, json!({"x": 1})), ("b", 2, json!({}))],
        ));
        s.handle(snapshot(8, &[("b", 8, json!({"y": 2}))]));
        assert_eq!(s.config("a"), None);
        assert_eq!(s.config("b"), Some(&json!({"y": 2})));
        assert_eq!(s.seq(), 8);
        assert_eq!(s.configs().len(), 1);
    }

    #[test]
    fn status_errors_pongs_and_malformed_text() {
        let mut s = SyncState::new();
        let report = SyncStatusReport::Tenant(TenantSyncStatus {
            tenant: "acme".into(),
            status: cascade_protocol::SyncState::Success,
            seq: 1,
            platform_seq: 0,
            pending_changes: 0,
            open_conflicts: 0,
        });
        let step = s.handle(ServerFrame::SyncStatus(report.clone()));
        assert_eq!(step.events, vec![Event::SyncStatus(report)]);
        let step = s.handle_text(r#"{"type":"error","code":"C","message":"m"}"#);
        assert_eq!(
            step.events,
            vec![Event::ServerError {
                code: "C".into(),
                message: "m".into()
            }]
        );
        assert!(s.handle_text(r#"{"type":"pong"}"#).events.is_empty());
        let step = s.handle_text(r#"{"type":"future-frame"}"#);
        assert!(matches!(&step.events[0], Event::Malformed { .. }));
        assert_eq!(step.action, Action::Continue);
        assert_eq!(s, {
            let mut fresh = SyncState::new();
            fresh.handle(ServerFrame::Pong);
            fresh
        });
    }

    #[test]
    fn synced_never_moves_the_resume_point_back() {
        let mut s = SyncState::new();
        s.handle(snapshot(2, &[]));
        s.handle(change(
            7,
            "n",
            json!([{"op": "add", "path": "/a", "value": 1}]),
        ));
        s.handle(ServerFrame::Synced { seq: 5 });
        assert_eq!(s.seq(), 7);
    }

    // ---- properties -------------------------------------------------------------------

    /// A small JSON object document.
    fn doc() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<bool>().prop_map(Value::from),
            (0i64..5).prop_map(Value::from),
            "[a-c]{0,2}".prop_map(Value::from),
        ];
        let value = leaf.prop_recursive(2, 8, 3, |inner| {
            prop::collection::btree_map("[a-c]", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect()))
        });
        prop::collection::btree_map("[a-d]", value, 0..4)
            .prop_map(|m| Value::Object(m.into_iter().collect()))
    }

    /// A history: successive documents per namespace, as (namespace, document) writes with
    /// increasing, non-contiguous seqs.
    fn history() -> impl Strategy<Value = Vec<(u64, String, Value)>> {
        prop::collection::vec(
            (1u64..4, prop::sample::select(vec!["a", "b", "c"]), doc()),
            1..25,
        )
        .prop_map(|writes| {
            let mut seq = 0;
            writes
                .into_iter()
                .map(|(step, ns, doc)| {
                    seq += step;
                    (seq, ns.to_owned(), doc)
                })
                .collect()
        })
    }

    /// The frames a server sends for `history`, and each namespace's final document.
    fn frames(history: &[(u64, String, Value)]) -> (Vec<ServerFrame>, BTreeMap<String, Value>) {
        let mut current: BTreeMap<String, Value> = BTreeMap::new();
        let mut out = Vec::new();
        for (seq, ns, doc) in history {
            let before = current.get(ns).cloned().unwrap_or_else(|| json!({}));
            let patch = json_patch::diff(&before, doc);
            out.push(ServerFrame::for_change(ConfigChange {
                seq: *seq,
                tenant: "acme".into(),
                scope: cascade_protocol::Scope::Tenant,
                namespace: ns.clone(),
                version: *seq,
                patch,
                triggered_by: None,
                origins: None,
            }));
            current.insert(ns.clone(), doc.clone());
        }
        (out, current)
    }

    fn held(s: &SyncState) -> BTreeMap<String, Value> {
        s.configs()
            .iter()
            .map(|(k, v)| (k.clone(), v.config.clone()))
            .collect()
    }

    fn seq_of(frame: &ServerFrame) -> u64 {
        frame.change().map(|c| c.seq).unwrap_or(0)
    }

    proptest! {
        #[test]
        fn applying_a_replay_twice_equals_applying_it_once(history in history()) {
            let (frames, finals) = frames(&history);
            let mut once = SyncState::new();
            let mut events_once = Vec::new();
            for f in &frames {
                events_once.extend(once.handle(f.clone()).events);
            }
            let mut twice = SyncState::new();
            let mut events_twice = Vec::new();
            for f in frames.iter().chain(frames.iter()) {
                events_twice.extend(twice.handle(f.clone()).events);
            }
            prop_assert_eq!(held(&once), finals);
            prop_assert_eq!(held(&once), held(&twice));
            prop_assert_eq!(once.seq(), twice.seq());
            prop_assert_eq!(&events_once, &events_twice);
            prop_assert_eq!(twice.duplicates(), frames.len() as u64);
        }

        #[test]
        fn a_resume_at_any_point_ends_in_the_same_state_without_duplicate_events(
            history in history(),
            cut in any::<prop::sample::Index>(),
            overlap in 0usize..4,
        ) {
            let (frames, finals) = frames(&history);
            let cut = cut.index(frames.len() + 1);
            let mut s = SyncState::new();
            s.connecting();
            s.handle(hello(0, Resume::Snapshot));
            s.handle(snapshot(0, &[]));
            s.handle(ServerFrame::Synced { seq: 0 });
            let mut seen = Vec::new();
            for f in &frames[..cut] {
                seen.extend(changed_seqs(&s.handle(f.clone()).events));
            }
            // Reconnect: the server replays what follows `since`, here with some overlap
            // (frames the client already has), then `synced`.
            s.connecting();
            let since = s.since();
            let last = frames.last().map(seq_of).unwrap_or(0);
            s.handle(hello(last, Resume::Replay));
            let start = frames
                .iter()
                .position(|f| seq_of(f) > since)
                .unwrap_or(frames.len())
                .saturating_sub(overlap);
            for f in &frames[start..] {
                seen.extend(changed_seqs(&s.handle(f.clone()).events));
            }
            s.handle(ServerFrame::Synced { seq: last });
            prop_assert_eq!(held(&s), finals);
            prop_assert_eq!(s.seq(), last);
            let expected: Vec<u64> = frames.iter().map(seq_of).collect();
            prop_assert_eq!(seen, expected, "each change reported once, in order");
        }

        #[test]
        fn a_snapshot_after_any_prefix_gives_the_same_state_as_the_patches(
            history in history(),
            cut in any::<prop::sample::Index>(),
        ) {
            let (frames, _) = frames(&history);
            let cut = cut.index(frames.len() + 1);
            // The patched state after `cut` frames...
            let mut patched = SyncState::new();
            for f in &frames[..cut] {
                patched.handle(f.clone());
            }
            // ...taken as a snapshot by a fresh client, which then applies the rest.
            let seq = frames[..cut].last().map(seq_of).unwrap_or(0);
            let docs: Vec<(String, u64, Value)> = patched
                .configs()
                .iter()
                .map(|(k, v)| (k.clone(), v.version, v.config.clone()))
                .collect();
            let docs: Vec<(&str, u64, Value)> =
                docs.iter().map(|(k, v, c)| (k.as_str(), *v, c.clone())).collect();
            let mut fresh = SyncState::new();
            fresh.handle(snapshot(seq, &docs));
            let mut full = patched.clone();
            for f in &frames[cut..] {
                fresh.handle(f.clone());
                full.handle(f.clone());
            }
            prop_assert_eq!(held(&fresh), held(&full));
            prop_assert_eq!(fresh.seq(), full.seq());
            prop_assert_eq!(fresh.since(), full.seq());
        }
    }
}
