//! The contract suite rejects implementations that break a clause: each test wraps a memory
//! implementation with one deliberate bug and checks that the suite panics, for that clause.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::{FutureExt, StreamExt};
use switchyard_protocol::event_id::{EventId, StreamId};
use switchyard_state::memory::{MemoryBus, MemoryEventLog, MemorySessionStore};
use switchyard_state::{
    Attachment, Bus, Delivery, EventLog, Owned, Replay, ReplayError, SessionPatch, SessionRecord,
    SessionStore, StateError, Subscription, UpstreamSession, UpstreamSwap, contract,
};

/// Runs a suite that must fail, and checks that its panic message contains `clause`.
async fn must_fail(suite: impl Future<Output = ()>, clause: &str) {
    let Err(payload) = AssertUnwindSafe(suite).catch_unwind().await else {
        panic!("the contract suite passed an implementation that breaks: {clause}");
    };
    let msg = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(
        msg.contains(clause),
        "the suite failed, but not on {clause:?}: {msg}"
    );
}

/// One deliberate bug of an event log.
#[derive(Clone, Copy, PartialEq)]
enum LogFault {
    /// Burns a position on every third append: positions 1, 2, 4, …
    SkipsPositions,
    /// Answers a resume of an unknown stream with an empty replay instead of `Gone`.
    ReplaysNothing,
    /// Lets any attachment append, owner or not.
    IgnoresOwner,
    /// Appends a broadcast whatever the session's cursor says.
    RepeatsBroadcasts,
    /// Ends any open stream, lease or no lease.
    ReapsLiveStreams,
}

/// A memory log with one [`LogFault`].
#[derive(Clone)]
struct FaultyLog {
    inner: MemoryEventLog,
    fault: LogFault,
    appends: Arc<AtomicU64>,
}

impl FaultyLog {
    fn new(max_len: usize, fault: LogFault) -> Self {
        Self {
            inner: MemoryEventLog::new(max_len),
            fault,
            appends: Arc::default(),
        }
    }
}

#[async_trait]
impl EventLog for FaultyLog {
    async fn append(
        &self,
        session: &str,
        stream: StreamId,
        data: &str,
    ) -> Result<EventId, StateError> {
        if self.fault == LogFault::SkipsPositions
            && self.appends.fetch_add(1, Ordering::Relaxed) % 3 == 2
        {
            self.inner.append(session, stream, "burnt").await?;
        }
        self.inner.append(session, stream, data).await
    }
    async fn close(&self, session: &str, stream: StreamId) -> Result<(), StateError> {
        self.inner.close(session, stream).await
    }
    async fn read_after(&self, session: &str, after: &EventId) -> Result<Replay, ReplayError> {
        match self.inner.read_after(session, after).await {
            Err(ReplayError::Gone) if self.fault == LogFault::ReplaysNothing => {
                Ok(Replay::open(vec![]))
            }
            r => r,
        }
    }
    async fn remove_session(&self, session: &str) -> Result<(), StateError> {
        self.inner.remove_session(session).await
    }
    async fn attach(
        &self,
        session: &str,
        stream: StreamId,
        owner: &str,
        head: u64,
    ) -> Result<Attachment, StateError> {
        self.inner.attach(session, stream, owner, head).await
    }
    async fn append_owned(
        &self,
        session: &str,
        stream: StreamId,
        owner: &str,
        broadcast: Option<u64>,
        data: Option<&str>,
    ) -> Result<Owned, StateError> {
        let bypass = match self.fault {
            LogFault::IgnoresOwner => broadcast.is_none(),
            LogFault::RepeatsBroadcasts => broadcast.is_some(),
            _ => false,
        };
        match (bypass, data) {
            (true, Some(d)) => Ok(Owned::Appended(
                self.inner.append(session, stream, d).await?,
            )),
            _ => {
                self.inner
                    .append_owned(session, stream, owner, broadcast, data)
                    .await
            }
        }
    }
    async fn broadcast(&self, data: &str) -> Result<u64, StateError> {
        self.inner.broadcast(data).await
    }
    async fn broadcast_head(&self) -> Result<u64, StateError> {
        self.inner.broadcast_head().await
    }
    async fn broadcasts_after(&self, seq: u64) -> Result<Vec<(u64, String)>, StateError> {
        self.inner.broadcasts_after(seq).await
    }
    async fn lease(
        &self,
        session: &str,
        stream: StreamId,
        requests: &str,
        ttl: Duration,
    ) -> Result<String, StateError> {
        self.inner.lease(session, stream, requests, ttl).await
    }
    async fn leased_requests(
        &self,
        session: &str,
        stream: StreamId,
    ) -> Result<Option<String>, StateError> {
        self.inner.leased_requests(session, stream).await
    }
    async fn orphans(&self, session: &str) -> Result<Vec<(StreamId, String)>, StateError> {
        self.inner.orphans(session).await
    }
    async fn reap(
        &self,
        session: &str,
        stream: StreamId,
        finals: &[String],
    ) -> Result<bool, StateError> {
        if self.fault == LogFault::ReapsLiveStreams {
            let epoch = self.inner.epoch_of(session).unwrap_or_default();
            let start = EventId::new(epoch, stream, 0);
            if let Ok(r) = self.inner.read_after(session, &start).await
                && !r.closed
            {
                for f in finals {
                    self.inner.append(session, stream, f).await?;
                }
                self.inner.close(session, stream).await?;
                return Ok(true);
            }
        }
        self.inner.reap(session, stream, finals).await
    }
}

async fn log_must_fail(fault: LogFault, clause: &str) {
    must_fail(
        contract::event_log(|max_len| async move {
            let log = FaultyLog::new(max_len, fault);
            (log.clone(), log)
        }),
        clause,
    )
    .await;
}

#[tokio::test]
async fn a_log_that_skips_a_position_fails() {
    log_must_fail(LogFault::SkipsPositions, "must assign position").await;
}

#[tokio::test]
async fn a_log_that_replays_nothing_instead_of_gone_fails() {
    log_must_fail(LogFault::ReplaysNothing, "never an empty replay").await;
}

#[tokio::test]
async fn a_log_that_lets_a_superseded_attachment_append_fails() {
    log_must_fail(
        LogFault::IgnoresOwner,
        "a superseded attachment must not append",
    )
    .await;
}

#[tokio::test]
async fn a_log_that_appends_a_broadcast_twice_fails() {
    log_must_fail(LogFault::RepeatsBroadcasts, "must not be appended").await;
}

#[tokio::test]
async fn a_log_that_reaps_a_live_stream_fails() {
    log_must_fail(
        LogFault::ReapsLiveStreams,
        "must not end a stream whose lease stands",
    )
    .await;
}

/// Says it deleted a session but keeps it.
#[derive(Clone)]
struct UndeletableStore(MemorySessionStore);

#[async_trait]
impl SessionStore for UndeletableStore {
    async fn create(&self, record: SessionRecord) -> Result<(), StateError> {
        self.0.create(record).await
    }
    async fn get(&self, id: &str) -> Result<Option<Arc<SessionRecord>>, StateError> {
        self.0.get(id).await
    }
    async fn update(&self, id: &str, patch: SessionPatch) -> Result<bool, StateError> {
        self.0.update(id, patch).await
    }
    async fn delete(&self, id: &str) -> Result<bool, StateError> {
        Ok(self.0.get(id).await?.is_some())
    }
    async fn swap_upstream(
        &self,
        id: &str,
        upstream: &str,
        expected: Option<&UpstreamSession>,
        new: Option<&UpstreamSession>,
    ) -> Result<UpstreamSwap, StateError> {
        self.0.swap_upstream(id, upstream, expected, new).await
    }
}

#[tokio::test]
async fn a_store_that_does_not_delete_fails() {
    must_fail(
        contract::session_store(|ttl| async move {
            let store = UndeletableStore(MemorySessionStore::new(ttl));
            (store.clone(), store)
        }),
        "after delete, get on every node must be None",
    )
    .await;
}

/// Hands out sessions that never expire, whatever TTL it is asked for.
#[tokio::test]
async fn a_store_without_ttl_fails() {
    must_fail(
        contract::session_store(|_ttl| async move {
            let store = MemorySessionStore::new(Duration::from_secs(3600));
            (store.clone(), store)
        }),
        "idle for longer than its TTL",
    )
    .await;
}

/// Silently drops every seventh publish.
#[derive(Clone)]
struct LossyBus {
    inner: MemoryBus,
    publishes: Arc<AtomicU64>,
}

#[async_trait]
impl Bus for LossyBus {
    async fn publish(&self, channel: &str, payload: Bytes) -> Result<(), StateError> {
        if self.publishes.fetch_add(1, Ordering::Relaxed) % 7 == 6 {
            return Ok(());
        }
        self.inner.publish(channel, payload).await
    }
    async fn subscribe(&self, channel: &str) -> Result<Subscription, StateError> {
        self.inner.subscribe(channel).await
    }
}

#[tokio::test]
async fn a_bus_that_loses_payloads_fails() {
    must_fail(
        contract::bus(|capacity| async move {
            let bus = LossyBus {
                inner: MemoryBus::new(capacity),
                publishes: Arc::default(),
            };
            (bus.clone(), bus)
        }),
        "contract:",
    )
    .await;
}

/// Hides `Gap`s: a lagging subscriber misses payloads silently.
#[derive(Clone)]
struct GaplessBus(MemoryBus);

#[async_trait]
impl Bus for GaplessBus {
    async fn publish(&self, channel: &str, payload: Bytes) -> Result<(), StateError> {
        self.0.publish(channel, payload).await
    }
    async fn subscribe(&self, channel: &str) -> Result<Subscription, StateError> {
        let sub = self.0.subscribe(channel).await?;
        Ok(Subscription::new(
            sub.filter(|d| std::future::ready(*d != Delivery::Gap)),
        ))
    }
}

#[tokio::test]
async fn a_bus_that_hides_gaps_fails() {
    must_fail(
        contract::bus(|capacity| async move {
            let bus = GaplessBus(MemoryBus::new(capacity));
            (bus.clone(), bus)
        }),
        "without a Gap",
    )
    .await;
}
