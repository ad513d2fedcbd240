//! [`MemoryEventLog`]: per-stream event logs in a sharded map.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rand::Rng;
use rand::distr::Alphanumeric;
use switchyard_protocol::event_id::{EventId, StreamId};
use tokio::time::Instant;

use super::FOREVER;
use super::shards::Sharded;
use crate::{EventLog, Replay, ReplayError, StateError};

/// Length of a minted epoch: 12 alphanumerics, about 71 bits.
const EPOCH_LEN: usize = 12;

/// The event logs of every session, kept in this process.
///
/// - The epoch is minted at construction (12 random alphanumerics), so ids written before a
///   restart are [`ReplayError::Gone`] afterwards.
/// - Each stream keeps its last `max_len_per_stream` events; positions keep counting past
///   the trimmed ones.
/// - Without [`MemoryEventLog::with_idle_ttl`], streams live until
///   [`EventLog::remove_session`]. With it, a session none of whose streams was appended to,
///   closed or read for the TTL is dropped whole, and a closed stream is dropped one TTL
///   after it was closed. Use the session store's idle TTL (or longer): a session whose log
///   expired while the session lived would restart its positions at 1.
/// - `close` on a stream the log has not seen records it as empty and closed, so that a
///   resumption after its priming event ends at once instead of being `Gone`.
/// - `read_after` with a position past the last one written is `Gone`: this log never
///   issued that id.
/// - Appending to a closed stream is a caller error; the event is kept and the stream stays
///   closed.
///
/// A clone is another handle on the same logs.
#[derive(Clone)]
pub struct MemoryEventLog {
    inner: Arc<Inner>,
}

struct Inner {
    epoch: String,
    max_len: usize,
    idle_ttl: Option<Duration>,
    shards: Sharded<Shard>,
}

#[derive(Default)]
struct Shard {
    sessions: HashMap<String, SessionLog>,
    /// When `append` next sweeps this shard (only with an idle TTL).
    next_sweep: Option<Instant>,
}

struct SessionLog {
    streams: HashMap<StreamId, StreamLog>,
    /// The last append, close or read of any stream of the session.
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
}

impl StreamLog {
    /// The position of the oldest retained event (`last + 1` when none is retained).
    fn first(&self) -> u64 {
        self.last + 1 - self.events.len() as u64
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

    /// Runs `f` on the log of `session`, created if missing or expired, and marks the
    /// session touched. Sweeps the shard first if it is time to.
    fn with_session<R>(
        &self,
        shard: &mut Shard,
        session: &str,
        now: Instant,
        f: impl FnOnce(&mut SessionLog) -> R,
    ) -> R {
        if let Some(ttl) = self.idle_ttl
            && shard.next_sweep.is_none_or(|t| now >= t)
        {
            self.sweep(shard, now);
            shard.next_sweep = Some(now + ttl);
        }
        let fresh = || SessionLog {
            streams: HashMap::new(),
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
}

impl std::fmt::Debug for MemoryEventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryEventLog")
            .field("epoch", &self.inner.epoch)
            .field("max_len_per_stream", &self.inner.max_len)
            .field("idle_ttl", &self.inner.idle_ttl)
            .finish_non_exhaustive()
    }
}

impl MemoryEventLog {
    /// An empty log under a freshly minted epoch, keeping the last `max_len_per_stream`
    /// events of each stream (0 is treated as 1), with no idle TTL.
    pub fn new(max_len_per_stream: usize) -> Self {
        Self::build(max_len_per_stream, None)
    }

    fn build(max_len_per_stream: usize, idle_ttl: Option<Duration>) -> Self {
        let epoch = rand::rng()
            .sample_iter(Alphanumeric)
            .take(EPOCH_LEN)
            .map(char::from)
            .collect();
        Self {
            inner: Arc::new(Inner {
                epoch,
                max_len: max_len_per_stream.max(1),
                idle_ttl,
                shards: Sharded::new(),
            }),
        }
    }

    /// Like [`MemoryEventLog::new`], and drops a session none of whose streams was appended
    /// to, closed or read for `idle_ttl`, and a stream closed for `idle_ttl` (a TTL above ten
    /// years is treated as ten years).
    pub fn with_idle_ttl(max_len_per_stream: usize, idle_ttl: Duration) -> Self {
        Self::build(max_len_per_stream, Some(idle_ttl.min(FOREVER)))
    }

    /// The epoch this log was created under.
    pub fn current_epoch(&self) -> &str {
        &self.inner.epoch
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
    async fn epoch(&self) -> Result<String, StateError> {
        Ok(self.inner.epoch.clone())
    }

    async fn append(
        &self,
        session: &str,
        stream: StreamId,
        data: &str,
    ) -> Result<EventId, StateError> {
        let now = Instant::now();
        let data: Box<str> = data.into();
        let inner = &*self.inner;
        let seq = inner.with_session(&mut inner.shards.lock(session), session, now, |log| {
            let st = log.streams.entry(stream).or_default();
            if st.events.len() == inner.max_len {
                st.events.pop_front();
            }
            st.events.push_back(data);
            st.last += 1;
            st.last
        });
        Ok(EventId::new(inner.epoch.clone(), stream, seq))
    }

    async fn close(&self, session: &str, stream: StreamId) -> Result<(), StateError> {
        let now = Instant::now();
        let inner = &*self.inner;
        inner.with_session(&mut inner.shards.lock(session), session, now, |log| {
            let st = log.streams.entry(stream).or_default();
            st.closed_at.get_or_insert(now);
        });
        Ok(())
    }

    async fn read_after(&self, session: &str, after: &EventId) -> Result<Replay, ReplayError> {
        let inner = &*self.inner;
        if after.epoch != inner.epoch {
            return Err(ReplayError::Gone);
        }
        let now = Instant::now();
        let mut shard = inner.shards.lock(session);
        let Some(log) = shard.sessions.get_mut(session) else {
            return Err(ReplayError::Gone);
        };
        if inner.session_expired(log, now) {
            shard.sessions.remove(session);
            return Err(ReplayError::Gone);
        }
        let Some(st) = log.streams.get(&after.stream) else {
            return Err(ReplayError::Gone);
        };
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
                let id = EventId::new(inner.epoch.clone(), after.stream, seq);
                (id, String::from(&**data))
            })
            .collect();
        let closed = st.closed_at.is_some();
        log.touched = now;
        Ok(Replay { events, closed })
    }

    async fn remove_session(&self, session: &str) -> Result<(), StateError> {
        self.inner.shards.lock(session).sessions.remove(session);
        Ok(())
    }
}
