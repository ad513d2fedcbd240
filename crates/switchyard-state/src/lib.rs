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
pub use session::{SessionPatch, SessionRecord, SessionStore, Transport};

/// A failure of the state layer. Every variant says whether a retry can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// The backing store cannot be reached right now (Redis down, pool exhausted).
    /// Retryable: the HTTP layer answers 503 with `Retry-After`. When it follows a timeout,
    /// the outcome is unknown: the command may still take effect once the store answers
    /// (a publish may still be delivered, an append may still be logged).
    #[error("state backend unavailable: {0}")]
    Unavailable(String),
    /// A record that must be new already exists (e.g. a session id collision). Not
    /// retryable as it is.
    #[error("already exists: {0}")]
    Conflict(String),
    /// Stored data could not be decoded (written by an incompatible version). Not
    /// retryable.
    #[error("corrupt state: {0}")]
    Corrupt(String),
}

impl StateError {
    /// Whether trying again later can succeed: only for [`StateError::Unavailable`]. A
    /// conflict or corrupt data stays as it is, so the HTTP layer answers 500 for them
    /// (logged), not 503 with `Retry-After`.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StateError::Unavailable(_))
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
