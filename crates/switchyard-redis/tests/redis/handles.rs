//! Handles ([`RedisState::worker`]): each keeps its own command connections, made on the
//! runtime that uses it, within the shared pool's bound; they close when the handle goes,
//! and a connection that broke under one handle is forgotten by the others.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use switchyard_protocol::event_id::StreamId;
use switchyard_redis::{RedisOptions, RedisState};
use switchyard_state::{EventLog, SessionStore};
use tokio::sync::Barrier;
use tokio::time::Instant;

use crate::support::{RedisServer, wait_until};

/// Command connections open on `server`: every client but the bus's subscriber connection
/// and the `redis-cli` asking.
fn command_connections(server: &RedisServer) -> usize {
    let clients: usize = server
        .cli(&["INFO", "clients"])
        .lines()
        .find_map(|l| l.strip_prefix("connected_clients:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("INFO clients has connected_clients");
    clients - 2
}

const WORKERS: usize = 3;
const LANES: usize = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_handles_keep_their_own_connections_and_close_them_when_dropped() {
    let server = RedisServer::start();
    let options = RedisOptions {
        connections: LANES,
        max_connections: (WORKERS + 1) * LANES,
        ..RedisOptions::default()
    };
    let state = RedisState::connect(&server.url(), options)
        .await
        .expect("connect");
    // `connect` read the eviction policy on one lane of its own handle.
    assert_eq!(command_connections(&server), 1);

    // Like actix-web's workers: one thread and one single-threaded runtime each, with a
    // handle created there. Each keeps its handle until the test has counted, drops it,
    // and keeps its runtime running until the test has counted again (the barriers are
    // awaited, so the runtimes go on driving their connections meanwhile).
    let ready = Arc::new(Barrier::new(WORKERS + 1));
    let counted = Arc::new(Barrier::new(WORKERS + 1));
    let dropped = Arc::new(Barrier::new(WORKERS + 1));
    let counted_again = Arc::new(Barrier::new(WORKERS + 1));
    let threads: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (state, ready, counted, dropped, counted_again) = (
                state.clone(),
                Arc::clone(&ready),
                Arc::clone(&counted),
                Arc::clone(&dropped),
                Arc::clone(&counted_again),
            );
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime");
                rt.block_on(async {
                    let handle = state.worker();
                    let calls = (0..40).map(|i| {
                        let handle = &handle;
                        async move {
                            let session = format!("handles-{w}-{i}");
                            handle.sessions().get(&session).await.map(drop)?;
                            handle
                                .log()
                                .append(&session, StreamId::Get, "x")
                                .await
                                .map(drop)
                        }
                    });
                    for r in join_all(calls).await {
                        r.expect("a call on a worker's handle");
                    }
                    ready.wait().await;
                    counted.wait().await;
                    drop(handle);
                    dropped.wait().await;
                    counted_again.wait().await;
                });
            })
        })
        .collect();

    // Forty concurrent calls per worker went round both of its lanes.
    ready.wait().await;
    assert_eq!(
        command_connections(&server),
        1 + WORKERS * LANES,
        "each worker's handle keeps {LANES} connections"
    );
    counted.wait().await;
    dropped.wait().await;
    // The workers' runtimes still run (a connection given back to the pool would stay open
    // on them), but the handles are gone: so are their connections.
    wait_until(
        "the dropped handles' connections close",
        Duration::from_secs(10),
        || command_connections(&server) == 1,
    );
    counted_again.wait().await;
    for t in threads {
        t.join().expect("a worker thread");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_broken_under_one_handle_is_forgotten_by_every_handle() {
    let mut server = RedisServer::start();
    let options = RedisOptions {
        timeout: Duration::from_secs(1),
        ..RedisOptions::default()
    };
    // `connect`'s handle took its connection first (reading the eviction policy), the
    // worker's second: the worker's failing forgets both (made no later than it).
    let state = RedisState::connect(&server.url(), options)
        .await
        .expect("connect");
    let worker = state.worker();
    worker.sessions().get("s").await.expect("warm the worker");
    state
        .sessions()
        .get("s")
        .await
        .expect("warm the first handle");

    server.kill();
    server.restart();
    let end = Instant::now() + Duration::from_secs(10);
    let mut failures = 0;
    while let Err(e) = worker.sessions().get("s").await {
        failures += 1;
        assert!(Instant::now() < end, "the worker's handle still fails: {e}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        failures >= 1,
        "the worker's connection broke with the restart: its first call must fail"
    );
    state.sessions().get("s").await.expect(
        "the first handle's first call after the restart works: it forgot its broken connection",
    );
}
