//! A trace across two nodes over the bus: a call on node 0 asks the client something, the
//! client resumes the call's stream on node 1 and answers there; node 0's exchange answers,
//! and node 1, delivering that answer from the bus, records a span in the same trace,
//! a child of node 0's SERVER span and linked to it.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use switchyard_tests::{Cluster, OtlpReceiver, SseReader};

use crate::support::{PROTOCOL, STEP, client, get_stream, post};

const SETTLE: Duration = Duration::from_secs(20);
const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delivering_node_links_the_producing_span() {
    let receiver = OtlpReceiver::start().await.expect("a receiver");
    let cluster = Cluster::builder(2, "everything")
        .env("SWITCHYARD__OTEL__ENDPOINT", receiver.url())
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .start();
    let http = client();
    let (a, b) = (cluster.node(0).mcp_url(), cluster.node(1).mcp_url());
    let init = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": PROTOCOL,
            "capabilities": {"elicitation": {}},
            "clientInfo": {"name": "observe-test", "version": "1"},
        },
    });
    let r = post(&http, &a, None, &init)
        .send()
        .await
        .expect("initialize");
    assert_eq!(r.status(), StatusCode::OK);
    let session = r.headers()["mcp-session-id"]
        .to_str()
        .expect("an id")
        .to_owned();
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    post(&http, &a, Some(&session), &note)
        .send()
        .await
        .expect("initialized");

    let call = json!({
        "jsonrpc": "2.0", "id": 5, "method": "tools/call",
        "params": {"name": "test_elicitation", "arguments": {"message": "who are you?"}},
    });
    let r = post(&http, &a, Some(&session), &call)
        .header("traceparent", format!("00-{TRACE}-{PARENT}-01"))
        .send()
        .await
        .expect("tools/call");
    assert_eq!(r.status(), StatusCode::OK);
    let mut on_a = SseReader::new(r);
    let (event_id, question) = on_a.next_json(STEP).await.expect("the question");
    assert_eq!(question["method"], "elicitation/create", "{question}");
    drop(on_a);
    // The client resumes the call's stream on node 1 and answers there.
    let event_id = event_id.expect("the question's event id");
    let resumed = get_stream(&http, &b, &session, Some(&event_id)).await;
    assert_eq!(resumed.status(), StatusCode::OK);
    let mut on_b = SseReader::new(resumed);
    let answer = json!({
        "jsonrpc": "2.0", "id": question["id"],
        "result": {"action": "accept", "content": {"username": "ada", "email": "ada@example.com"}},
    });
    let r = post(&http, &b, Some(&session), &answer)
        .send()
        .await
        .expect("the answer");
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let (_, result) = on_b
        .next_json(STEP)
        .await
        .expect("the call's result, on node 1");
    assert_eq!(result["id"], 5, "{result}");

    let server = receiver
        .wait_for(SETTLE, "tools/call test_elicitation", |s| {
            s.name == "tools/call test_elicitation"
        })
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(server.trace_id, TRACE);
    assert_eq!(server.parent_span_id, PARENT);
    assert_eq!(
        server.attributes.get("server.port"),
        Some(&cluster.node(0).addr().port().to_string())
    );
    let delivered = receiver
        .wait_for(SETTLE, "delivering on node 1", |s| {
            s.name == "deliver event"
                && s.attributes.get("switchyard.node").map(String::as_str) == Some("node-1")
        })
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(delivered.trace_id, TRACE, "one trace over both nodes");
    assert_eq!(delivered.parent_span_id, server.span_id);
    assert_eq!(
        delivered.links,
        vec![(server.trace_id.clone(), server.span_id.clone())]
    );
    assert_eq!(delivered.kind, 5, "SPAN_KIND_CONSUMER");
}
