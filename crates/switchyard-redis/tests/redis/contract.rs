//! The generic contract suite of `switchyard-state`, with two nodes (two independent
//! `RedisState`s) on one server, and on a cluster.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use switchyard_redis::RedisOptions;
use switchyard_state::{Bus, Delivery, contract};

use crate::support::{RedisCluster, RedisServer, two_nodes};

/// Options for the suite: a short operation timeout, so a hang fails fast.
fn options() -> RedisOptions {
    RedisOptions {
        timeout: Duration::from_secs(5),
        ..RedisOptions::default()
    }
}

async fn session_store(url: &str) {
    contract::session_store(|ttl| async move {
        let (a, b) = two_nodes(
            url,
            RedisOptions {
                idle_ttl: ttl,
                ..options()
            },
        )
        .await;
        (a.sessions().clone(), b.sessions().clone())
    })
    .await;
}

async fn event_log(url: &str) {
    contract::event_log(|max_len| async move {
        let (a, b) = two_nodes(
            url,
            RedisOptions {
                max_len_per_stream: max_len,
                ..options()
            },
        )
        .await;
        (a.log().clone(), b.log().clone())
    })
    .await;
}

async fn bus(url: &str) {
    contract::bus(|capacity| async move {
        let (a, b) = two_nodes(
            url,
            RedisOptions {
                bus_capacity: capacity,
                ..options()
            },
        )
        .await;
        (a.bus().clone(), b.bus().clone())
    })
    .await;
}

#[tokio::test]
async fn single_server_session_store() {
    let server = RedisServer::start();
    session_store(&server.url()).await;
}

#[tokio::test]
async fn single_server_event_log() {
    let server = RedisServer::start();
    event_log(&server.url()).await;
}

#[tokio::test]
async fn single_server_bus() {
    let server = RedisServer::start();
    bus(&server.url()).await;
}

#[tokio::test]
async fn cluster_session_store() {
    let cluster = RedisCluster::start();
    session_store(&cluster.url()).await;
}

#[tokio::test]
async fn cluster_event_log() {
    let cluster = RedisCluster::start();
    event_log(&cluster.url()).await;
}

#[tokio::test]
async fn cluster_bus() {
    let cluster = RedisCluster::start();
    bus(&cluster.url()).await;
}

#[tokio::test]
async fn cluster_bus_uses_sharded_pub_sub() {
    let cluster = RedisCluster::start();
    let (a, b) = two_nodes(&cluster.url(), options()).await;
    let mut sub = a.bus().subscribe("shard:x").await.expect("subscribe");
    let sharded: Vec<String> = cluster.cli_all(&["PUBSUB", "SHARDCHANNELS"]);
    assert_eq!(
        sharded
            .iter()
            .filter(|out| out.lines().any(|l| l == "sy:c:shard:x"))
            .count(),
        1,
        "the channel is a sharded channel on exactly one master: {sharded:?}"
    );
    assert!(
        cluster
            .cli_all(&["PUBSUB", "CHANNELS"])
            .iter()
            .all(|out| out.trim().is_empty()),
        "no plain channel is used on a cluster"
    );
    b.bus()
        .publish("shard:x", Bytes::from_static(b"hello"))
        .await
        .expect("publish");
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), sub.next()).await,
        Ok(Some(Delivery::Message(Bytes::from_static(b"hello"))))
    );
}
