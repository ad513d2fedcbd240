//! `[limits]` on what a request carries and holds: JSON depth, batch length, header size
//! and count, stored client data, subscriptions per session, streams per node, requests in
//! flight per session. Each refusal names its setting in a JSON-RPC error (`-32050`).

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchyard_tests::Node;

use crate::support::{Wire, error_code, initialize_body, request};

const LIMIT_EXCEEDED: i64 = -32050;

/// The refusal's status and the setting its error names.
async fn refusal(response: reqwest::Response) -> (StatusCode, Option<String>, Value) {
    let retry = response.headers().contains_key("retry-after");
    let (status, code, body) = error_code(response).await;
    assert_eq!(code, Some(LIMIT_EXCEEDED), "{status}: {body}");
    let setting = body["error"]["data"]["limit"].as_str().map(str::to_owned);
    let message = body["error"]["message"].as_str().unwrap_or_default();
    if let Some(s) = &setting {
        assert!(message.contains(s.as_str()), "{body}");
    }
    let quota = matches!(status.as_u16(), 429 | 503);
    assert_eq!(retry, quota, "Retry-After on quotas only: {status} {body}");
    (status, setting, body)
}

#[tokio::test]
async fn deep_json_long_batches_and_big_headers_are_refused_by_name() {
    let wire = Wire::start("demo");
    let session = wire.initialize("2025-03-26").await;
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let response = wire
        .post_in(&session, &json!(null))
        .body(deep)
        .send()
        .await
        .unwrap();
    let (status, setting, _) = refusal(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(setting.as_deref(), Some("limits.max_json_depth"));

    let batch: Vec<Value> = (0..10_000).map(|i| request(i, "ping", json!({}))).collect();
    let response = wire
        .post_in(&session, &Value::Array(batch))
        .send()
        .await
        .unwrap();
    let (status, setting, _) = refusal(response).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(setting.as_deref(), Some("limits.max_batch_len"));
    // A batch within the limit is still served.
    let batch: Vec<Value> = (0..100).map(|i| request(i, "ping", json!({}))).collect();
    let response = wire
        .post_in(&session, &Value::Array(batch))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let response = wire
        .post_in(&session, &request(1, "ping", json!({})))
        .header("x-big", "a".repeat(64 * 1024))
        .send()
        .await
        .unwrap();
    let (status, setting, _) = refusal(response).await;
    assert_eq!(status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_eq!(setting.as_deref(), Some("limits.max_header_bytes"));

    let mut many = wire.post_in(&session, &request(1, "ping", json!({})));
    for i in 0..70 {
        many = many.header(format!("x-h{i}"), "1");
    }
    let (status, setting, _) = refusal(many.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_eq!(setting.as_deref(), Some("limits.max_headers"));
    // The session is unharmed.
    let pong = wire.call(&session, &request(2, "ping", json!({}))).await;
    assert_eq!(pong["result"], json!({}), "{pong}");
}

#[tokio::test]
async fn stored_client_data_and_subscriptions_are_capped() {
    let node = Node::builder("demo")
        .env("SWITCHYARD__LIMITS__MAX_SUBSCRIPTIONS", "3")
        .start();
    let wire = Wire::with_node(node);
    let mut big = initialize_body("2025-11-25");
    big["params"]["clientInfo"]["name"] = json!("x".repeat(4 * 1024 * 1024 - 1024));
    let response = wire.post(&big).send().await.unwrap();
    assert!(!response.headers().contains_key("mcp-session-id"));
    let (status, setting, body) = refusal(response).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(setting.as_deref(), Some("limits.max_client_data_bytes"));
    assert_eq!(body["id"], 0, "{body}");

    let session = wire.initialize("2025-11-25").await;
    for i in 0..3 {
        let uri = format!("clients://c{i}@example.com");
        let answer = wire
            .call(
                &session,
                &request(i, "resources/subscribe", json!({"uri": uri})),
            )
            .await;
        assert_eq!(answer["result"], json!({}), "{answer}");
    }
    let answer = wire
        .call(
            &session,
            &request(9, "resources/subscribe", json!({"uri": "clients://all"})),
        )
        .await;
    assert_eq!(answer["error"]["code"], LIMIT_EXCEEDED, "{answer}");
    assert_eq!(answer["error"]["data"]["limit"], "limits.max_subscriptions");
    // Subscribing again to one it holds is not a new subscription.
    let again = wire
        .call(
            &session,
            &request(
                10,
                "resources/subscribe",
                json!({"uri": "clients://c0@example.com"}),
            ),
        )
        .await;
    assert_eq!(again["result"], json!({}), "{again}");
}

#[tokio::test]
async fn streams_past_the_node_limit_get_503_and_a_freed_slot_is_reused() {
    let node = Node::builder("demo")
        .env("SWITCHYARD__LIMITS__MAX_STREAMS", "2")
        // A stream whose client went is noticed at its next write: a keep-alive comment.
        .env("SWITCHYARD__HTTP__KEEP_ALIVE_SECS", "1")
        .start();
    let wire = Wire::with_node(node);
    let mut open = Vec::new();
    for _ in 0..2 {
        let session = wire.initialize("2025-11-25").await;
        let response = wire.get_in(&session).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        open.push(response);
    }
    let third = wire.initialize("2025-11-25").await;
    let response = wire.get_in(&third).send().await.unwrap();
    let (status, setting, _) = refusal(response).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(setting.as_deref(), Some("limits.max_streams"));
    let sse = wire
        .http
        .get(wire.node.sse_url())
        .header("accept", "text/event-stream");
    let (status, _, _) = refusal(sse.send().await.unwrap()).await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "GET /sse counts too"
    );
    drop(open.pop());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = wire.get_in(&third).send().await.unwrap();
        if response.status() == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the slot never came back: {response:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn requests_past_the_session_in_flight_limit_get_429() {
    let node = Node::builder("demo")
        .env("SWITCHYARD__LIMITS__MAX_INFLIGHT_PER_SESSION", "1")
        .start();
    let wire = Wire::with_node(node);
    let session = wire.initialize("2025-11-25").await;
    let report = request(
        1,
        "tools/call",
        json!({"name": "generate_report", "arguments": {}, "_meta": {"progressToken": "p"}}),
    );
    // Answered as a stream (progress first); the report runs ~300 ms after the headers.
    let running = wire.post_in(&session, &report).send().await.unwrap();
    assert_eq!(running.status(), StatusCode::OK);
    let response = wire
        .post_in(&session, &request(2, "tools/list", json!({})))
        .send()
        .await
        .unwrap();
    let (status, setting, _) = refusal(response).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // What the node answers itself is not held back.
    let pong = wire.call(&session, &request(5, "ping", json!({}))).await;
    assert_eq!(pong["result"], json!({}), "{pong}");
    assert_eq!(setting.as_deref(), Some("limits.max_inflight_per_session"));
    let done = crate::support::response_for(running, &json!(1)).await;
    assert!(done.get("result").is_some(), "{done}");
    // The slot is given back with the answer.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = wire
            .post_in(&session, &request(3, "tools/list", json!({})))
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "still refused: {response:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_flood_past_the_rate_gets_429_for_the_excess_only() {
    let node = Node::builder("demo")
        .env("SWITCHYARD__LIMITS__RATE_PER_IP", "2")
        .env("SWITCHYARD__LIMITS__RATE_BURST", "5")
        .start();
    let wire = Wire::with_node(node);
    let mut served = 0;
    let mut refused = 0;
    for i in 0..30 {
        let response = wire
            .post(&request(i, "ping", json!({})))
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            let (_, setting, _) = refusal(response).await;
            assert_eq!(setting.as_deref(), Some("limits.rate_per_ip"));
            refused += 1;
        } else {
            served += 1;
        }
    }
    // The burst (5), and at most a few more at 2/s while the 30 went out.
    assert!(
        (5..15).contains(&served),
        "served {served}, refused {refused}"
    );
    assert_eq!(served + refused, 30);
    // The rate comes back: within a few seconds one is served again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = wire
            .post(&request(99, "ping", json!({})))
            .send()
            .await
            .unwrap();
        if response.status() != StatusCode::TOO_MANY_REQUESTS {
            break;
        }
        assert!(Instant::now() < deadline, "never served again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
