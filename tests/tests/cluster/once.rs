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

/// POSTs a `generate_report` call with id `id` to `url` and reads its first progress event:
/// the open stream and that event's id.
async fn start_report(
    http: &reqwest::Client,
    url: &str,
    session: &crate::support::Session,
    id: u64,
) -> (SseReader, String) {
    let call = json!({
        "jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "generate_report", "arguments": {},
                   "_meta": {"progressToken": "p"}},
    });
    let r = post(http, url, Some(session), &call)
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), StatusCode::OK);
    let mut sse = SseReader::new(r);
    let first = sse.next_message(STEP).await.expect("the first progress");
    (sse, first.id.expect("an event id"))
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
    let (_sse, last) = start_report(&http, &cluster.node(0).mcp_url(), &session, 42).await;
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

/// A node stopped gracefully (SIGINT) while a request it runs has lost its client: the node
/// waits for the request's task, so the client resuming elsewhere gets the real result, not
/// the error for a producer that died.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_finishes_the_requests_it_runs() {
    let mut cluster = Cluster::start(2, "demo");
    let http = client();
    let session = initialize(&http, &cluster.mcp_url()).await;
    let (sse, last) = start_report(&http, &cluster.node(0).mcp_url(), &session, 43).await;
    drop(sse);
    cluster.stop_node(0, switchyard_tests::Signal::Int);
    let resumed = get_stream(&http, &cluster.node(1).mcp_url(), &session, Some(&last))
        .await
        .expect("GET");
    assert_eq!(resumed.status(), StatusCode::OK, "{resumed:?}");
    let events = SseReader::new(resumed)
        .collect_until_end(STEP * 2)
        .await
        .expect("the stream ends after its answer");
    let finals: Vec<Value> = events
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(&e.data).ok())
        .filter(|v| v["id"] == 43)
        .collect();
    assert_eq!(finals.len(), 1, "exactly one final answer: {events:?}");
    assert!(
        finals[0]["result"].is_object(),
        "the stopped node should have finished the request: {}",
        finals[0]
    );
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

/// Publishes raw `deliver`s to `channel`, about 2,000 a second (a flood would overrun the
/// node's subscription buffer, and a raw `deliver` lost in a gap is not retried), until
/// `stop` is set (at most `max`); the number published.
fn publish_delivers(
    port: u16,
    channel: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    max: usize,
) -> std::thread::JoinHandle<usize> {
    use std::io::{BufRead, BufReader, Write};
    std::thread::spawn(move || {
        let conn = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to Redis");
        let mut reader = BufReader::new(conn.try_clone().expect("clone"));
        let mut writer = conn;
        let mut n = 0;
        while n < max && !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let env = json!({"t": "deliver", "data": marked(&format!("d-{n}")).to_string()});
            let env = env.to_string();
            let cmd = format!(
                "*3\r\n$7\r\nPUBLISH\r\n${}\r\n{channel}\r\n${}\r\n{env}\r\n",
                channel.len(),
                env.len()
            );
            writer.write_all(cmd.as_bytes()).expect("PUBLISH");
            let mut reply = String::new();
            reader.read_line(&mut reply).expect("PUBLISH reply");
            assert!(reply.starts_with(':'), "PUBLISH answered {reply:?}");
            n += 1;
            // Pacing a load, not waiting for a condition.
            std::thread::sleep(Duration::from_micros(500));
        }
        n
    })
}

/// Reads `stream` until `marker` arrives; how often each marker was seen on the way.
async fn count_until(
    stream: &mut SseReader,
    marker: &str,
) -> std::collections::BTreeMap<String, usize> {
    let mut seen = std::collections::BTreeMap::new();
    while !seen.contains_key(marker) {
        let e = stream.next_message(STEP).await.unwrap_or_else(|e| {
            panic!(
                "waiting for {marker}, saw {} markers ({:?}…): {e}",
                seen.len(),
                seen.keys().take(5).collect::<Vec<_>>()
            )
        });
        if let Some(m) = marker_of(&e.data) {
            *seen.entry(m).or_insert(0) += 1;
        }
    }
    seen
}

/// Bug 1 on one node: a resumption that takes the stream on the node of the connection it
/// supersedes hears, between subscribing and attaching, raw `deliver`s the old owner is
/// still appending. Each is appended at most once (it used to be appended by both).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_takeover_on_the_same_node_appends_a_raw_deliver_at_most_once() {
    let cluster = Cluster::builder(1, "demo")
        .env("SWITCHYARD__SESSION__EVENT_LOG_MAX_LEN", "100000")
        .start();
    let http = client();
    let session = initialize(&http, &cluster.mcp_url()).await;
    let url = cluster.node(0).mcp_url();
    let first = get_stream(&http, &url, &session, None).await.expect("GET");
    let mut current = SseReader::new(first);
    let start = acknowledged_id(
        push(&http, &cluster.node_url(0), &session, &marked("start"))
            .await
            .expect("push"),
    )
    .await;
    count_until(&mut current, "start").await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let channel = format!("sy:c:anonymous:{}", session.id);
    let publisher = publish_delivers(cluster.redis().port(), channel, stop.clone(), 20_000);
    count_until(&mut current, "d-0").await;
    // Take the stream over, on the same node, while delivers keep arriving.
    for _ in 0..30 {
        let next = get_stream(&http, &url, &session, Some(&start))
            .await
            .expect("GET");
        assert_eq!(next.status(), StatusCode::OK);
        current = SseReader::new(next);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let published = publisher.join().expect("the publisher");
    push(&http, &cluster.node_url(0), &session, &marked("end"))
        .await
        .expect("push");
    let live = count_until(&mut current, "end").await;
    let from_start = format!("{}_0", start.rsplit_once('_').expect("an id").0);
    let replay = get_stream(&http, &url, &session, Some(&from_start))
        .await
        .expect("GET");
    let logged = count_until(&mut SseReader::new(replay), "end").await;
    for (what, seen) in [("the last connection", &live), ("the log", &logged)] {
        let doubled: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            doubled.is_empty(),
            "{what} holds {} of {published} raw delivers more than once: {doubled:?}",
            doubled.len()
        );
    }
}
