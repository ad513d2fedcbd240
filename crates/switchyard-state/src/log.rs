//! The event log: every SSE event a node sends is appended here first, so that a client can
//! resume any stream with `Last-Event-ID`, on any node.

use async_trait::async_trait;
use switchyard_protocol::event_id::{EventId, StreamId};

use crate::StateError;

/// What a resumption finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    /// The events after the given id, in order, each with its id.
    pub events: Vec<(EventId, String)>,
    /// Whether the stream was closed (its last event was written); a resumed stream that is
    /// closed ends after the replay.
    pub closed: bool,
}

/// Why a resumption cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// The id names another epoch of the log (the log was lost and recreated since), or the
    /// stream is unknown or expired. The events are gone; the client must start afresh.
    #[error("events before this id are no longer available")]
    Gone,
    /// The store is unreachable.
    #[error(transparent)]
    State(#[from] StateError),
}

/// Per-stream, append-only logs of SSE events.
///
/// Contract (checked by [`crate::contract`]):
/// - `append` assigns the next position in the stream (1, 2, 3, … per stream, no gaps) under
///   the current epoch and has made the event durable to the store's own standard before it
///   returns (memory: the process; Redis: acknowledged by the server).
/// - Ids are unique across a session: two streams never share an id.
/// - `read_after(id)` returns exactly the events of `id.stream` with position > `id.seq`, in
///   order, plus whether the stream is closed. Position 0 (a priming event) replays all.
/// - An id from another epoch, or of a stream this log never saw or has expired, is
///   [`ReplayError::Gone`], never an empty replay.
/// - A log may keep only the last `max_len` events of a stream; a resume from before the
///   retained window is [`ReplayError::Gone`].
/// - `remove_session` drops every stream of a session.
#[async_trait]
pub trait EventLog: Send + Sync + 'static {
    /// The current epoch.
    async fn epoch(&self) -> Result<String, StateError>;
    /// Appends an event to a stream, returning its id.
    async fn append(
        &self,
        session: &str,
        stream: StreamId,
        data: &str,
    ) -> Result<EventId, StateError>;
    /// Marks a stream closed: no more events will be appended.
    async fn close(&self, session: &str, stream: StreamId) -> Result<(), StateError>;
    /// The events after `after`, in the stream `after` names.
    async fn read_after(&self, session: &str, after: &EventId) -> Result<Replay, ReplayError>;
    /// Drops every stream of a session.
    async fn remove_session(&self, session: &str) -> Result<(), StateError>;
}
