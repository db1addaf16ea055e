//! The tenant hub's retained log of the change frames it sent, so a client that reconnects
//! with the last `seq` it applied is replayed exactly what it missed, in order, once.
//!
//! Every committed change writes its frames here in the same synchronous run of writes as the
//! state (so a frame is logged if and only if its change is durable), each with its audience:
//! the tenant's (everyone without a layer of their own in the namespace, minus `excluded`
//! users) or one user's. Replaying for a listener filters by the same rules the live
//! broadcast uses, so replay and live delivery cannot disagree.
//!
//! The log keeps the last `retained` sequence numbers (`FRAME_LOG_SEQS`, default
//! [`DEFAULT_RETAINED_SEQS`]); a client further behind than that gets a snapshot instead.

use std::collections::BTreeSet;

use serde::Deserialize;
use worker::Result;

use crate::store::{as_u64, sql_int, Meta, Store};

/// Table of logged frames; idempotent.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS frame_log (
  seq INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  namespace TEXT NOT NULL,
  audience TEXT NOT NULL,
  frame TEXT NOT NULL,
  PRIMARY KEY (seq, idx)
);
CREATE TABLE IF NOT EXISTS frame_exclusion (
  seq INTEGER NOT NULL,
  user TEXT NOT NULL,
  PRIMARY KEY (user, seq)
);
CREATE INDEX IF NOT EXISTS frame_exclusion_by_seq ON frame_exclusion (seq);
CREATE TABLE IF NOT EXISTS frame_origins (
  seq INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  frame TEXT NOT NULL,
  PRIMARY KEY (seq, idx)
);
";

/// How many sequence numbers of frames a hub keeps by default.
pub const DEFAULT_RETAINED_SEQS: u64 = 1000;

/// Who a frame is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Every socket of the tenant except the users listed (who got their own frame, or
    /// none because their own value shadows the change).
    Tenant {
        /// Users that must not get this frame.
        excluded: BTreeSet<String>,
    },
    /// One user's sockets.
    User(String),
}

impl Audience {
    /// Stored form: `tenant` or `user:{id}`. A tenant frame's excluded users are rows of
    /// `frame_exclusion` (one per user and seq), not part of the text: a change can reach
    /// many users, and a list in one value would grow with them.
    fn encode(&self) -> String {
        match self {
            Self::Tenant { .. } => "tenant".to_owned(),
            Self::User(user) => format!("user:{user}"),
        }
    }

    /// Reads the stored form; `tenant[...]` (a list of excluded users in the text) is how
    /// the log stored them before `frame_exclusion` existed.
    fn decode(text: &str) -> Result<Self> {
        if let Some(user) = text.strip_prefix("user:") {
            return Ok(Self::User(user.to_owned()));
        }
        let excluded = match text.strip_prefix("tenant") {
            Some("") => BTreeSet::new(),
            Some(list) => serde_json::from_str(list)?,
            None => {
                return Err(worker::Error::RustError(format!(
                    "corrupt frame log audience {text:?}"
                )))
            }
        };
        Ok(Self::Tenant { excluded })
    }
}

/// One frame as broadcast and logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedFrame {
    /// The hub `seq` of the change.
    pub seq: u64,
    /// Namespace the frame is about.
    pub namespace: String,
    /// Who gets it.
    pub audience: Audience,
    /// The frame's JSON text, encoded once.
    pub frame: String,
    /// The same frame with its origin entries, for sockets that asked for origins (a row of
    /// `frame_origins`). `None` when no such socket followed the namespace at the commit (or
    /// before origins existed), and when read for a listener that does not want them.
    pub with_origins: Option<String>,
}

impl LoggedFrame {
    /// The text `listener` gets: with origins when it asked for them and the frame has
    /// them, else the plain frame.
    pub fn text_for(&self, listener: &Listener) -> &str {
        match (&self.with_origins, listener.origins) {
            (Some(text), true) => text,
            _ => &self.frame,
        }
    }
}

/// What a socket listens to: its user (none for admins) and the namespaces it follows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Listener {
    /// The user's id, or `None` for an admin (who sees the tenant's effective config).
    pub user: Option<String>,
    /// Followed namespaces; `None` follows all.
    pub namespaces: Option<BTreeSet<String>>,
    /// Whether it asked for origins (`origins=1` on connect).
    pub origins: bool,
}

impl Listener {
    /// Whether the listener follows `namespace`.
    pub fn follows(&self, namespace: &str) -> bool {
        self.namespaces
            .as_ref()
            .is_none_or(|names| names.contains(namespace))
    }

    /// Whether `frame` is for this listener: the live broadcast's rule, used for replay.
    pub fn receives(&self, frame: &LoggedFrame) -> bool {
        self.follows(&frame.namespace)
            && match (&frame.audience, &self.user) {
                (Audience::Tenant { .. }, None) => true,
                (Audience::Tenant { excluded }, Some(user)) => !excluded.contains(user),
                (Audience::User(target), Some(user)) => target == user,
                (Audience::User(_), None) => false,
            }
    }
}

/// Appends a commit's frames (call in the commit's synchronous run of writes).
pub fn append(store: &Store, frames: &[LoggedFrame]) -> Result<()> {
    for (idx, frame) in frames.iter().enumerate() {
        store.sql().exec(
            "INSERT OR REPLACE INTO frame_log (seq, idx, namespace, audience, frame) VALUES (?, ?, ?, ?, ?)",
            vec![
                sql_int(frame.seq)?,
                sql_int(idx as u64)?,
                frame.namespace.as_str().into(),
                frame.audience.encode().into(),
                frame.frame.as_str().into(),
            ],
        )?;
        if let Some(text) = &frame.with_origins {
            store.sql().exec(
                "INSERT OR REPLACE INTO frame_origins (seq, idx, frame) VALUES (?, ?, ?)",
                vec![
                    sql_int(frame.seq)?,
                    sql_int(idx as u64)?,
                    text.as_str().into(),
                ],
            )?;
        }
        if let Audience::Tenant { excluded } = &frame.audience {
            for user in excluded {
                store.sql().exec(
                    "INSERT OR IGNORE INTO frame_exclusion (seq, user) VALUES (?, ?)",
                    vec![sql_int(frame.seq)?, user.as_str().into()],
                )?;
            }
        }
    }
    Ok(())
}

/// Drops frames more than `retained` sequence numbers behind `seq`, raising the floor.
pub fn prune(store: &Store, seq: u64, retained: u64) -> Result<()> {
    let cut = seq.saturating_sub(retained);
    if cut > floor(store)? {
        store
            .sql()
            .exec("DELETE FROM frame_log WHERE seq <= ?", vec![sql_int(cut)?])?;
        store.sql().exec(
            "DELETE FROM frame_exclusion WHERE seq <= ?",
            vec![sql_int(cut)?],
        )?;
        store.sql().exec(
            "DELETE FROM frame_origins WHERE seq <= ?",
            vec![sql_int(cut)?],
        )?;
        store.set_meta(Meta::FrameLogFloor, &cut.to_string())?;
    }
    Ok(())
}

/// The highest `seq` no longer in the log (0 when nothing was pruned).
pub fn floor(store: &Store) -> Result<u64> {
    store.counter(Meta::FrameLogFloor)
}

/// Every logged frame after `since`, in order, as `user` (`None`: an admin) must judge
/// them: a tenant frame's excluded set holds `user` when the user was excluded from it (the
/// other excluded users are not read). `with_origins` reads each frame's origins form too.
pub fn after(
    store: &Store,
    since: u64,
    user: Option<&str>,
    with_origins: bool,
) -> Result<Vec<LoggedFrame>> {
    #[derive(Deserialize)]
    struct SeqRow {
        seq: f64,
    }
    let excluded_at: BTreeSet<u64> = match user {
        None => BTreeSet::new(),
        Some(user) => store
            .sql()
            .exec(
                "SELECT seq FROM frame_exclusion WHERE user = ? AND seq > ?",
                vec![user.into(), sql_int(since)?],
            )?
            .to_array::<SeqRow>()?
            .into_iter()
            .map(|r| as_u64(r.seq))
            .collect(),
    };
    #[derive(Deserialize)]
    struct Row {
        seq: f64,
        namespace: String,
        audience: String,
        frame: String,
        #[serde(default)]
        with_origins: Option<String>,
    }
    let query = if with_origins {
        "SELECT l.seq AS seq, l.namespace AS namespace, l.audience AS audience, l.frame AS frame, \
         o.frame AS with_origins FROM frame_log l LEFT JOIN frame_origins o \
         ON o.seq = l.seq AND o.idx = l.idx WHERE l.seq > ? ORDER BY l.seq, l.idx"
    } else {
        "SELECT seq, namespace, audience, frame FROM frame_log WHERE seq > ? ORDER BY seq, idx"
    };
    let rows: Vec<Row> = store.sql().exec(query, vec![sql_int(since)?])?.to_array()?;
    rows.into_iter()
        .map(|row| {
            let seq = as_u64(row.seq);
            let mut audience = Audience::decode(&row.audience)?;
            if let (Audience::Tenant { excluded }, Some(user)) = (&mut audience, user) {
                if excluded_at.contains(&seq) {
                    excluded.insert(user.to_owned());
                }
            }
            Ok(LoggedFrame {
                seq,
                namespace: row.namespace,
                audience,
                frame: row.frame,
                with_origins: row.with_origins,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(audience: Audience, namespace: &str) -> LoggedFrame {
        LoggedFrame {
            seq: 1,
            namespace: namespace.into(),
            audience,
            frame: "{}".into(),
            with_origins: None,
        }
    }

    fn user(id: &str, namespaces: Option<&[&str]>) -> Listener {
        Listener {
            user: Some(id.into()),
            namespaces: namespaces.map(|n| n.iter().map(|s| (*s).to_owned()).collect()),
            origins: false,
        }
    }

    #[test]
    fn audiences_round_trip_without_their_exclusions() {
        let tenant = Audience::Tenant {
            excluded: BTreeSet::new(),
        };
        for audience in [tenant.clone(), Audience::User("ann".into())] {
            assert_eq!(
                Audience::decode(&audience.encode()).expect("decodes"),
                audience
            );
        }
        let excluding = Audience::Tenant {
            excluded: ["ann".to_owned(), "bob".to_owned()].into(),
        };
        assert_eq!(
            excluding.encode(),
            "tenant",
            "exclusions are rows, not text"
        );
        // The form logged before exclusions had their own table still reads.
        assert_eq!(
            Audience::decode(r#"tenant["ann","bob"]"#).expect("decodes"),
            excluding
        );
        assert!(Audience::decode("platform").is_err());
    }

    #[test]
    fn listeners_receive_what_the_broadcast_sends_them() {
        let admin = Listener::default();
        let ann = user("ann", None);
        let bob_auth_only = user("bob", Some(&["auth"]));
        let tenant_wide = frame(
            Audience::Tenant {
                excluded: ["ann".to_owned()].into(),
            },
            "auth",
        );
        assert!(admin.receives(&tenant_wide));
        assert!(!ann.receives(&tenant_wide), "ann has her own frame");
        assert!(bob_auth_only.receives(&tenant_wide));

        let anns = frame(Audience::User("ann".into()), "rbac");
        assert!(ann.receives(&anns));
        assert!(!admin.receives(&anns), "admins see the tenant's config");
        assert!(!bob_auth_only.receives(&anns));
        assert!(
            !user("ann", Some(&["auth"])).receives(&anns),
            "not followed"
        );
    }
}
