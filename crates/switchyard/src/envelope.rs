//! What travels on the bus between nodes: one JSON object per payload, tagged by `t`.
//!
//! On a session channel (`<principal>:<session>`):
//! - `{"t":"event","stream":"r7","id":"<event id>","data":"<json-rpc>"}` — an event already
//!   appended to the event log; whoever holds (or resumes) that stream writes it out.
//! - `{"t":"closed","stream":"r7"}` — the stream's last event was written.
//! - `{"t":"client","data":"<json-rpc>"}` — a message from the client that another node must
//!   act on: a response to a server request, or `notifications/cancelled`.
//! - `{"t":"close"}` — the session was deleted: end every stream, cancel every request.
//! - `{"t":"deliver","data":"<json-rpc>"}` — a server-initiated message for the session's
//!   standalone stream, not yet logged: the node holding that stream logs and sends it.
//!   This is the envelope an application may `PUBLISH` itself (it is lost when no node
//!   holds the stream; the admin API logs it first and is never lost).
//!
//! On the broadcast channel [`BROADCAST`]:
//! - `{"t":"resource_updated","uri":"…"}` and `{"t":"list_changed","kind":"tools"}`;
//! - `{"t":"deliver","data":"<json-rpc>"}` — for every session's standalone stream.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// The channel every node listens on for changes that concern all sessions.
pub const BROADCAST: &str = "sy:broadcast";

/// A bus payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Envelope {
    /// A logged event for a stream.
    Event {
        /// Stream name (`r<n>` or `g`).
        stream: String,
        /// The event id.
        id: String,
        /// The JSON-RPC message.
        data: String,
    },
    /// A stream's last event was written.
    Closed {
        /// Stream name.
        stream: String,
    },
    /// A client message for whichever node awaits it.
    Client {
        /// The JSON-RPC message.
        data: String,
    },
    /// The session is gone.
    Close,
    /// A server-initiated message to log and send on a standalone stream.
    Deliver {
        /// The JSON-RPC message.
        data: String,
    },
    /// A resource changed.
    ResourceUpdated {
        /// Its URI.
        uri: String,
    },
    /// A list changed: `tools`, `prompts` or `resources`.
    ListChanged {
        /// Which list.
        kind: String,
    },
    /// A connection took the session's standalone stream.
    Attached {
        /// Stream name.
        stream: String,
        /// The new owner's token.
        owner: String,
    },
    /// A logged broadcast.
    Broadcast {
        /// Its number in the broadcast log.
        seq: u64,
        /// What it says.
        notice: Box<Envelope>,
    },
}

impl Envelope {
    /// Serializes the envelope.
    pub fn to_bytes(&self) -> Bytes {
        Bytes::from(serde_json::to_vec(self).unwrap_or_default())
    }

    /// The notice of a logged broadcast; any other envelope as it is.
    pub fn unwrap_broadcast(self) -> Envelope {
        match self {
            Envelope::Broadcast { notice, .. } => *notice,
            other => other,
        }
    }

    /// Parses a payload; `None` for anything this node does not understand (a newer node's
    /// envelope is ignored rather than fatal).
    pub fn parse(payload: &[u8]) -> Option<Envelope> {
        serde_json::from_slice(payload).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_ignores_unknown() {
        let e = Envelope::Event {
            stream: "r1".into(),
            id: "a_r1_1".into(),
            data: "{}".into(),
        };
        assert_eq!(Envelope::parse(&e.to_bytes()), Some(e));
        assert_eq!(Envelope::parse(br#"{"t":"close"}"#), Some(Envelope::Close));
        assert_eq!(Envelope::parse(br#"{"t":"future"}"#), None);
        assert_eq!(Envelope::parse(b"not json"), None);
        let b = Envelope::Broadcast {
            seq: 7,
            notice: Box::new(Envelope::ListChanged {
                kind: "tools".into(),
            }),
        };
        assert_eq!(
            b.to_bytes(),
            r#"{"t":"broadcast","seq":7,"notice":{"t":"list_changed","kind":"tools"}}"#
        );
        assert_eq!(Envelope::parse(&b.to_bytes()), Some(b));
    }
}
