//! The state contracts of a Switchyard node.
//!
//! A node keeps nothing about a client that a second node could not see: sessions live in a
//! [`SessionStore`], every SSE event is written to an [`EventLog`] before it is sent, and
//! everything one node must tell another (an event for a stream it holds, a client's
//! response to a server request, a DELETE) travels on the [`Bus`]. The in-memory
//! implementations in [`memory`] are the embedded default for a single node; `switchyard-redis`
//! provides the shared ones. Both must pass the suite in [`contract`].
//!
//! # Layout
//!
//! - [`session`]: [`SessionStore`] and the [`SessionRecord`] it keeps.
//! - [`log`]: [`EventLog`], the per-stream, resumable log of SSE events.
//! - [`bus`]: [`Bus`], at-most-once pub/sub between nodes, with gap signalling.
//! - [`memory`]: in-memory implementations of all three.
//! - [`contract`] (feature `contract`, and in this crate's tests): the generic contract suite.

pub mod bus;
pub mod log;
pub mod memory;
pub mod session;

#[cfg(any(test, feature = "contract"))]
pub mod contract;

pub use bus::{Bus, Delivery, Subscription};
pub use log::{Attachment, EventLog, Owned, Replay, ReplayError};
pub use session::{
    SessionPatch, SessionRecord, SessionStore, Transport, UpstreamSession, UpstreamSwap,
};

/// A failure of the state layer. Every variant says whether a retry can help, and keeps the
/// error that caused it, when there is one ([`std::error::Error::source`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// The backing store cannot be reached right now (Redis down, pool exhausted).
    /// Retryable: the HTTP layer answers 503 with `Retry-After`. When it follows a timeout,
    /// the outcome is unknown: the command may still take effect once the store answers
    /// (a publish may still be delivered, an append may still be logged).
    #[error("state backend unavailable: {message}")]
    Unavailable {
        /// What failed.
        message: String,
        /// The store client's error.
        #[source]
        source: Option<Source>,
    },
    /// A record that must be new already exists (e.g. a session id collision). Not
    /// retryable as it is.
    #[error("already exists: {0}")]
    Conflict(String),
    /// Stored data could not be decoded (written by an incompatible version). Not
    /// retryable.
    #[error("corrupt state: {message}")]
    Corrupt {
        /// What could not be read.
        message: String,
        /// The decoder's or the store client's error.
        #[source]
        source: Option<Source>,
    },
}

impl StateError {
    /// [`StateError::Unavailable`] without a source error.
    pub fn unavailable(message: impl Into<String>) -> Self {
        StateError::Unavailable {
            message: message.into(),
            source: None,
        }
    }

    /// [`StateError::Unavailable`] caused by `source`.
    pub fn unavailable_from(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StateError::Unavailable {
            message: message.into(),
            source: Some(Source::new(source)),
        }
    }

    /// [`StateError::Corrupt`] without a source error.
    pub fn corrupt(message: impl Into<String>) -> Self {
        StateError::Corrupt {
            message: message.into(),
            source: None,
        }
    }

    /// [`StateError::Corrupt`] caused by `source`.
    pub fn corrupt_from(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StateError::Corrupt {
            message: message.into(),
            source: Some(Source::new(source)),
        }
    }

    /// Whether trying again later can succeed: only for [`StateError::Unavailable`]. A
    /// conflict or corrupt data stays as it is, so the HTTP layer answers 500 for them
    /// (logged), not 503 with `Retry-After`.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StateError::Unavailable { .. })
    }
}

/// The error behind a [`StateError`], shared so the error stays `Clone`. Two sources compare
/// equal by their messages (a state error is compared by what it says, not by identity).
#[derive(Debug, Clone)]
pub struct Source(std::sync::Arc<dyn std::error::Error + Send + Sync>);

impl Source {
    fn new(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Source(std::sync::Arc::new(e))
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Source {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for Source {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_string() == other.0.to_string()
    }
}

impl Eq for Source {}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::error::Error;

    use super::*;

    #[test]
    fn a_state_error_keeps_its_source_and_says_whether_to_retry() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = StateError::unavailable_from("read a session", io);
        assert!(e.is_retryable());
        assert_eq!(e.to_string(), "state backend unavailable: read a session");
        assert_eq!(
            e.source().map(|s| s.to_string()).as_deref(),
            Some("refused")
        );
        let bad = String::from_utf8(vec![0xff]).unwrap_err();
        let c = StateError::corrupt_from("an event", bad);
        assert!(!c.is_retryable());
        assert!(c.source().is_some());
        assert!(StateError::corrupt("x").source().is_none());
        assert!(!StateError::Conflict("s".into()).is_retryable());
        // Compared by what they say.
        assert_eq!(StateError::unavailable("a"), StateError::unavailable("a"));
        assert_ne!(StateError::unavailable("a"), StateError::corrupt("a"));
    }
}
