//! The event log: every SSE event a node sends is appended here first, so that a client can
//! resume any stream with `Last-Event-ID`, on any node.
//!
//! Besides the events it keeps what makes "every message once" hold across nodes and faults:
//! - the *epoch* of each session's log, minted when the log is created, so a log that was
//!   lost (evicted, expired, flushed) and created again never reissues an id;
//! - the *owner* of the session's standalone stream: the one attachment that may append
//!   what arrives for every attachment (raw deliveries, broadcasts);
//! - a per-session *broadcast cursor* and a log of broadcasts, so each broadcast is appended
//!   to a session's standalone stream once, even after a gap;
//! - a *producer lease* per request stream, so a stream whose producer died is ended.

use std::time::Duration;

use async_trait::async_trait;
use switchyard_protocol::event_id::{EventId, StreamId};

use rand::Rng;
use rand::distr::Alphanumeric;

use crate::StateError;

/// Length of a minted epoch: 12 alphanumerics, about 71 bits.
const EPOCH_LEN: usize = 12;

/// A fresh random epoch for a session's log (what every implementation mints when it
/// creates one).
pub fn mint_epoch() -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(EPOCH_LEN)
        .map(char::from)
        .collect()
}

/// What a resumption finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    /// The events after the given id, in order, each with its id.
    pub events: Vec<(EventId, String)>,
    /// Whether the stream was closed (its last event was written); a resumed stream that is
    /// closed ends after the replay.
    pub closed: bool,
    /// The owner of the session's standalone stream, when that is this stream.
    pub owner: Option<String>,
    /// For a stream with a producer lease (a request stream): whether the lease lapsed, its
    /// producer gone, with the stream still open. [`EventLog::reap`] ends such a stream.
    pub orphaned: bool,
}

impl Replay {
    /// A replay of `events` of an open stream with no owner and no lapsed lease.
    pub fn open(events: Vec<(EventId, String)>) -> Self {
        Self {
            events,
            closed: false,
            owner: None,
            orphaned: false,
        }
    }
}

/// Why a resumption cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// The id names another epoch of the session's log (the log was lost and created again
    /// since), or the stream is unknown or expired. The events are gone; the client must
    /// start afresh.
    #[error("events before this id are no longer available")]
    Gone,
    /// The store is unreachable.
    #[error(transparent)]
    State(#[from] StateError),
}

/// A standalone stream's attachment, as [`EventLog::attach`] made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The epoch of the session's log (for the stream's priming event id).
    pub epoch: String,
    /// The last broadcast applied to the session (see [`EventLog::append_owned`]).
    pub cursor: u64,
}

/// What [`EventLog::append_owned`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owned {
    /// The event was appended with this id.
    Appended(EventId),
    /// Nothing to append: the broadcast was applied already (or there was no data), the
    /// cursor is past it.
    Skipped,
    /// The caller is not (or no longer) the owner of the session's standalone stream, or the
    /// session's log was lost: it must stop following the stream.
    NotOwner,
}

/// Per-stream, append-only logs of SSE events.
///
/// Contract (checked by [`crate::contract`]):
/// - `append` assigns the next position in the stream (1, 2, 3, … per stream, no gaps) under
///   the session's log epoch and has made the event durable to the store's own standard
///   before it returns (memory: the process; Redis: acknowledged by the server).
/// - Ids are unique across a session, for as long as the session lives: two streams never
///   share an id, and a log that was lost and created again has another epoch.
/// - `read_after(id)` returns exactly the events of `id.stream` with position > `id.seq`, in
///   order, plus whether the stream is closed. Position 0 (a priming event) replays all.
/// - An id from another epoch, or of a stream this log never saw or has expired, is
///   [`ReplayError::Gone`], never an empty replay.
/// - A log may keep only the last `max_len` events of a stream; a resume from before the
///   retained window is [`ReplayError::Gone`].
/// - `attach` makes `owner` the one owner of the session's standalone stream (the newest
///   attachment wins); `append_owned` appends only for the current owner, and applies each
///   broadcast to a session at most once (atomically with its cursor).
/// - `broadcast` assigns increasing sequence numbers that never repeat, even after the
///   broadcast log was lost; `broadcasts_after` returns the retained ones after a number.
/// - A stream with a producer lease that lapsed, still open, reads as `orphaned`; `reap`
///   appends the given final events to it and closes it, at most once, and never while the
///   lease stands or after the stream was closed.
/// - `remove_session` drops every stream of a session.
#[async_trait]
pub trait EventLog: Send + Sync + 'static {
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

    /// Makes `owner` the owner of the session's standalone stream `stream` (creating the
    /// session's log if needed, and its broadcast cursor at `head` if it has none).
    async fn attach(
        &self,
        session: &str,
        stream: StreamId,
        owner: &str,
        head: u64,
    ) -> Result<Attachment, StateError>;
    /// Appends `data` to the standalone stream if `owner` owns it. With `broadcast`, only if
    /// that broadcast is past the session's cursor, which then moves to it (`data` `None`:
    /// the broadcast does not concern the session; only the cursor moves).
    async fn append_owned(
        &self,
        session: &str,
        stream: StreamId,
        owner: &str,
        broadcast: Option<u64>,
        data: Option<&str>,
    ) -> Result<Owned, StateError>;

    /// Logs a broadcast, returning its sequence number.
    async fn broadcast(&self, data: &str) -> Result<u64, StateError>;
    /// The last broadcast's sequence number (0: none yet).
    async fn broadcast_head(&self) -> Result<u64, StateError>;
    /// The retained broadcasts after `seq`, oldest first (at most a few hundred per call:
    /// call again after the last one returned until none come back).
    async fn broadcasts_after(&self, seq: u64) -> Result<Vec<(u64, String)>, StateError>;

    /// Takes or renews the producer lease of a request stream for `ttl`; `requests` is
    /// what [`EventLog::reap`]'s caller needs to answer for it (the request ids, as JSON).
    /// Creates the session's log and the stream if needed (a resumption after the stream's
    /// priming event then waits for its events), and returns the log's epoch.
    async fn lease(
        &self,
        session: &str,
        stream: StreamId,
        requests: &str,
        ttl: Duration,
    ) -> Result<String, StateError>;
    /// The `requests` of a stream's lease, if it had one.
    async fn leased_requests(
        &self,
        session: &str,
        stream: StreamId,
    ) -> Result<Option<String>, StateError>;
    /// The session's orphaned streams (open, their lease lapsed), with their `requests`.
    async fn orphans(&self, session: &str) -> Result<Vec<(StreamId, String)>, StateError>;
    /// Ends an orphaned stream: appends `finals` and closes it, only if it is open and its
    /// lease lapsed. `true` if it did.
    async fn reap(
        &self,
        session: &str,
        stream: StreamId,
        finals: &[String],
    ) -> Result<bool, StateError>;
}
