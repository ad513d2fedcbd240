//! Three nodes on one Redis behind nginx, scraped by a real Prometheus: after a scripted
//! workload, PromQL over the scraped series (summed over the fleet) returns exactly what the
//! workload did.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use switchyard_tests::{Cluster, Prometheus, Signal, SseReader};

use crate::support::{STEP, call, client, get_stream, initialize, post, push};

/// How long the fleet's series may take to show what was done (scraped every second).
const SETTLE: Duration = Duration::from_secs(30);

const SESSIONS: u64 = 6;
const CALLS: u64 = 5;
const PINGS: u64 = 2;
const UNKNOWN: u64 = 4;
const PUSHES: u64 = 5;
const GONE: u64 = 2;
const DELETED: u64 = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_counts_what_a_workload_did_across_three_nodes() {
    let mut cluster = Cluster::start(3, "demo");
    let targets: Vec<SocketAddr> = (0..3).map(|i| cluster.node(i).addr()).collect();
    let prom = Prometheus::start(&targets).await.expect("prometheus");
    prom.wait_for("count(up{job=\"switchyard\"} == 1)", 3.0, SETTLE)
        .await
        .expect("every node scraped");

    let http = client();
    let mcp = cluster.mcp_url();
    let mut sessions = Vec::new();
    for _ in 0..SESSIONS {
        sessions.push(initialize(&http, &mcp).await);
    }
    let mut id = 10;
    for s in &sessions {
        for _ in 0..CALLS {
            id += 1;
            let args = json!({"name": "get_client", "arguments": {"email": "ada@example.com"}});
            let answer = call(&http, &mcp, s, id, "tools/call", args).await;
            assert!(answer["result"].is_object(), "{answer}");
        }
        for _ in 0..PINGS {
            id += 1;
            call(&http, &mcp, s, id, "ping", json!({})).await;
        }
    }
    // Refused: a session nobody opened (404, -32001).
    for n in 0..UNKNOWN {
        let body = json!({"jsonrpc": "2.0", "id": n, "method": "ping"});
        let r = post(&http, &mcp, Some("0123456789abcdef0123456789abcdef"), &body)
            .send()
            .await
            .expect("a POST");
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }

    // Pushes through node 0 to a stream node 1 holds: logged there, delivered over the bus.
    let s0 = &sessions[0];
    let mut stream = SseReader::new(get_stream(&http, &cluster.node(1).mcp_url(), s0, None).await);
    stream.next(STEP).await.expect("the priming event");
    let mut ids = Vec::new();
    for n in 0..PUSHES {
        ids.push(push(&http, &cluster.node_url(0), s0, n).await);
        let event = stream.next_message(STEP).await.expect("the push, live");
        assert_eq!(
            event.id.as_deref(),
            Some(ids.last().expect("an id").as_str())
        );
    }
    // A resumption on node 2 after the first push: the other four are replayed.
    let resumed = get_stream(&http, &cluster.node(2).mcp_url(), s0, Some(&ids[0])).await;
    assert_eq!(resumed.status(), StatusCode::OK);
    let mut resumed = SseReader::new(resumed);
    for expected in &ids[1..] {
        let event = resumed.next_message(STEP).await.expect("a replayed push");
        assert_eq!(event.id.as_deref(), Some(expected.as_str()));
    }
    drop(stream);
    // Resumptions from a log epoch that never was: 410.
    for _ in 0..GONE {
        let r = get_stream(&http, &mcp, s0, Some("staleepoch_g_1")).await;
        assert_eq!(r.status(), StatusCode::GONE);
    }
    for s in &sessions[sessions.len() - DELETED as usize..] {
        let r = http
            .delete(&mcp)
            .timeout(STEP)
            .header("mcp-session-id", s.as_str())
            .header("mcp-protocol-version", crate::support::PROTOCOL)
            .send()
            .await
            .expect("DELETE");
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }

    let n = |v: u64| v as f64;
    let expectations = [
        (
            "sum(mcp_server_operation_duration_seconds_count{mcp_method_name=\"initialize\",mcp_protocol_version=\"2025-11-25\",error_type=\"\"})",
            n(SESSIONS),
        ),
        (
            "sum(mcp_server_operation_duration_seconds_count{mcp_method_name=\"tools/call\",error_type=\"\"})",
            n(SESSIONS * CALLS),
        ),
        (
            "sum(mcp_server_operation_duration_seconds_count{mcp_method_name=\"ping\"})",
            n(SESSIONS * PINGS),
        ),
        (
            "sum(switchyard_sessions_opened_total{era=\"streamable_http\"})",
            n(SESSIONS),
        ),
        (
            "sum(switchyard_sessions_open{era=\"streamable_http\"})",
            n(SESSIONS - DELETED),
        ),
        ("sum(mcp_server_session_duration_seconds_count)", n(DELETED)),
        (
            "sum(switchyard_rejections_total{status=\"404\",jsonrpc_code=\"-32001\"})",
            n(UNKNOWN),
        ),
        ("sum(switchyard_rejections_total{status=\"410\"})", n(GONE)),
        (
            "sum(switchyard_resumptions_total{outcome=\"gone\"})",
            n(GONE),
        ),
        ("sum(switchyard_resumptions_total{outcome=\"ok\"})", 1.0),
        ("sum(switchyard_events_replayed_total)", n(PUSHES - 1)),
        ("sum(switchyard_events_appended_total)", n(PUSHES)),
        (
            "sum(switchyard_bus_delivery_latency_seconds_count)",
            n(PUSHES),
        ),
        (
            "sum(switchyard_redis_command_duration_seconds_count{command=\"create a session\"})",
            n(SESSIONS),
        ),
        ("sum(switchyard_redis_errors_total) or vector(0)", 0.0),
        // The resumed stream, still open on node 2.
        ("sum(switchyard_streams_open{kind=\"standalone\"})", 1.0),
        ("count(switchyard_build_info)", 3.0),
        ("sum(switchyard_draining)", 0.0),
    ];
    for (promql, expected) in expectations {
        prom.wait_for(promql, expected, SETTLE)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
    }
    // The series are per node: each node served part of the calls.
    let per_node = prom
        .query("sum by (instance) (mcp_server_operation_duration_seconds_count{mcp_method_name=\"tools/call\"})")
        .await
        .expect("a query");
    assert_eq!(per_node.len(), 3, "{per_node:?}");

    // Redis stopped: a call that needs its session is refused 503, and the failed
    // operations are counted.
    cluster.redis_mut().stop(Signal::Term);
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    let r = post(&http, &cluster.node(0).mcp_url(), Some(&sessions[1]), &body)
        .send()
        .await
        .expect("a POST");
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    prom.wait_for(
        "sum(switchyard_rejections_total{status=\"503\",jsonrpc_code=\"-32603\"})",
        1.0,
        SETTLE,
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}"));
    prom.wait_for(
        "sum(switchyard_redis_errors_total{kind=\"unavailable\"}) > bool 0",
        1.0,
        SETTLE,
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}"));

    // Every metric has a series by now: what deploy/ queries must be among them.
    let mut scrapes = Vec::new();
    for i in 0..3 {
        let (status, text) = crate::support::scrape(&http, &cluster.node_url(i)).await;
        assert_eq!(status, StatusCode::OK);
        scrapes.push(text);
    }
    crate::deploy::the_rules_and_the_dashboard_query_only(&scrapes);
    drop(resumed);
}
