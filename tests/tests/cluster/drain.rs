//! A node drained with SIGTERM behind nginx, under a GET stream and an in-flight call: the
//! stream ends with `retry:`, its client resumes through the balancer and gets every push
//! exactly once; the call still running is answered on its own stream; the node exits 0.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchyard_tests::{Cluster, Signal, SseReader};

use crate::admin::{acknowledged_id, number_of, numbered, push};
use crate::support::{PROTOCOL, SESSION, STEP, Session, client, get_stream, node_of, post};

/// How long the drained node keeps serving after `/readyz` turned 503.
const DRAIN_DELAY_SECS: u64 = 2;
/// How long its running requests get after that.
const TIMEOUT_SECS: u64 = 20;

/// `initialize` declaring elicitation (so `cancel_booking` asks before it cancels), then
/// `notifications/initialized`.
async fn initialize_eliciting(http: &reqwest::Client, mcp_url: &str) -> Session {
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": PROTOCOL,
            "capabilities": {"elicitation": {}},
            "clientInfo": {"name": "drain-test", "version": "1"},
        },
    });
    let r = post(http, mcp_url, None, &body)
        .send()
        .await
        .expect("initialize");
    assert_eq!(r.status(), StatusCode::OK, "{r:?}");
    let id = r.headers()[SESSION]
        .to_str()
        .expect("a session id")
        .to_owned();
    let session = Session { id };
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let r = post(http, mcp_url, Some(&session), &note)
        .send()
        .await
        .expect("initialized");
    assert_eq!(r.status(), StatusCode::ACCEPTED, "{r:?}");
    session
}

/// A fresh booking of the demo's seeded client; its id.
async fn book(http: &reqwest::Client, mcp_url: &str, session: &Session) -> i64 {
    let call = json!({
        "jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "create_booking", "arguments": {
            "client_email": "ada@example.com",
            "starts_at": "2033-01-10T09:00:00Z",
            "service": "Drain check",
        }},
    });
    let r = post(http, mcp_url, Some(session), &call)
        .send()
        .await
        .expect("create_booking");
    let v = answer(r, 2).await;
    v["result"]["structuredContent"]["booking"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no booking id in {v}"))
}

/// The response to request `id`: the JSON body, or the message with that id on its SSE
/// stream (a backend that logs or notifies first answers with a stream).
async fn answer(r: reqwest::Response, id: u64) -> Value {
    assert_eq!(r.status(), StatusCode::OK, "{r:?}");
    let sse = r
        .headers()
        .get("content-type")
        .is_some_and(|t| t.as_bytes().starts_with(b"text/event-stream"));
    if !sse {
        return r.json().await.expect("a JSON answer");
    }
    let mut stream = SseReader::new(r);
    loop {
        let (_, m) = stream
            .next_json(STEP)
            .await
            .expect("the answer on its stream");
        if m["id"] == id && m.get("method").is_none() {
            return m;
        }
    }
}

/// Reads the standalone stream, resuming it through the balancer with `Last-Event-ID`
/// each time it ends, until `want` pushes arrived or the deadline passes. Returns the
/// numbers in arrival order, whether every end was announced with `retry:`, and the nodes
/// that served each connection.
async fn follow(
    http: &reqwest::Client,
    balancer: &str,
    session: &Session,
    mut stream: SseReader,
    want: &AtomicU64,
    done: &AtomicBool,
) -> (Vec<u64>, Vec<bool>, Vec<String>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut numbers = Vec::new();
    let mut retries = Vec::new();
    let mut nodes = vec![node_of(stream.response())];
    loop {
        let mut saw_retry = false;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if done.load(Ordering::SeqCst) && numbers.len() as u64 >= want.load(Ordering::SeqCst) {
                return (numbers, retries, nodes);
            }
            match stream.next(left.min(Duration::from_millis(500))).await {
                Ok(Some(e)) => {
                    saw_retry |= e.retry.is_some();
                    if let Some(n) = number_of(&e.data) {
                        numbers.push(n);
                    }
                }
                Ok(None) => break,
                Err(e) if left.is_zero() => panic!("the stream stalled: {e:#}; got {numbers:?}"),
                Err(_) => continue,
            }
        }
        retries.push(saw_retry);
        let last = stream
            .last_event_id()
            .expect("an event id to resume from")
            .to_owned();
        let r = get_stream(http, balancer, session, Some(&last))
            .await
            .expect("resume GET");
        assert_eq!(r.status(), StatusCode::OK, "resume: {r:?}");
        nodes.push(node_of(&r));
        stream = SseReader::new(r);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drained_node_hands_its_streams_over_and_finishes_its_calls() {
    let mut cluster = Cluster::builder(2, "demo")
        .env(
            "SWITCHYARD__SHUTDOWN__DRAIN_DELAY_SECS",
            DRAIN_DELAY_SECS.to_string(),
        )
        .env(
            "SWITCHYARD__SHUTDOWN__TIMEOUT_SECS",
            TIMEOUT_SECS.to_string(),
        )
        .start();
    let http = client();
    let balancer = cluster.mcp_url();
    let session = initialize_eliciting(&http, &balancer).await;
    let booking = book(&http, &balancer, &session).await;

    // The standalone stream, through the balancer: the node it landed on is drained.
    let get = get_stream(&http, &balancer, &session, None)
        .await
        .expect("GET");
    assert_eq!(get.status(), StatusCode::OK, "{get:?}");
    let drained = cluster
        .index_of(&node_of(&get))
        .expect("a known node served the GET");
    let other = 1 - drained;
    let mut stream = SseReader::new(get);
    stream.next(STEP).await.expect("the priming event");

    // A call in flight on the drained node: it waits for the client's confirmation.
    let cancel = json!({
        "jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "cancel_booking", "arguments": {"booking_id": booking}},
    });
    let r = post(
        &http,
        &cluster.node(drained).mcp_url(),
        Some(&session),
        &cancel,
    )
    .timeout(Duration::from_secs(120))
    .send()
    .await
    .expect("cancel_booking");
    assert_eq!(r.status(), StatusCode::OK, "{r:?}");
    let mut call = SseReader::new(r);
    let ask = loop {
        let (_, m) = call
            .next_json(STEP)
            .await
            .expect("the confirmation request");
        if m["method"] == "elicitation/create" {
            break m;
        }
    };

    // Pushes through the other node, before, during and after the drain.
    let pushed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let pusher = {
        let (http, base, session) = (http.clone(), cluster.node_url(other), session.clone());
        let (pushed, stop) = (pushed.clone(), stop.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let r = push(&http, &base, &session, &numbered(n))
                    .await
                    .expect("push");
                acknowledged_id(r).await;
                n += 1;
                pushed.store(n, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
        })
    };
    let follower = {
        let (http, balancer, session) = (http.clone(), balancer.clone(), session.clone());
        let (pushed, stop) = (pushed.clone(), stop.clone());
        tokio::spawn(
            async move { follow(&http, &balancer, &session, stream, &pushed, &stop).await },
        )
    };
    let deadline = tokio::time::Instant::now() + STEP;
    while pushed.load(Ordering::SeqCst) < 5 {
        assert!(tokio::time::Instant::now() < deadline, "pushes stalled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    cluster.signal_node(drained, Signal::Term).expect("SIGTERM");
    // Readiness off at once; the node still serves meanwhile, asking for a new connection.
    let ready = format!("{}/readyz", cluster.node_url(drained));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    loop {
        let r = http.get(&ready).timeout(STEP).send().await.expect("readyz");
        if r.status() == StatusCode::SERVICE_UNAVAILABLE {
            let body: Value = r.json().await.expect("JSON");
            assert_eq!(body["status"], "draining", "{body}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz still {} after the signal",
            r.status()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ping = json!({"jsonrpc": "2.0", "id": 8, "method": "ping"});
    let r = post(
        &http,
        &cluster.node(drained).mcp_url(),
        Some(&session),
        &ping,
    )
    .send()
    .await
    .expect("a ping during the drain delay");
    assert_eq!(r.status(), StatusCode::OK, "{r:?}");
    assert_eq!(r.headers()["connection"], "close", "{r:?}");
    let live = format!("{}/livez", cluster.node_url(drained));
    let r = http.get(&live).timeout(STEP).send().await.expect("livez");
    assert_eq!(r.status(), StatusCode::OK, "alive while draining");

    // After the delay the idle stream ended; the call is still running. Answer it (through
    // the balancer: any node takes the answer) and its own stream delivers the result.
    tokio::time::sleep(Duration::from_secs(DRAIN_DELAY_SECS) + Duration::from_millis(500)).await;
    assert!(
        cluster.is_up(drained),
        "the node waits for its running call"
    );
    let answer = json!({
        "jsonrpc": "2.0", "id": ask["id"],
        "result": {"action": "accept", "content": {"confirm": true}},
    });
    let r = post(&http, &balancer, Some(&session), &answer)
        .send()
        .await
        .expect("the confirmation");
    assert_eq!(r.status(), StatusCode::ACCEPTED, "{r:?}");
    let result = loop {
        let (_, m) = call
            .next_json(STEP)
            .await
            .expect("the call's answer on its stream during the drain");
        if m["id"] == 7 && m.get("method").is_none() {
            break m;
        }
    };
    assert!(result["result"].is_object(), "{result}");
    assert!(
        result["result"]["isError"] != json!(true),
        "the booking was cancelled: {result}"
    );
    let ended = call
        .collect_until_end(STEP)
        .await
        .expect("the call's stream ends");
    assert!(ended.iter().all(|e| e.data.is_empty()), "{ended:?}");

    let status = cluster
        .wait_node_exit(drained, Duration::from_secs(TIMEOUT_SECS))
        .expect("the drained node exits once its call is done");
    assert!(status.success(), "the drained node exited with {status}");

    // A few more pushes after the node is gone, then every one must have arrived once.
    let after = pushed.load(Ordering::SeqCst) + 5;
    let deadline = tokio::time::Instant::now() + STEP;
    while pushed.load(Ordering::SeqCst) < after {
        assert!(tokio::time::Instant::now() < deadline, "pushes stalled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::SeqCst);
    pusher.await.expect("the pusher");
    let (numbers, retries, nodes) = tokio::time::timeout(Duration::from_secs(60), follower)
        .await
        .expect("the follower finishes")
        .expect("the follower");
    let total = pushed.load(Ordering::SeqCst);
    let expected: Vec<u64> = (0..total).collect();
    assert_eq!(
        numbers, expected,
        "every push once, in order (nodes {nodes:?})"
    );
    assert!(
        !retries.is_empty() && retries.iter().all(|&r| r),
        "every end of the stream carried retry: {retries:?}"
    );
    assert_eq!(
        nodes.last().map(String::as_str),
        Some(cluster.node_id(other)),
        "the stream ends up on the other node: {nodes:?}"
    );
}

/// A call still running when `shutdown.timeout_secs` runs out: its stream ends with
/// `retry:` too, the node exits 0, and the client resuming that stream on the other node
/// gets what was logged, then the JSON-RPC error for a request whose node stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_outliving_the_shutdown_timeout_ends_with_retry_and_is_told_elsewhere() {
    let lease = Duration::from_millis(1000);
    let mut cluster = Cluster::builder(2, "demo")
        .env("SWITCHYARD__SHUTDOWN__DRAIN_DELAY_SECS", "0")
        .env("SWITCHYARD__SHUTDOWN__TIMEOUT_SECS", "1")
        .env(
            "SWITCHYARD__SESSION__PRODUCER_LEASE_MS",
            lease.as_millis().to_string(),
        )
        .start();
    let http = client();
    let session = initialize_eliciting(&http, &cluster.mcp_url()).await;
    let booking = book(&http, &cluster.mcp_url(), &session).await;
    let cancel = json!({
        "jsonrpc": "2.0", "id": 9, "method": "tools/call",
        "params": {"name": "cancel_booking", "arguments": {"booking_id": booking}},
    });
    let r = post(&http, &cluster.node(0).mcp_url(), Some(&session), &cancel)
        .send()
        .await
        .expect("cancel_booking");
    assert_eq!(r.status(), StatusCode::OK, "{r:?}");
    let mut call = SseReader::new(r);
    loop {
        let (_, m) = call
            .next_json(STEP)
            .await
            .expect("the confirmation request");
        if m["method"] == "elicitation/create" {
            break;
        }
    }
    let last = call.last_event_id().expect("an event id").to_owned();

    let started = tokio::time::Instant::now();
    cluster.signal_node(0, Signal::Int).expect("SIGINT");
    let rest = call
        .collect_until_end(STEP)
        .await
        .expect("the call's stream ends at the shutdown timeout");
    assert!(
        rest.iter().any(|e| e.retry.is_some()),
        "the stream ended with retry: {rest:?}"
    );
    let status = cluster
        .wait_node_exit(0, STEP)
        .expect("the node exits after the timeout");
    assert!(status.success(), "exit {status}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "stopped within the timeout: {:?}",
        started.elapsed()
    );

    // Resumed on the other node: the request's node is gone, so once its lease lapses the
    // stream ends with an error for it, rather than waiting forever.
    let resumed = get_stream(&http, &cluster.node(1).mcp_url(), &session, Some(&last))
        .await
        .expect("resume GET");
    assert_eq!(resumed.status(), StatusCode::OK, "{resumed:?}");
    let events = SseReader::new(resumed)
        .collect_until_end(lease * 4 + STEP)
        .await
        .expect("the resumed stream ends");
    let finals: Vec<Value> = events
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(&e.data).ok())
        .filter(|v| v["id"] == 9 && v.get("method").is_none())
        .collect();
    assert_eq!(finals.len(), 1, "one answer for the call: {events:?}");
    assert_eq!(finals[0]["error"]["code"], -32603, "{}", finals[0]);
}
