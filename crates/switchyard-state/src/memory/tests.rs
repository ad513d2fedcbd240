//! What the in-memory implementations promise beyond the contract suite: sweeping, epochs,
//! exact trimming, the idle TTL of the log, and that the bus keeps no channel nobody uses.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use futures::{FutureExt, StreamExt};
use switchyard_protocol::event_id::{EventId, StreamId, is_valid_epoch};
use tokio::time::advance;

use super::{MemoryBus, MemoryEventLog, MemorySessionStore};
use crate::{
    Bus, Delivery, EventLog, ReplayError, SessionPatch, SessionRecord, SessionStore, Transport,
};

fn record(id: &str) -> SessionRecord {
    SessionRecord {
        id: id.to_owned(),
        principal: "anonymous".to_owned(),
        transport: Transport::StreamableHttp,
        protocol_version: "2025-11-25".to_owned(),
        client_info: serde_json::json!({}),
        client_capabilities: serde_json::json!({}),
        initialized: false,
        log_level: None,
        subscriptions: BTreeSet::new(),
        created_at_ms: 0,
        get_stream: None,
        upstreams: Default::default(),
    }
}

#[tokio::test(start_paused = true)]
async fn expired_sessions_are_swept_by_create() {
    let store = MemorySessionStore::new(Duration::from_secs(10));
    for i in 0..100 {
        store.create(record(&format!("old-{i}"))).await.unwrap();
    }
    assert_eq!((store.len(), store.stored()), (100, 100));
    advance(Duration::from_secs(11)).await;
    assert_eq!(
        (store.len(), store.stored()),
        (0, 100),
        "expired records are invisible at once"
    );
    // Each create sweeps its shard when a TTL has passed since that shard's last sweep, so
    // once every shard took a create (400 random keys miss one of 16 shards with
    // probability 16 × (15/16)^400 < 1e-10), nothing expired is left.
    for i in 0..400 {
        store.create(record(&format!("new-{i}"))).await.unwrap();
    }
    assert_eq!((store.len(), store.stored()), (400, 400));
}

#[tokio::test(start_paused = true)]
async fn sweep_reclaims_and_counts() {
    let store = MemorySessionStore::new(Duration::from_secs(10));
    store.create(record("a")).await.unwrap();
    store.create(record("b")).await.unwrap();
    advance(Duration::from_secs(6)).await;
    assert!(store.get("a").await.unwrap().is_some());
    advance(Duration::from_secs(6)).await;
    assert_eq!(store.sweep(), 1, "b expired, a was refreshed by get");
    assert_eq!((store.len(), store.stored()), (1, 1));
    assert!(!store.is_empty());
}

#[tokio::test(start_paused = true)]
async fn update_refreshes_the_ttl() {
    let store = MemorySessionStore::new(Duration::from_secs(10));
    store.create(record("a")).await.unwrap();
    for _ in 0..3 {
        advance(Duration::from_secs(8)).await;
        assert!(store.update("a", SessionPatch::Initialized).await.unwrap());
    }
    advance(Duration::from_secs(8)).await;
    assert!(store.get("a").await.unwrap().is_some_and(|r| r.initialized));
    advance(Duration::from_secs(10)).await;
    assert_eq!(store.get("a").await.unwrap(), None);
}

#[tokio::test]
async fn each_log_mints_its_own_epoch() {
    let (one, two) = (MemoryEventLog::new(8), MemoryEventLog::new(8));
    let id = one.append("s", StreamId::Get, "x").await.unwrap();
    let e1 = id.epoch.clone();
    assert!(is_valid_epoch(&e1) && e1.len() >= 8, "{e1}");
    two.append("s", StreamId::Get, "x").await.unwrap();
    assert_ne!(Some(e1.clone()), two.epoch_of("s"));
    assert_eq!(Some(e1), one.epoch_of("s"));
    assert_eq!(
        two.read_after("s", &EventId::new(id.epoch, StreamId::Get, 0))
            .await,
        Err(ReplayError::Gone)
    );
}

#[tokio::test]
async fn trimming_is_exact() {
    let log = MemoryEventLog::new(3);
    for _ in 0..5 {
        log.append("s", StreamId::Request(1), "x").await.unwrap();
    }
    let epoch = log.epoch_of("s").unwrap();
    let at = |seq| EventId::new(epoch.as_str(), StreamId::Request(1), seq);
    for seq in [0, 1] {
        assert_eq!(
            log.read_after("s", &at(seq)).await,
            Err(ReplayError::Gone),
            "{seq}"
        );
    }
    for seq in 2..=5 {
        assert_eq!(
            log.read_after("s", &at(seq)).await.unwrap().events.len(),
            5 - seq as usize
        );
    }
    assert_eq!(
        log.read_after("s", &at(6)).await,
        Err(ReplayError::Gone),
        "never issued"
    );
    let tiny = MemoryEventLog::new(0);
    tiny.append("s", StreamId::Get, "a").await.unwrap();
    tiny.append("s", StreamId::Get, "b").await.unwrap();
    let replay = tiny
        .read_after(
            "s",
            &EventId::new(tiny.epoch_of("s").unwrap(), StreamId::Get, 1),
        )
        .await
        .unwrap();
    assert_eq!(replay.events.len(), 1, "max_len 0 keeps one event");
}

#[tokio::test]
async fn closing_an_unseen_stream_makes_it_empty_and_closed() {
    let log = MemoryEventLog::new(8);
    log.close("s", StreamId::Request(4)).await.unwrap();
    let replay = log
        .read_after(
            "s",
            &EventId::new(log.epoch_of("s").unwrap(), StreamId::Request(4), 0),
        )
        .await
        .unwrap();
    assert!(replay.events.is_empty() && replay.closed);
}

#[tokio::test(start_paused = true)]
async fn the_log_idle_ttl_drops_idle_sessions_and_old_closed_streams() {
    let ttl = Duration::from_secs(10);
    let log = MemoryEventLog::with_idle_ttl(8, ttl);
    let idle = log.append("idle", StreamId::Get, "x").await.unwrap().epoch;
    let busy = log.append("busy", StreamId::Get, "x").await.unwrap().epoch;
    let at = |epoch: &String, stream, seq| EventId::new(epoch.as_str(), stream, seq);
    log.append("busy", StreamId::Request(1), "x").await.unwrap();
    log.close("busy", StreamId::Request(1)).await.unwrap();
    for _ in 0..3 {
        advance(ttl / 2).await;
        log.append("busy", StreamId::Get, "y").await.unwrap();
    }
    assert_eq!(
        log.read_after("idle", &at(&idle, StreamId::Get, 0)).await,
        Err(ReplayError::Gone)
    );
    assert_eq!(
        log.read_after("busy", &at(&busy, StreamId::Request(1), 0))
            .await,
        Err(ReplayError::Gone)
    );
    assert_eq!(
        log.read_after("busy", &at(&busy, StreamId::Get, 0))
            .await
            .unwrap()
            .events
            .len(),
        4
    );
    assert_eq!(
        log.stream_count(),
        1,
        "expired sessions and streams are dropped when read"
    );

    let plain = MemoryEventLog::new(8);
    plain.append("s", StreamId::Get, "x").await.unwrap();
    advance(Duration::from_secs(3600)).await;
    assert!(
        plain
            .read_after(
                "s",
                &EventId::new(plain.epoch_of("s").unwrap(), StreamId::Get, 0)
            )
            .await
            .is_ok(),
        "no TTL: kept"
    );
}

#[tokio::test(start_paused = true)]
async fn the_log_sweeps_expired_sessions_on_append() {
    let log = MemoryEventLog::with_idle_ttl(8, Duration::from_secs(10));
    for i in 0..100 {
        log.append(&format!("old-{i}"), StreamId::Get, "x")
            .await
            .unwrap();
    }
    advance(Duration::from_secs(11)).await;
    assert_eq!(log.stream_count(), 100, "not yet swept");
    // As for sessions: 400 random keys reach every one of the 16 shards.
    for i in 0..400 {
        log.append(&format!("new-{i}"), StreamId::Get, "x")
            .await
            .unwrap();
    }
    assert_eq!(log.stream_count(), 400);
}

#[tokio::test]
async fn a_channel_lives_only_while_subscribed() {
    let bus = MemoryBus::new(4);
    bus.publish("nobody", Bytes::from_static(b"x"))
        .await
        .unwrap();
    assert_eq!(bus.channel_count(), 0, "publishing creates no channel");
    let one = bus.subscribe("c").await.unwrap();
    let mut two = bus.subscribe("c").await.unwrap();
    let other = bus.subscribe("d").await.unwrap();
    assert_eq!(bus.channel_count(), 2);
    drop(one);
    assert_eq!(bus.channel_count(), 2);
    // Dropped while waiting for a payload.
    assert!(two.next().now_or_never().is_none());
    drop(two);
    assert_eq!(bus.channel_count(), 1);
    drop(other);
    assert_eq!(bus.channel_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_drops_leave_no_channel() {
    let bus = MemoryBus::new(4);
    for _ in 0..200 {
        let subs = [
            bus.subscribe("c").await.unwrap(),
            bus.subscribe("c").await.unwrap(),
        ];
        let drops = subs.map(|s| tokio::spawn(async move { drop(s) }));
        for d in drops {
            d.await.unwrap();
        }
        assert_eq!(bus.channel_count(), 0);
    }
}

#[tokio::test]
async fn dropping_the_bus_ends_subscriptions_after_draining() {
    let bus = MemoryBus::new(0);
    let mut sub = bus.subscribe("c").await.unwrap();
    bus.publish("c", Bytes::from_static(b"last")).await.unwrap();
    drop(bus);
    assert_eq!(
        sub.next().await,
        Some(Delivery::Message(Bytes::from_static(b"last")))
    );
    assert_eq!(sub.next().await, None);
}
