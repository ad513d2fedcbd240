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
    Bus, Delivery, EventLog, Replay, ReplayError, SessionPatch, SessionRecord, SessionStore,
    StateError, Subscription, contract,
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

/// Burns a position on every third append: positions 1, 2, 4, …
#[derive(Clone)]
struct SkippingLog {
    inner: MemoryEventLog,
    appends: Arc<AtomicU64>,
}

#[async_trait]
impl EventLog for SkippingLog {
    async fn epoch(&self) -> Result<String, StateError> {
        self.inner.epoch().await
    }
    async fn append(
        &self,
        session: &str,
        stream: StreamId,
        data: &str,
    ) -> Result<EventId, StateError> {
        if self.appends.fetch_add(1, Ordering::Relaxed) % 3 == 2 {
            self.inner.append(session, stream, "burnt").await?;
        }
        self.inner.append(session, stream, data).await
    }
    async fn close(&self, session: &str, stream: StreamId) -> Result<(), StateError> {
        self.inner.close(session, stream).await
    }
    async fn read_after(&self, session: &str, after: &EventId) -> Result<Replay, ReplayError> {
        self.inner.read_after(session, after).await
    }
    async fn remove_session(&self, session: &str) -> Result<(), StateError> {
        self.inner.remove_session(session).await
    }
}

#[tokio::test]
async fn a_log_that_skips_a_position_fails() {
    must_fail(
        contract::event_log(|max_len| async move {
            let log = SkippingLog {
                inner: MemoryEventLog::new(max_len),
                appends: Arc::default(),
            };
            (log.clone(), log)
        }),
        "must assign position",
    )
    .await;
}

/// Answers a resume of an unknown stream with an empty replay instead of `Gone`.
#[derive(Clone)]
struct ForgivingLog(MemoryEventLog);

#[async_trait]
impl EventLog for ForgivingLog {
    async fn epoch(&self) -> Result<String, StateError> {
        self.0.epoch().await
    }
    async fn append(
        &self,
        session: &str,
        stream: StreamId,
        data: &str,
    ) -> Result<EventId, StateError> {
        self.0.append(session, stream, data).await
    }
    async fn close(&self, session: &str, stream: StreamId) -> Result<(), StateError> {
        self.0.close(session, stream).await
    }
    async fn read_after(&self, session: &str, after: &EventId) -> Result<Replay, ReplayError> {
        match self.0.read_after(session, after).await {
            Err(ReplayError::Gone) if after.epoch == self.0.current_epoch() => Ok(Replay {
                events: vec![],
                closed: false,
            }),
            r => r,
        }
    }
    async fn remove_session(&self, session: &str) -> Result<(), StateError> {
        self.0.remove_session(session).await
    }
}

#[tokio::test]
async fn a_log_that_replays_nothing_instead_of_gone_fails() {
    must_fail(
        contract::event_log(|max_len| async move {
            let log = ForgivingLog(MemoryEventLog::new(max_len));
            (log.clone(), log)
        }),
        "never an empty replay",
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
