//! The hot-path budget: a POST `tools/call` in an existing session costs one Redis round
//! trip before the backend is called, counted with `INFO commandstats` deltas.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use serde_json::Value;
use switchyard_tests::{Cluster, RedisServer};

use crate::support::{client, echo, initialize, node_of};

const CALLS: u64 = 200;

/// What Redis counted: every command's calls, and the read events it processed (one per
/// batch of commands a client sent together: the round trips, near enough).
fn snapshot(redis: &RedisServer) -> (BTreeMap<String, u64>, u64) {
    let reads = redis.info("stats")["total_reads_processed"]
        .parse()
        .expect("total_reads_processed is a number");
    (redis.command_counts(), reads)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_in_a_session_costs_one_round_trip_before_the_backend() {
    let cluster = Cluster::start(3, "everything");
    let http = client();
    // One node, straight: the counts are that node's requests (plus the idle nodes'
    // subscriber heartbeats, which do not grow with the calls).
    let url = format!("{}/mcp", cluster.node_url(0));
    let session = initialize(&http, &url).await;
    for id in 0..5 {
        let r = echo(&http, &url, &session, 1000 + id)
            .await
            .expect("warm-up");
        assert_eq!(r.status(), StatusCode::OK, "{r:?}");
    }

    let (before, reads_before) = snapshot(cluster.redis());
    for id in 0..CALLS {
        let r = echo(&http, &url, &session, id).await.expect("tools/call");
        assert_eq!(r.status(), StatusCode::OK, "{r:?}");
        assert_eq!(node_of(&r), cluster.node_id(0));
        let json = r
            .headers()
            .get(CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        assert!(json, "expected a JSON answer: {r:?}");
        let body: Value = r.json().await.expect("a JSON-RPC response");
        assert_eq!(body["id"], id, "{body}");
        assert!(body["result"]["content"].is_array(), "{body}");
    }
    let (after, reads_after) = snapshot(cluster.redis());

    let delta: BTreeMap<&str, u64> = after
        .iter()
        .map(|(name, n)| (name.as_str(), n - before.get(name).copied().unwrap_or(0)))
        .filter(|(_, d)| *d > 0)
        .collect();
    let reads = reads_after - reads_before;
    let per_call: Vec<String> = delta
        .iter()
        .map(|(name, d)| format!("{name} {:.2}", *d as f64 / CALLS as f64))
        .collect();
    println!(
        "cluster budget: {CALLS} tools/call (JSON) in one session on one node; per call: {}; \
         read events {:.2}/call; raw deltas {delta:?}, {reads} reads",
        per_call.join(", "),
        reads as f64 / CALLS as f64,
    );

    let calls = |name: &str| delta.get(name).copied().unwrap_or(0);
    assert_eq!(
        calls("hget"),
        CALLS,
        "one session read per call, of the cached session's version only: {delta:?}"
    );
    assert_eq!(
        calls("hgetall"),
        0,
        "the cached record is not read again while its version stands: {delta:?}"
    );
    // Background work that does not grow with the calls: the subscriber heartbeats of three
    // nodes and our own INFO.
    let background = ["client|info", "info", "ping"];
    let per_request: Vec<(&str, u64)> = delta
        .iter()
        .filter(|(name, d)| !background.contains(name) && **d >= CALLS / 2)
        .map(|(name, d)| (*name, *d))
        .collect();
    assert_eq!(
        per_request,
        vec![("hget", CALLS)],
        "the only per-call command is HGET of the session's version"
    );
    // One read event per call for the pipeline (plus a little background); a second round
    // trip per call would double it.
    assert!(
        reads < CALLS * 3 / 2,
        "{reads} read events for {CALLS} calls: more than one round trip per call"
    );
}
