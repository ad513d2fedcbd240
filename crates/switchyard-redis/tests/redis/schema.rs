//! The key schema documented in the crate root is what Redis holds, and a raw `PUBLISH`
//! reaches subscribers.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use serde_json::json;
use switchyard_protocol::event_id::StreamId;
use switchyard_redis::{RedisOptions, RedisState};
use switchyard_state::{
    Bus, Delivery, EventLog, SessionPatch, SessionRecord, SessionStore, Transport,
};

use crate::support::RedisServer;

pub(crate) fn record(id: &str) -> SessionRecord {
    SessionRecord {
        id: id.to_owned(),
        principal: "anonymous".to_owned(),
        transport: Transport::StreamableHttp,
        protocol_version: "2025-11-25".to_owned(),
        client_info: json!({"name": "schema", "version": "1"}),
        client_capabilities: json!({}),
        initialized: false,
        log_level: None,
        subscriptions: BTreeSet::new(),
        created_at_ms: 1,
        get_stream: None,
        upstreams: Default::default(),
    }
}

/// The remaining TTL of a key in milliseconds, as redis-cli prints it.
fn pttl(server: &RedisServer, key: &str) -> i64 {
    server
        .cli(&["PTTL", key])
        .trim()
        .parse()
        .expect("PTTL prints a number")
}

#[tokio::test]
async fn keys_follow_the_documented_schema() {
    let server = RedisServer::start();
    let ttl = Duration::from_secs(100);
    let state = RedisState::connect(
        &server.url(),
        RedisOptions {
            idle_ttl: ttl,
            ..RedisOptions::default()
        },
    )
    .await
    .expect("connect");
    let id = "schema-1";
    state.sessions().create(record(id)).await.expect("create");
    state
        .sessions()
        .update(id, SessionPatch::Subscribe("file:///a".into()))
        .await
        .expect("update");
    assert_eq!(server.cli(&["TYPE", "sy:s:{schema-1}"]).trim(), "hash");
    assert_eq!(
        server.cli(&["HGET", "sy:s:{schema-1}", "principal"]).trim(),
        "anonymous"
    );
    assert_eq!(
        server
            .cli(&["HGET", "sy:s:{schema-1}", "sub:file:///a"])
            .trim(),
        "1"
    );
    let left = pttl(&server, "sy:s:{schema-1}");
    assert!(
        0 < left && left <= ttl.as_millis() as i64,
        "the session hash expires with the idle TTL, PTTL {left}"
    );

    let log = state.log();
    let first = log
        .append(id, StreamId::Request(7), "one")
        .await
        .expect("append");
    let second = log
        .append(id, StreamId::Request(7), "two")
        .await
        .expect("append");
    assert_eq!((first.seq, second.seq), (1, 2));
    assert_eq!(
        server.cli(&["HGET", "sy:l:{schema-1}", "e"]).trim(),
        first.epoch,
        "the log's epoch is field e of its meta hash"
    );
    assert_eq!(
        server.cli(&["XRANGE", "sy:l:{schema-1}:r7", "-", "+"]),
        "1-0\nd\none\n2-0\nd\ntwo\n",
        "events are stream entries <position>-0 with one field d"
    );
    assert_eq!(server.cli(&["HGET", "sy:l:{schema-1}", "n:r7"]).trim(), "2");
    log.lease(id, StreamId::Request(7), "[1]", Duration::from_secs(5))
        .await
        .expect("lease");
    assert_eq!(
        server.cli(&["HGET", "sy:l:{schema-1}", "q:r7"]).trim(),
        "[1]"
    );
    let lease = pttl(&server, "sy:l:{schema-1}:p:r7");
    assert!(
        0 < lease && lease <= 5000,
        "the lease key expires, PTTL {lease}"
    );
    log.close(id, StreamId::Request(7)).await.expect("close");
    assert_eq!(
        server.cli(&["EXISTS", "sy:l:{schema-1}:p:r7"]).trim(),
        "0",
        "close drops the lease"
    );
    let at = log
        .attach(id, StreamId::Request(8), "conn", 0)
        .await
        .expect("attach");
    assert_eq!(at.epoch, first.epoch);
    assert_eq!(
        server.cli(&["HMGET", "sy:l:{schema-1}", "os", "oo", "bc"]),
        "r8\nconn\n0\n",
        "the owner and the broadcast cursor are fields of the meta hash"
    );
    let seq = log.broadcast("b").await.expect("broadcast");
    assert_eq!(server.cli(&["GET", "sy:{b}:n"]).trim(), seq.to_string());
    assert_eq!(
        server.cli(&["XRANGE", "sy:{b}", "-", "+"]),
        format!("{seq}-0\nd\nb\n"),
        "broadcasts are entries <seq>-0 of sy:{{b}}"
    );
    assert_eq!(server.cli(&["HGET", "sy:l:{schema-1}", "c:r7"]).trim(), "1");
    for key in ["sy:l:{schema-1}", "sy:l:{schema-1}:r7"] {
        let left = pttl(&server, key);
        assert!(
            0 < left && left <= ttl.as_millis() as i64,
            "{key} expires with the idle TTL, PTTL {left}"
        );
    }

    let mut sub = state
        .bus()
        .subscribe("anonymous:schema-1")
        .await
        .expect("subscribe");
    assert_eq!(
        server
            .cli(&["PUBLISH", "sy:c:anonymous:schema-1", r#"{"t":"close"}"#])
            .trim(),
        "1",
        "the bus channel is sy:c:<principal>:<session>, with one subscriber connection"
    );
    let got = tokio::time::timeout(Duration::from_secs(5), sub.next()).await;
    assert_eq!(
        got,
        Ok(Some(Delivery::Message(Bytes::from_static(
            br#"{"t":"close"}"#
        )))),
        "a raw PUBLISH reaches the subscription"
    );

    log.remove_session(id).await.expect("remove_session");
    assert_eq!(
        server
            .cli(&["EXISTS", "sy:l:{schema-1}", "sy:l:{schema-1}:r7"])
            .trim(),
        "0",
        "remove_session deletes the meta hash and every stream"
    );
}

/// The commands `INFO commandstats` counted, as (name, calls).
fn command_counts(server: &RedisServer) -> Vec<(String, u64)> {
    server
        .cli(&["INFO", "commandstats"])
        .lines()
        .filter_map(|l| {
            let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = rest
                .strip_prefix("calls=")?
                .split(',')
                .next()?
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .collect()
}

/// A node that has a session's record cached reads only its version: one `HGET` (no
/// `HGETALL`, no `PEXPIRE` until a quarter of the TTL has passed, no script, no pool `PING`).
#[tokio::test]
async fn a_cached_session_read_is_one_hget_of_the_version() {
    let server = RedisServer::start();
    // A fast heartbeat, so that the subscriber's own commands show up in the counts too.
    let options = RedisOptions {
        heartbeat: Duration::from_millis(5),
        ..RedisOptions::default()
    };
    let state = RedisState::connect(&server.url(), options)
        .await
        .expect("connect");
    let sessions = state.sessions();
    sessions.create(record("hot-1")).await.expect("create");
    sessions.get("hot-1").await.expect("warm-up get");
    server.cli(&["CONFIG", "RESETSTAT"]);
    for _ in 0..20 {
        assert!(sessions.get("hot-1").await.expect("get").is_some());
    }
    let counts = command_counts(&server);
    let calls = |name: &str| counts.iter().find(|(n, _)| n == name).map(|(_, c)| *c);
    assert_eq!(calls("hget"), Some(20), "{counts:?}");
    for (name, _) in &counts {
        assert!(
            ["hget", "info", "config|resetstat", "client|info"].contains(&name.as_str()),
            "a cached session read must run nothing but HGET v, saw {name}: {counts:?}"
        );
    }
}

/// A read that is not a cache hit (here: the cache turned off) still costs one round trip:
/// `HGETALL` with `PEXPIRE` in the same pipeline.
#[tokio::test]
async fn an_uncached_session_read_is_hgetall_and_pexpire_in_one_round_trip() {
    let server = RedisServer::start();
    let options = RedisOptions {
        session_cache: 0,
        ..RedisOptions::default()
    };
    let state = RedisState::connect(&server.url(), options)
        .await
        .expect("connect");
    let sessions = state.sessions();
    let rec = record("cold-1");
    sessions.create(rec.clone()).await.expect("create");
    sessions.get("cold-1").await.expect("warm-up get");
    server.cli(&["CONFIG", "RESETSTAT"]);
    for _ in 0..5 {
        let got = sessions.get("cold-1").await.expect("get").expect("found");
        assert_eq!(*got, rec);
    }
    let counts = command_counts(&server);
    let calls = |name: &str| counts.iter().find(|(n, _)| n == name).map(|(_, c)| *c);
    assert_eq!(calls("hgetall"), Some(5), "{counts:?}");
    assert_eq!(calls("pexpire"), Some(5), "{counts:?}");
    assert_eq!(calls("hget"), None, "{counts:?}");
}

/// A hash written before versions existed (no `v`) reads as version 0, every time in full.
#[tokio::test]
async fn a_session_hash_without_a_version_still_reads() {
    let server = RedisServer::start();
    let state = RedisState::connect(&server.url(), RedisOptions::default())
        .await
        .expect("connect");
    let sessions = state.sessions();
    let rec = record("old-1");
    sessions.create(rec.clone()).await.expect("create");
    server.cli(&["HDEL", "sy:s:{old-1}", "v"]);
    for _ in 0..3 {
        let got = sessions.get("old-1").await.expect("get").expect("found");
        assert_eq!(*got, rec);
    }
    server.cli(&["DEL", "sy:s:{old-1}"]);
    assert!(sessions.get("old-1").await.expect("get").is_none());
}
