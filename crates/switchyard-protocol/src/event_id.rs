//! The SSE event-id codec.
//!
//! An event id names the log *epoch* it was written under, the *stream* it belongs to and
//! its *position* in that stream: `<epoch>_<stream>_<seq>`, e.g. `k3f9a_r7_12`.
//!
//! - The epoch is the epoch of the session's log: minted when that log is created, so it
//!   changes whenever the log is created afresh (a restarted in-memory node, a flushed Redis,
//!   an evicted or expired log). A `Last-Event-ID` from another epoch is detected, never
//!   silently replayed from the wrong place, and no id is ever issued twice.
//! - The stream is `g` for the one stream of an HTTP+SSE (2024-11-05) session, or `r<n>` for
//!   any stream of a Streamable HTTP session — the response stream of one POST, or a
//!   standalone GET stream — where `n` is a random 64-bit number minted by the node that
//!   opens it. A resumption with `Last-Event-ID` resumes exactly that stream.
//! - Positions start at 1 and grow by one per event in the stream; the priming event of a
//!   stream has position 0.
//!
//! Ids are unique across the session because each stream name is unique in the session.

use std::fmt;
use std::str::FromStr;

/// A stream within a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StreamId {
    /// The one stream of an HTTP+SSE (2024-11-05) session (`/sse`).
    Get,
    /// A Streamable HTTP stream: a POST's response stream or a standalone GET stream,
    /// named by a random number.
    Request(u64),
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamId::Get => f.write_str("g"),
            StreamId::Request(n) => write!(f, "r{n}"),
        }
    }
}

impl FromStr for StreamId {
    type Err = BadEventId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.as_bytes() {
            b"g" => Ok(StreamId::Get),
            [b'r', digits @ ..] if is_decimal(digits) => s[1..]
                .parse()
                .map(StreamId::Request)
                .map_err(|_| BadEventId),
            _ => Err(BadEventId),
        }
    }
}

/// A decoded event id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventId {
    /// The log epoch: 1–32 ASCII alphanumerics.
    pub epoch: String,
    /// The stream this event belongs to.
    pub stream: StreamId,
    /// The position in the stream (0 = priming event).
    pub seq: u64,
}

/// An event id that this codec did not produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed event id")]
pub struct BadEventId;

/// A canonical decimal: digits only, no leading zero (but `0` itself), so that each number has
/// exactly one spelling and a parsed id prints back as the very string it came from.
fn is_decimal(b: &[u8]) -> bool {
    !b.is_empty()
        && b.len() <= 20
        && b.iter().all(u8::is_ascii_digit)
        && (b[0] != b'0' || b.len() == 1)
}

/// Whether `s` is a valid epoch: 1–32 ASCII alphanumerics.
pub fn is_valid_epoch(s: &str) -> bool {
    !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl EventId {
    /// Builds an id.
    pub fn new(epoch: impl Into<String>, stream: StreamId, seq: u64) -> Self {
        Self {
            epoch: epoch.into(),
            stream,
            seq,
        }
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}_{}", self.epoch, self.stream, self.seq)
    }
}

impl FromStr for EventId {
    type Err = BadEventId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Whitespace around a header value is not part of the id.
        let mut parts = s.trim().split('_');
        let (Some(epoch), Some(stream), Some(seq), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(BadEventId);
        };
        if !is_valid_epoch(epoch) || !is_decimal(seq.as_bytes()) {
            return Err(BadEventId);
        }
        Ok(EventId {
            epoch: epoch.to_owned(),
            stream: stream.parse()?,
            seq: seq.parse().map_err(|_| BadEventId)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip() {
        for id in [
            EventId::new("abc1", StreamId::Get, 0),
            EventId::new("Z", StreamId::Request(42), u64::MAX),
        ] {
            assert_eq!(id.to_string().parse::<EventId>(), Ok(id));
        }
    }

    #[test]
    fn rejects_foreign_ids() {
        for bad in [
            "",
            "1",
            "a_g",
            "a_g_",
            "a_x_1",
            "a_r_1",
            "a_r1_-1",
            "a-b_g_1",
            "a_g_1_2",
            "a_r1x_1",
            "a_g_99999999999999999999999",
            "a_g_18446744073709551616",
            "a_g_01",
            "a_r01_1",
            "a_g_+1",
            "a__g_1",
        ] {
            assert_eq!(bad.parse::<EventId>(), Err(BadEventId), "{bad}");
        }
    }

    fn stream() -> impl Strategy<Value = StreamId> {
        prop_oneof![
            Just(StreamId::Get),
            any::<u64>().prop_map(StreamId::Request)
        ]
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(epoch in "[A-Za-z0-9]{1,32}", stream in stream(), seq: u64) {
            let id = EventId::new(epoch, stream, seq);
            prop_assert_eq!(id.to_string().parse::<EventId>(), Ok(id));
        }

        #[test]
        fn a_parsed_id_prints_back_as_its_source(s in "[ a-z0-9_gr-]{0,24}") {
            if let Ok(id) = s.parse::<EventId>() {
                prop_assert_eq!(id.to_string(), s.trim());
            }
        }
    }
}
