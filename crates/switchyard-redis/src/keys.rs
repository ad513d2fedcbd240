//! Key and channel names (the schema is documented in the crate root).

use switchyard_protocol::event_id::StreamId;

/// The broadcast log: a Redis Stream of every logged broadcast, entry id `<seq>-0`.
pub(crate) const BROADCASTS: &str = "sy:{b}";

/// The last broadcast's sequence number (same slot as [`BROADCASTS`]).
pub(crate) const BROADCAST_SEQ: &str = "sy:{b}:n";

/// The `requestState` key nodes share when none is configured (a string, no expiry).
pub(crate) const STATE_KEY: &str = "sy:state_key";

/// The hash holding one session: `sy:s:{<id>}`.
pub(crate) fn session(id: &str) -> String {
    format!("sy:s:{{{id}}}")
}

/// The hash holding a session's per-stream counters and closed markers: `sy:l:{<id>}`.
pub(crate) fn log_meta(session: &str) -> String {
    format!("sy:l:{{{session}}}")
}

/// The Redis Stream holding one stream's events: `sy:l:{<id>}:<stream>`.
pub(crate) fn log_stream(session: &str, stream: &str) -> String {
    format!("sy:l:{{{session}}}:{stream}")
}

/// The producer lease of a request stream: `sy:l:{<id>}:p:<stream>` (expires with it).
pub(crate) fn lease(session: &str, stream: &str) -> String {
    format!("sy:l:{{{session}}}:p:{stream}")
}

/// The prefix of the counter field (`n:<stream>`) in the log meta hash.
pub(crate) const COUNTER_PREFIX: &str = "n:";

/// The prefix of a leased stream's requests field (`q:<stream>`) in the log meta hash.
pub(crate) const REQUESTS_PREFIX: &str = "q:";

/// The pub/sub channel of a bus channel name: `sy:c:<name>`.
pub(crate) fn channel(name: &str) -> String {
    format!("sy:c:{name}")
}

/// The stream name as it appears in keys and meta fields (`g`, `r7`).
pub(crate) fn stream_name(stream: StreamId) -> String {
    stream.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_session_shares_one_hash_tag() {
        assert_eq!(session("abc"), "sy:s:{abc}");
        assert_eq!(log_meta("abc"), "sy:l:{abc}");
        assert_eq!(
            log_stream("abc", &stream_name(StreamId::Request(7))),
            "sy:l:{abc}:r7"
        );
        assert_eq!(channel("anonymous:abc"), "sy:c:anonymous:abc");
    }
}
