//! Every message once across nodes on one Redis: the focused tests for the ways it used to
//! break that need more than one node or a real Redis (issue 10; the single-node ones are
//! in `wire/once.rs`).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchyard_tests::{Cluster, SseReader, marked, marker_of};

use crate::admin::{acknowledged_id, push};
use crate::support::{STEP, client, get_stream, initialize, post};

/// Bug 1 across nodes: a stale connection on node 0 and its resumption on node 1 — a raw
/// `deliver` published straight to Redis and a push reach the session once, on the new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_on_another_node_takes_the_stream_alone() {
    let cluster = Cluster::start(2, "demo");
    let http = client();
    let session = initialize(&http, &cluster.mcp_url()).await;
    let old = get_stream(&http, &cluster.node(0).mcp_url(), &session, None)
        .await
        .expect("GET");
    assert_eq!(old.status(), StatusCode::OK);
    let mut old = SseReader::new(old);
    let id = acknowledged_id(
        push(&http, &cluster.node_url(0), &session, &marked("first"))
            .await
            .expect("push"),
    )
    .await;
    let e = old.next_message(STEP).await.expect("the first push");
    assert_eq!(e.id.as_deref(), Some(id.as_str()));
    let new = get_stream(&http, &cluster.node(1).mcp_url(), &session, Some(&id))
        .await
        .expect("GET");
    assert_eq!(new.status(), StatusCode::OK);
    let mut new = SseReader::new(new);
    let deliver = json!({"t": "deliver", "data": marked("raw").to_string()}).to_string();
    let channel = format!("sy:c:anonymous:{}", session.id);
    cluster
        .redis()
        .command(&["PUBLISH", &channel, &deliver])
        .expect("PUBLISH");
    push(&http, &cluster.node_url(0), &session, &marked("second"))
        .await
        .expect("push");
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let e = new.next_message(STEP).await.expect("raw and second");
        seen.extend(marker_of(&e.data));
    }
    seen.sort();
    assert_eq!(seen, ["raw", "second"]);
    let rest = old
        .collect_until_end(STEP)
        .await
        .expect("the old stream ends");
    assert!(
        rest.iter().all(|e| marker_of(&e.data).is_none()),
        "the superseded connection received {rest:?}"
    );
    // The log holds each once.
    let start = format!("{}_0", id.rsplit_once('_').expect("an id").0);
    let replay = get_stream(&http, &cluster.node(0).mcp_url(), &session, Some(&start))
        .await
        .expect("GET");
    let mut replay = SseReader::new(replay);
    let mut logged = Vec::new();
    while logged.len() < 3 {
        let e = replay.next_message(STEP).await.expect("the logged events");
        logged.extend(marker_of(&e.data));
    }
    logged.sort();
    assert_eq!(logged, ["first", "raw", "second"]);
}

/// Bug 4: the log's meta hash evicted under an open stream — the ids after it are new (no
/// id reused), the open stream ends, and a resumption from before answers 410.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_log_is_told_not_reused() {
    let cluster = Cluster::start(2, "demo");
    let http = client();
    let session = initialize(&http, &cluster.mcp_url()).await;
    let stream = get_stream(&http, &cluster.node(0).mcp_url(), &session, None)
        .await
        .expect("GET");
    let mut stream = SseReader::new(stream);
    let mut before = Vec::new();
    for i in 0..3 {
        let r = push(
            &http,
            &cluster.node_url(1),
            &session,
            &marked(&format!("b{i}")),
        )
        .await
        .expect("push");
        before.push(acknowledged_id(r).await);
    }
    for id in &before {
        let e = stream.next_message(STEP).await.expect("a push");
        assert_eq!(e.id.as_ref(), Some(id));
    }
    let meta = format!("sy:l:{{{}}}", session.id);
    cluster.redis().command(&["DEL", &meta]).expect("DEL");
    let r = push(&http, &cluster.node_url(1), &session, &marked("after"))
        .await
        .expect("push");
    let after = acknowledged_id(r).await;
    assert!(
        !before.contains(&after),
        "{after} was issued before the loss"
    );
    let rest = stream
        .collect_until_end(STEP)
        .await
        .expect("the open stream must end when its log was lost");
    assert!(
        rest.iter().all(|e| e.id.as_ref() != Some(&after)),
        "a lost log's successor event must not be passed off as the same stream"
    );
    let resumed = get_stream(
        &http,
        &cluster.node(1).mcp_url(),
        &session,
        Some(&before[1]),
    )
    .await
    .expect("GET");
    assert_eq!(
        resumed.status(),
        StatusCode::GONE,
        "a resumption from the lost log must be told: {resumed:?}"
    );
}

/// Bug 5: the node running a streamed request is killed; resuming its stream on another node
/// ends it with a JSON-RPC error for that request within about the producer lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_whose_node_died_ends_with_an_error() {
    let lease = Duration::from_millis(1000);
    let mut cluster = Cluster::builder(2, "demo")
        .env(
            "SWITCHYARD__SESSION__PRODUCER_LEASE_MS",
            lease.as_millis().to_string(),
        )
        .start();
    let http = client();
    let session = initialize(&http, &cluster.mcp_url()).await;
    let call = json!({
        "jsonrpc": "2.0", "id": 42, "method": "tools/call",
        "params": {"name": "generate_report", "arguments": {},
                   "_meta": {"progressToken": "p"}},
    });
    let r = post(&http, &cluster.node(0).mcp_url(), Some(&session), &call)
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), StatusCode::OK);
    let mut sse = SseReader::new(r);
    let first = sse.next_message(STEP).await.expect("the first progress");
    let last = first.id.expect("an event id");
    cluster.kill_node(0);
    let resumed = get_stream(&http, &cluster.node(1).mcp_url(), &session, Some(&last))
        .await
        .expect("GET");
    assert_eq!(resumed.status(), StatusCode::OK, "{resumed:?}");
    let mut resumed = SseReader::new(resumed);
    let events = resumed
        .collect_until_end(lease * 4 + STEP)
        .await
        .expect("the orphaned stream must end, not send keep-alives forever");
    let finals: Vec<Value> = events
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(&e.data).ok())
        .filter(|v| v["id"] == 42)
        .collect();
    assert_eq!(finals.len(), 1, "exactly one final answer: {events:?}");
    assert_eq!(finals[0]["error"]["code"], -32603, "{}", finals[0]);
}

/// Bug 5 for HTTP+SSE: the node running a request dies; the node holding the session's `/sse`
/// stream answers that request with a JSON-RPC error within about the producer lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_sse_request_whose_node_died_is_answered_with_an_error() {
    let lease = Duration::from_millis(1000);
    let mut cluster = Cluster::builder(2, "demo")
        .env(
            "SWITCHYARD__SESSION__PRODUCER_LEASE_MS",
            lease.as_millis().to_string(),
        )
        .start();
    let http = client();
    let sse = http
        .get(cluster.node(1).sse_url())
        .header("accept", "text/event-stream")
        .send()
        .await
        .expect("GET /sse");
    assert_eq!(sse.status(), StatusCode::OK);
    let mut sse = SseReader::new(sse);
    let endpoint = sse.next(STEP).await.expect("endpoint").expect("an event");
    let messages = format!("{}{}", cluster.node_url(0), endpoint.data);
    let call = json!({
        "jsonrpc": "2.0", "id": 42, "method": "tools/call",
        "params": {"name": "generate_report", "arguments": {},
                   "_meta": {"progressToken": "p"}},
    });
    let r = http
        .post(&messages)
        .header("content-type", "application/json")
        .body(call.to_string())
        .send()
        .await
        .expect("POST /messages");
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let first = sse.next_message(STEP).await.expect("the first progress");
    assert!(first.data.contains("progress"), "{first:?}");
    cluster.kill_node(0);
    let deadline = tokio::time::Instant::now() + lease * 4 + STEP;
    let answer = loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let e = sse
            .next_message(left)
            .await
            .expect("an answer for request 42 on /sse, not silence");
        let v: Value = serde_json::from_str(&e.data).expect("JSON");
        if v["id"] == 42 {
            break v;
        }
    };
    assert_eq!(answer["error"]["code"], -32603, "{answer}");
}
