//! A node with many more HTTP workers than the host has cores, on Redis: every worker serves
//! requests at once, none is refused for want of a connection, and the node never holds more
//! Redis connections than its configuration allows.

use std::sync::mpsc;
use std::time::Duration;

use futures::future::join_all;
use reqwest::StatusCode;
use switchyard_tests::{Node, RedisServer, run, switchyard_bin};

use crate::support::{client, echo, initialize};

/// `http.workers`: more than the 64 threads the old per-thread lanes could serve.
const WORKERS: usize = 96;
/// Concurrent requests per round, each on its own connection, so that actix-web's accept
/// loop hands them out over every worker (about ten each).
const CONCURRENT: usize = 960;
const ROUNDS: u64 = 3;
/// `redis.max_connections`, exactly what the node needs with `redis.connections = 1`: one
/// per worker, plus one for the main thread (which connects at start).
const BOUND: usize = WORKERS + 1;
/// Besides the command connections: the node's bus subscriber, and the sampler's own `INFO`.
const OTHERS: usize = 2;

/// Samples `connected_clients` every few milliseconds until told to stop; the largest value
/// seen and the last.
fn sample_clients(redis: &RedisServer, stop: mpsc::Receiver<()>) -> (usize, usize) {
    let mut max = 0;
    loop {
        let now: usize = redis.info("clients")["connected_clients"]
            .parse()
            .expect("connected_clients is a number");
        max = max.max(now);
        match stop.recv_timeout(Duration::from_millis(5)) {
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            _ => return (max, now),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ninety_six_workers_on_redis_serve_every_request_within_the_connection_bound() {
    let redis = RedisServer::start();
    let node = Node::builder("everything")
        .env("SWITCHYARD__REDIS__URL", redis.url())
        .env("SWITCHYARD__HTTP__WORKERS", WORKERS.to_string())
        .env("SWITCHYARD__REDIS__CONNECTIONS", "1")
        .env("SWITCHYARD__REDIS__MAX_CONNECTIONS", BOUND.to_string())
        .start();
    let http = client();
    let mcp = node.mcp_url();
    let session = initialize(&http, &mcp).await;

    let (stop, stopped) = mpsc::channel();
    let (max, last, statuses) = std::thread::scope(|scope| {
        let redis = &redis;
        let sampler = scope.spawn(move || sample_clients(redis, stopped));
        let statuses = tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(async {
                let mut statuses = Vec::new();
                for round in 0..ROUNDS {
                    let calls = (0..CONCURRENT as u64).map(|i| {
                        let id = round * CONCURRENT as u64 + i;
                        let (http, mcp, session) = (&http, &mcp, &session);
                        async move {
                            match echo(http, mcp, session, id).await {
                                Ok(r) => Ok(r.status()),
                                Err(e) => Err(e.to_string()),
                            }
                        }
                    });
                    statuses.extend(join_all(calls).await);
                }
                statuses
            })
        });
        let _ = stop.send(());
        let (max, last) = sampler.join().expect("the sampler");
        (max, last, statuses)
    });

    let total = statuses.len();
    let ok = statuses
        .iter()
        .filter(|s| matches!(s, Ok(StatusCode::OK)))
        .count();
    let unavailable = statuses
        .iter()
        .filter(|s| matches!(s, Ok(StatusCode::SERVICE_UNAVAILABLE)))
        .count();
    let failed: Vec<_> = statuses
        .iter()
        .filter(|s| !matches!(s, Ok(StatusCode::OK)))
        .take(5)
        .collect();
    println!(
        "{WORKERS} workers, {ROUNDS} rounds of {CONCURRENT} concurrent tools/call: {ok} ok, \
         {unavailable} 503; Redis clients at most {max}, at the end {last} \
         (bound {BOUND} + {OTHERS})"
    );
    assert_eq!(unavailable, 0, "no request may get 503: {failed:?}");
    assert_eq!(ok, total, "every request is answered 200: {failed:?}");
    assert!(
        max <= BOUND + OTHERS,
        "at most {BOUND} command connections (+ the subscriber and the sampler): {max} clients"
    );
    // Each worker opens its connection on its first request: this many at the end means the
    // requests did reach (nearly) every worker, so the bound above was tested under load.
    assert!(
        last >= WORKERS * 9 / 10 + OTHERS,
        "the requests should have reached every worker: only {last} Redis clients"
    );
    drop(node);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_workers_need_more_connections_than_allowed_refuses_to_start() {
    let redis = RedisServer::start();
    let mut serve = tokio::process::Command::new(switchyard_bin());
    serve
        .args(["serve", "--bind", "127.0.0.1:0", "--backend", "everything"])
        .env("SWITCHYARD__REDIS__URL", redis.url())
        .env("SWITCHYARD__HTTP__WORKERS", WORKERS.to_string())
        .env(
            "SWITCHYARD__REDIS__MAX_CONNECTIONS",
            (BOUND - 1).to_string(),
        );
    let done = run(serve, Duration::from_secs(30))
        .await
        .expect("run serve");
    assert!(
        !done.success() && !done.timed_out(),
        "the node must refuse to start: {done}"
    );
    assert!(
        !done.stdout.contains("listening on"),
        "it must not listen: {done}"
    );
    assert!(
        done.stderr.contains("redis.max_connections"),
        "the error names the bound: {done}"
    );
}
