//! Traces: nodes export one SERVER span per MCP request over OTLP/HTTP to a receiver that
//! decodes them with the OTLP protobuf definitions; the parent comes from `_meta` over the
//! `traceparent` header (which is then linked); a malformed `traceparent` is ignored.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchyard_tests::{Cluster, Node, OtlpReceiver, ReceivedSpan};

use crate::support::{PROTOCOL, initialize, post};

const SETTLE: Duration = Duration::from_secs(20);
const TRACE_A: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_A: &str = "00f067aa0ba902b7";
const TRACE_B: &str = "0af7651916cd43dd8448eb211c80319c";
const PARENT_B: &str = "b7ad6b7169203331";

fn traceparent(trace: &str, span: &str) -> String {
    format!("00-{trace}-{span}-01")
}

/// `tools/call get_client` as request `id`, with `traceparent` as a header and `meta` in
/// `params._meta`, if given.
async fn call(
    http: &reqwest::Client,
    mcp_url: &str,
    session: &str,
    id: u64,
    header: Option<&str>,
    meta: Option<Value>,
) {
    let mut params = json!({"name": "get_client", "arguments": {"email": "ada@example.com"}});
    if let Some(m) = meta {
        params["_meta"] = m;
    }
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params});
    let mut req = post(http, mcp_url, Some(session), &body);
    if let Some(h) = header {
        req = req.header("traceparent", h);
    }
    let response = req.send().await.expect("tools/call");
    assert_eq!(response.status(), StatusCode::OK, "{response:?}");
}

fn request(id: u64) -> impl Fn(&ReceivedSpan) -> bool {
    move |s| s.attributes.get("jsonrpc.request.id").map(String::as_str) == Some(&id.to_string())
}

fn traced_node(receiver: &OtlpReceiver) -> Node {
    Node::builder("demo")
        .env("SWITCHYARD__OTEL__ENDPOINT", receiver.url())
        .env("OTEL_SERVICE_NAME", "switchyard-observe-test")
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .start()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_span_per_request_with_its_parent_from_the_header() {
    let receiver = OtlpReceiver::start().await.expect("a receiver");
    let node = traced_node(&receiver);
    let http = crate::support::client();
    let session = initialize(&http, &node.mcp_url()).await;
    call(
        &http,
        &node.mcp_url(),
        &session,
        7,
        Some(&traceparent(TRACE_A, PARENT_A)),
        None,
    )
    .await;
    let span = receiver
        .wait_for(SETTLE, "for request 7", request(7))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(span.name, "tools/call get_client");
    assert_eq!(span.kind, 2, "SPAN_KIND_SERVER");
    assert_eq!(span.service, "switchyard-observe-test");
    assert_eq!(span.trace_id, TRACE_A);
    assert_eq!(span.parent_span_id, PARENT_A);
    let attr = |k: &str| span.attributes.get(k).cloned().unwrap_or_default();
    assert_eq!(attr("mcp.method.name"), "tools/call");
    assert_eq!(attr("gen_ai.tool.name"), "get_client");
    assert_eq!(attr("mcp.session.id"), session);
    assert_eq!(attr("mcp.protocol.version"), PROTOCOL);
    assert_eq!(attr("network.transport"), "tcp");
    assert_eq!(attr("server.port"), node.addr().port().to_string());
    assert!(
        !span
            .attributes
            .values()
            .any(|v| v.contains("ada@example.com")),
        "arguments are never recorded: {span:?}"
    );
    // The handshake is a span too, in a trace of its own.
    let init = receiver
        .wait_for(SETTLE, "for initialize", |s| s.name == "initialize")
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(init.parent_span_id, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meta_wins_over_the_header_which_is_linked_and_a_malformed_one_is_ignored() {
    let receiver = OtlpReceiver::start().await.expect("a receiver");
    let node = traced_node(&receiver);
    let http = crate::support::client();
    let session = initialize(&http, &node.mcp_url()).await;
    let meta = json!({"traceparent": traceparent(TRACE_B, PARENT_B), "tracestate": "vendor=1"});
    let header = traceparent(TRACE_A, PARENT_A);
    call(
        &http,
        &node.mcp_url(),
        &session,
        8,
        Some(&header),
        Some(meta),
    )
    .await;
    call(
        &http,
        &node.mcp_url(),
        &session,
        9,
        Some("00-not-a-trace-parent-01"),
        None,
    )
    .await;
    let span = receiver
        .wait_for(SETTLE, "for request 8", request(8))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(span.trace_id, TRACE_B, "_meta wins: {span:?}");
    assert_eq!(span.parent_span_id, PARENT_B);
    assert_eq!(span.links, vec![(TRACE_A.to_owned(), PARENT_A.to_owned())]);
    let fresh = receiver
        .wait_for(SETTLE, "for request 9", request(9))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(
        fresh.parent_span_id, "",
        "a malformed traceparent starts a new trace"
    );
    assert_eq!(fresh.trace_id.len(), 32);
    assert_ne!(fresh.trace_id, "0".repeat(32));
    assert_ne!(fresh.trace_id, TRACE_A);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_across_two_nodes_on_redis() {
    let receiver = OtlpReceiver::start().await.expect("a receiver");
    let cluster = Cluster::builder(2, "demo")
        .env("SWITCHYARD__OTEL__ENDPOINT", receiver.url())
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .start();
    let http = crate::support::client();
    let session = initialize(&http, &cluster.node(0).mcp_url()).await;
    let header = traceparent(TRACE_A, PARENT_A);
    call(
        &http,
        &cluster.node(0).mcp_url(),
        &session,
        21,
        Some(&header),
        None,
    )
    .await;
    call(
        &http,
        &cluster.node(1).mcp_url(),
        &session,
        22,
        Some(&header),
        None,
    )
    .await;
    for (id, node) in [(21, 0), (22, 1)] {
        let span = receiver
            .wait_for(SETTLE, &format!("for request {id}"), request(id))
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(span.trace_id, TRACE_A);
        assert_eq!(span.parent_span_id, PARENT_A);
        assert_eq!(span.service, "switchyard");
        assert_eq!(
            span.attributes.get("server.port"),
            Some(&cluster.node(node).addr().port().to_string()),
            "request {id} was served by node {node}"
        );
        assert_eq!(span.attributes.get("mcp.session.id"), Some(&session));
    }
    // Redis calls are child spans: the session's creation under the initialize span.
    let init = receiver
        .wait_for(SETTLE, "for initialize", |s| s.name == "initialize")
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let redis = receiver
        .wait_for(SETTLE, "creating the session in Redis", |s| {
            s.name == "create a session"
        })
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(redis.kind, 3, "SPAN_KIND_CLIENT");
    assert_eq!(redis.trace_id, init.trace_id);
    assert_eq!(redis.parent_span_id, init.span_id);
    assert_eq!(
        redis.attributes.get("db.system.name").map(String::as_str),
        Some("redis")
    );
}
