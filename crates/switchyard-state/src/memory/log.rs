//! [`MemoryEventLog`]: per-stream event logs in a sharded map.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use switchyard_protocol::event_id::{EventId, StreamId};
use tokio::time::Instant;

use super::FOREVER;
use super::shards::Sharded;
use crate::log::mint_epoch as mint;
use crate::{Attachment, EventLog, Owned, Replay, ReplayError, StateError};

/// Broadcasts kept for streams that fell behind.
const BROADCASTS_KEPT: usize = 10_000;

/// Broadcasts returned by one `broadcasts_after`.
const BROADCAST_PAGE: usize = 256;

/// The event logs of every session, kept in this process.
///
/// - Each session's log mints its epoch (12 random alphanumerics) when it is created, so ids
///   written before a restart, or before the log expired, are [`ReplayError::Gone`].
/// - Each stream keeps its last `max_len_per_stream` events; positions keep counting past
///   the trimmed ones.
/// - Without [`MemoryEventLog::with_idle_ttl`], streams live until
///   [`EventLog::remove_session`]. With it, a session none of whose streams was appended to,
///   closed, attached or read for the TTL is dropped whole, and a closed stream is dropped
///   one TTL after it was closed.
/// - `close` on a stream the log has not seen records it as empty and closed, so that a
///   resumption after its priming event ends at once instead of being `Gone`.
/// - `read_after` with a position past the last one written is `Gone`: this log never
///   issued that id.
/// - The last 10,000 broadcasts are kept.
/// - Appending to a closed stream is a caller error; the event is kept and the stream stays
///   closed.
///
/// A clone is another handle on the same logs.
#[derive(Clone)]
pub struct MemoryEventLog {
    inner: Arc<Inner>,
}

struct Inner {
    max_len: usize,
    idle_ttl: Option<Duration>,
    shards: Sharded<Shard>,
    broadcasts: Mutex<Broadcasts>,
}

#[derive(Default)]
struct Broadcasts {
    last: u64,
    kept: VecDeque<(u64, Box<str>)>,
}

#[derive(Default)]
struct Shard {
    sessions: HashMap<String, SessionLog>,
    /// When `append` next sweeps this shard (only with an idle TTL).
    next_sweep: Option<Instant>,
}

struct SessionLog {
    epoch: String,
    streams: HashMap<StreamId, StreamLog>,
    /// The standalone stream and the token of its owner.
    owner: Option<(StreamId, String)>,
    /// The last broadcast applied to the session.
    cursor: Option<u64>,
    /// The last append, close, attach or read of any stream of the session.
    touched: Instant,
}

#[derive(Default)]
struct StreamLog {
    /// The position of the last event appended (0: none yet).
    last: u64,
    /// The retained events, oldest first; the last one has position `last`.
    events: VecDeque<Box<str>>,
    /// When the stream was closed, if it was.
    closed_at: Option<Instant>,
    /// The producer lease: until when, and for which requests.
    lease: Option<(Instant, String)>,
}

impl StreamLog {
    /// The position of the oldest retained event (`last + 1` when none is retained).
    fn first(&self) -> u64 {
        self.last + 1 - self.events.len() as u64
    }

    fn push(&mut self, data: &str, max_len: usize) -> u64 {
        if self.events.len() == max_len {
            self.events.pop_front();
        }
        self.events.push_back(data.into());
        self.last += 1;
        self.last
    }

    fn orphaned(&self, now: Instant) -> bool {
        self.closed_at.is_none() && self.lease.as_ref().is_some_and(|(until, _)| now >= *until)
    }
}

impl Inner {
    fn session_expired(&self, s: &SessionLog, now: Instant) -> bool {
        self.idle_ttl.is_some_and(|ttl| now >= s.touched + ttl)
    }

    fn stream_expired(&self, s: &StreamLog, now: Instant) -> bool {
        match (self.idle_ttl, s.closed_at) {
            (Some(ttl), Some(at)) => now >= at + ttl,
            _ => false,
        }
    }

    /// Drops expired sessions and expired closed streams of one shard.
    fn sweep(&self, shard: &mut Shard, now: Instant) {
        shard.sessions.retain(|_, s| {
            if self.session_expired(s, now) {
                return false;
            }
            s.streams.retain(|_, st| !self.stream_expired(st, now));
            true
        });
    }

    /// Runs `f` on the log of `session`, created (under a new epoch) if missing or expired,
    /// and marks the session touched. Sweeps the shard first if it is time to.
    fn with_session<R>(
        &self,
        session: &str,
        now: Instant,
        f: impl FnOnce(&mut SessionLog) -> R,
    ) -> R {
        let mut shard = self.shards.lock(session);
        if let Some(ttl) = self.idle_ttl
            && shard.next_sweep.is_none_or(|t| now >= t)
        {
            self.sweep(&mut shard, now);
            shard.next_sweep = Some(now + ttl);
        }
        let fresh = || SessionLog {
            epoch: mint(),
            streams: HashMap::new(),
            owner: None,
            cursor: None,
            touched: now,
        };
        if let Some(log) = shard.sessions.get_mut(session) {
            if self.session_expired(log, now) {
                *log = fresh();
            }
            log.touched = now;
            return f(log);
        }
        f(shard
            .sessions
            .entry(session.to_owned())
            .or_insert_with(fresh))
    }

    /// Runs `f` on the live log of `session`, if there is one (marking it touched).
    fn with_existing<R>(
        &self,
        session: &str,
        now: Instant,
        f: impl FnOnce(&mut SessionLog) -> R,
    ) -> Option<R> {
        let mut shard = self.shards.lock(session);
        let log = shard.sessions.get_mut(session)?;
        if self.session_expired(log, now) {
            shard.sessions.remove(session);
            return None;
        }
        log.touched = now;
        Some(f(log))
    }

    fn lock_broadcasts(&self) -> std::sync::MutexGuard<'_, Broadcasts> {
        self.broadcasts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for MemoryEventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryEventLog")
            .field("max_len_per_stream", &self.inner.max_len)
            .field("idle_ttl", &self.inner.idle_ttl)
            .finish_non_exhaustive()
    }
}

impl MemoryEventLog {
    /// An empty log keeping the last `max_len_per_stream` events of each stream (0 is
    /// treated as 1), with no idle TTL.
    pub fn new(max_len_per_stream: usize) -> Self {
        Self::build(max_len_per_stream, None)
    }

    fn build(max_len_per_stream: usize, idle_ttl: Option<Duration>) -> Self {
        Self {
            inner: Arc::new(Inner {
                max_len: max_len_per_stream.max(1),
                idle_ttl,
                shards: Sharded::new(),
                broadcasts: Mutex::default(),
            }),
        }
    }

    /// Like [`MemoryEventLog::new`], and drops a session none of whose streams was appended
    /// to, closed, attached or read for `idle_ttl`, and a stream closed for `idle_ttl` (a
    /// TTL above ten years is treated as ten years).
    pub fn with_idle_ttl(max_len_per_stream: usize, idle_ttl: Duration) -> Self {
        Self::build(max_len_per_stream, Some(idle_ttl.min(FOREVER)))
    }

    /// The epoch of a session's log, if it has one now.
    pub fn epoch_of(&self, session: &str) -> Option<String> {
        self.inner
            .with_existing(session, Instant::now(), |log| log.epoch.clone())
    }

    /// How many streams are held (closed ones included). Walks the whole log: for metrics.
    pub fn stream_count(&self) -> usize {
        let mut n = 0;
        self.inner
            .shards
            .for_each(|s| n += s.sessions.values().map(|l| l.streams.len()).sum::<usize>());
        n
    }
}

#[async_trait]
impl EventLog for MemoryEventLog {
    async fn append(
        &self,
        session: &str,
        stream: StreamId,
        data: &str,
    ) -> Result<EventId, StateError> {
        let inner = &*self.inner;
        let (epoch, seq) = inner.with_session(session, Instant::now(), |log| {
            let st = log.streams.entry(stream).or_default();
            (log.epoch.clone(), st.push(data, inner.max_len))
        });
        Ok(EventId::new(epoch, stream, seq))
    }

    async fn close(&self, session: &str, stream: StreamId) -> Result<(), StateError> {
        let now = Instant::now();
        self.inner.with_session(session, now, |log| {
            let st = log.streams.entry(stream).or_default();
            st.closed_at.get_or_insert(now);
        });
        Ok(())
    }

    async fn read_after(&self, session: &str, after: &EventId) -> Result<Replay, ReplayError> {
        let inner = &*self.inner;
        let now = Instant::now();
        let read = |log: &mut SessionLog| {
            if after.epoch != log.epoch {
                return Err(ReplayError::Gone);
            }
            let st = log.streams.get(&after.stream).ok_or(ReplayError::Gone)?;
            if inner.stream_expired(st, now) {
                log.streams.remove(&after.stream);
                return Err(ReplayError::Gone);
            }
            // Serve positions after.seq + 1 ..= last; all of them must still be retained.
            if after.seq > st.last || after.seq + 1 < st.first() {
                return Err(ReplayError::Gone);
            }
            let skip = (after.seq + 1 - st.first()) as usize;
            let events = st
                .events
                .iter()
                .skip(skip)
                .zip(after.seq + 1..)
                .map(|(data, seq)| {
                    let id = EventId::new(log.epoch.as_str(), after.stream, seq);
                    (id, String::from(&**data))
                })
                .collect();
            let owner = match &log.owner {
                Some((s, token)) if *s == after.stream => Some(token.clone()),
                _ => None,
            };
            Ok(Replay {
                events,
                closed: st.closed_at.is_some(),
                owner,
                orphaned: st.orphaned(now),
            })
        };
        inner
            .with_existing(session, now, read)
            .unwrap_or(Err(ReplayError::Gone))
    }

    async fn remove_session(&self, session: &str) -> Result<(), StateError> {
        self.inner.shards.lock(session).sessions.remove(session);
        Ok(())
    }

    async fn attach(
        &self,
        session: &str,
        stream: StreamId,
        owner: &str,
        head: u64,
    ) -> Result<Attachment, StateError> {
        Ok(self.inner.with_session(session, Instant::now(), |log| {
            log.streams.entry(stream).or_default();
            log.owner = Some((stream, owner.to_owned()));
            Attachment {
                epoch: log.epoch.clone(),
                cursor: *log.cursor.get_or_insert(head),
            }
        }))
    }

    async fn append_owned(
        &self,
        session: &str,
        stream: StreamId,
        owner: &str,
        broadcast: Option<u64>,
        data: Option<&str>,
    ) -> Result<Owned, StateError> {
        let inner = &*self.inner;
        let owned = inner.with_existing(session, Instant::now(), |log| {
            match &log.owner {
                Some((s, token)) if *s == stream && token == owner => {}
                _ => return Owned::NotOwner,
            }
            if let Some(seq) = broadcast {
                let cursor = log.cursor.get_or_insert(0);
                if seq <= *cursor {
                    return Owned::Skipped;
                }
                *cursor = seq;
            }
            let Some(data) = data else {
                return Owned::Skipped;
            };
            let st = log.streams.entry(stream).or_default();
            let seq = st.push(data, inner.max_len);
            Owned::Appended(EventId::new(log.epoch.as_str(), stream, seq))
        });
        Ok(owned.unwrap_or(Owned::NotOwner))
    }

    async fn broadcast(&self, data: &str) -> Result<u64, StateError> {
        let mut b = self.inner.lock_broadcasts();
        b.last += 1;
        let seq = b.last;
        if b.kept.len() == BROADCASTS_KEPT {
            b.kept.pop_front();
        }
        b.kept.push_back((seq, data.into()));
        Ok(seq)
    }

    async fn broadcast_head(&self) -> Result<u64, StateError> {
        Ok(self.inner.lock_broadcasts().last)
    }

    async fn broadcasts_after(&self, seq: u64) -> Result<Vec<(u64, String)>, StateError> {
        let b = self.inner.lock_broadcasts();
        Ok(b.kept
            .iter()
            .filter(|(n, _)| *n > seq)
            .take(BROADCAST_PAGE)
            .map(|(n, d)| (*n, String::from(&**d)))
            .collect())
    }

    async fn lease(
        &self,
        session: &str,
        stream: StreamId,
        requests: &str,
        ttl: Duration,
    ) -> Result<String, StateError> {
        let now = Instant::now();
        Ok(self.inner.with_session(session, now, |log| {
            let st = log.streams.entry(stream).or_default();
            st.lease = Some((now + ttl.min(FOREVER), requests.to_owned()));
            log.epoch.clone()
        }))
    }

    async fn leased_requests(
        &self,
        session: &str,
        stream: StreamId,
    ) -> Result<Option<String>, StateError> {
        let found = self.inner.with_existing(session, Instant::now(), |log| {
            let st = log.streams.get(&stream)?;
            st.lease.as_ref().map(|(_, r)| r.clone())
        });
        Ok(found.flatten())
    }

    async fn orphans(&self, session: &str) -> Result<Vec<(StreamId, String)>, StateError> {
        let now = Instant::now();
        let found = self.inner.with_existing(session, now, |log| {
            log.streams
                .iter()
                .filter(|(_, st)| st.orphaned(now))
                .filter_map(|(id, st)| st.lease.as_ref().map(|(_, r)| (*id, r.clone())))
                .collect()
        });
        Ok(found.unwrap_or_default())
    }

    async fn reap(
        &self,
        session: &str,
        stream: StreamId,
        finals: &[String],
    ) -> Result<bool, StateError> {
        let inner = &*self.inner;
        let now = Instant::now();
        let reaped = inner.with_existing(session, now, |log| {
            let Some(st) = log.streams.get_mut(&stream) else {
                return false;
            };
            if !st.orphaned(now) {
                return false;
            }
            for data in finals {
                st.push(data, inner.max_len);
            }
            st.closed_at = Some(now);
            true
        });
        Ok(reaped.unwrap_or(false))
    }
}
