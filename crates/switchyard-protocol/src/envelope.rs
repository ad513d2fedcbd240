//! What travels on the bus between nodes: one JSON object per payload, tagged by `t`, with
//! the format's version in `v`.
//!
//! This is a public format: applications `PUBLISH` envelopes themselves (README, "Push API").
//! `v` is [`VERSION`] in everything a node publishes; an envelope without `v` is version 1
//! (what applications have always published). A node ignores an envelope whose `v` is newer
//! than it understands, or whose `t` it does not know, rather than failing: in a rolling
//! upgrade an older node skips what a newer one adds. A change that older nodes must not
//! misread raises [`VERSION`].
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
//! Beside `v`, a node may write `ts`, when it published the payload (µs since the Unix
//! epoch; on `event`s, for the bus latency metric), and `tp`, the W3C `traceparent` of the
//! span that produced it (so the node delivering it links its span). Both are optional and
//! older nodes ignore them (an unknown field is skipped, never an error), so adding them
//! needs no new [`VERSION`].
//!
//! On the broadcast channel [`BROADCAST`]:
//! - `{"t":"resource_updated","uri":"…"}` and `{"t":"list_changed","kind":"tools"}`;
//! - `{"t":"deliver","data":"<json-rpc>"}` — for every session's standalone stream.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// The channel every node listens on for changes that concern all sessions.
pub const BROADCAST: &str = "sy:broadcast";

/// The envelope format's version, written as `v` by every node.
pub const VERSION: u32 = 1;

/// The wire form: the version beside the tagged envelope.
#[derive(Serialize, Deserialize)]
struct Wire<E> {
    #[serde(default = "version_one")]
    v: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ts: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tp: Option<String>,
    #[serde(flatten)]
    envelope: E,
}

/// What a payload carries beside its envelope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stamp {
    /// When the payload was published, in µs since the Unix epoch (`ts`), if it says.
    pub sent_us: Option<u64>,
    /// The W3C `traceparent` of the span that produced it (`tp`), when the producer traces.
    pub traceparent: Option<String>,
}

fn version_one() -> u32 {
    1
}

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
    /// Serializes the envelope, with `v`.
    pub fn to_bytes(&self) -> Bytes {
        self.to_bytes_stamped(Stamp::default())
    }

    /// Serializes the envelope, with `v` and what `stamp` says.
    pub fn to_bytes_stamped(&self, stamp: Stamp) -> Bytes {
        let wire = Wire {
            v: VERSION,
            ts: stamp.sent_us,
            tp: stamp.traceparent,
            envelope: self,
        };
        Bytes::from(serde_json::to_vec(&wire).unwrap_or_default())
    }

    /// The notice of a logged broadcast; any other envelope as it is.
    pub fn unwrap_broadcast(self) -> Envelope {
        match self {
            Envelope::Broadcast { notice, .. } => *notice,
            other => other,
        }
    }

    /// Parses a payload; `None` for anything this node does not understand (a newer version,
    /// an unknown `t`, not JSON): ignored rather than fatal.
    pub fn parse(payload: &[u8]) -> Option<Envelope> {
        Envelope::parse_stamped(payload).map(|(e, _)| e)
    }

    /// Parses a payload as [`Envelope::parse`] does, with its [`Stamp`].
    pub fn parse_stamped(payload: &[u8]) -> Option<(Envelope, Stamp)> {
        let wire: Wire<Envelope> = serde_json::from_slice(payload).ok()?;
        let stamp = Stamp {
            sent_us: wire.ts,
            traceparent: wire.tp,
        };
        (wire.v <= VERSION).then_some((wire.envelope, stamp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_kind() -> Vec<Envelope> {
        let event = Envelope::Event {
            stream: "r1".into(),
            id: "a_r1_1".into(),
            data: "{}".into(),
        };
        vec![
            event.clone(),
            Envelope::Closed { stream: "g".into() },
            Envelope::Client { data: "{}".into() },
            Envelope::Close,
            Envelope::Deliver { data: "{}".into() },
            Envelope::ResourceUpdated {
                uri: "x://y".into(),
            },
            Envelope::ListChanged {
                kind: "tools".into(),
            },
            Envelope::Attached {
                stream: "g".into(),
                owner: "o".into(),
            },
            Envelope::Broadcast {
                seq: 7,
                notice: Box::new(event),
            },
        ]
    }

    #[test]
    fn every_kind_round_trips_with_its_version() {
        for e in every_kind() {
            let bytes = e.to_bytes();
            assert!(bytes.starts_with(br#"{"v":1,"t":""#), "{bytes:?}");
            assert_eq!(Envelope::parse(&bytes), Some(e));
        }
    }

    #[test]
    fn the_wire_form_is_stable() {
        let b = Envelope::Broadcast {
            seq: 7,
            notice: Box::new(Envelope::ListChanged {
                kind: "tools".into(),
            }),
        };
        assert_eq!(
            b.to_bytes(),
            r#"{"v":1,"t":"broadcast","seq":7,"notice":{"t":"list_changed","kind":"tools"}}"#
        );
        assert_eq!(Envelope::Close.to_bytes(), r#"{"v":1,"t":"close"}"#);
    }

    #[test]
    fn what_applications_publish_without_a_version_is_version_one() {
        assert_eq!(Envelope::parse(br#"{"t":"close"}"#), Some(Envelope::Close));
        assert_eq!(
            Envelope::parse(br#"{"t":"resource_updated","uri":"clients://all"}"#),
            Some(Envelope::ResourceUpdated {
                uri: "clients://all".into()
            })
        );
        assert_eq!(
            Envelope::parse(br#"{"v":1,"t":"deliver","data":"{}"}"#),
            Some(Envelope::Deliver { data: "{}".into() })
        );
    }

    #[test]
    fn a_stamp_rides_beside_the_envelope_and_is_optional() {
        let e = Envelope::Closed { stream: "g".into() };
        let stamp = Stamp {
            sent_us: Some(42),
            traceparent: Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into()),
        };
        let bytes = e.to_bytes_stamped(stamp.clone());
        assert_eq!(
            bytes,
            r#"{"v":1,"ts":42,"tp":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","t":"closed","stream":"g"}"#
        );
        assert_eq!(Envelope::parse_stamped(&bytes), Some((e.clone(), stamp)));
        assert_eq!(Envelope::parse(&bytes), Some(e.clone()));
        assert_eq!(
            Envelope::parse_stamped(&e.to_bytes()),
            Some((e, Stamp::default()))
        );
    }

    #[test]
    fn what_this_node_does_not_understand_is_ignored() {
        assert_eq!(Envelope::parse(br#"{"t":"future"}"#), None);
        assert_eq!(Envelope::parse(br#"{"v":2,"t":"close"}"#), None);
        assert_eq!(Envelope::parse(br#"{"v":"1","t":"close"}"#), None);
        assert_eq!(Envelope::parse(br#"{"t":"event","stream":"r1"}"#), None);
        assert_eq!(Envelope::parse(b"not json"), None);
        assert_eq!(Envelope::parse(b""), None);
    }
}
