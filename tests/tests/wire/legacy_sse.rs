//! The 2024-11-05 HTTP+SSE transport: `GET /sse` announces the `endpoint`, answers arrive on
//! the stream, and `/messages` knows only live sessions.

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::json;
use switchyard_tests::SseReader;

use crate::support::{STEP, Wire, initialize_body};

#[tokio::test]
async fn sse_announces_an_endpoint_that_answers_on_the_stream() {
    let wire = Wire::start("demo");
    let response = wire
        .http
        .get(wire.node.sse_url())
        .header(ACCEPT, "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{response:?}");
    let mut sse = SseReader::new(response);
    let endpoint = sse.next_message(STEP).await.expect("the endpoint event");
    assert_eq!(endpoint.event.as_deref(), Some("endpoint"), "{endpoint:?}");
    assert!(endpoint.data.contains("sessionId="), "{endpoint:?}");
    let url = reqwest::Url::parse(&wire.node.url())
        .unwrap()
        .join(&endpoint.data)
        .expect("the endpoint is a URI reference");

    let posted = wire
        .http
        .post(url.clone())
        .header(CONTENT_TYPE, "application/json")
        .body(initialize_body("2024-11-05").to_string())
        .send()
        .await
        .unwrap();
    assert!(posted.status().is_success(), "{posted:?}");
    let (_, answer) = sse.next_json(STEP).await.expect("the initialize answer");
    assert_eq!(answer["id"], json!(0), "{answer}");
    assert_eq!(
        answer["result"]["protocolVersion"], "2024-11-05",
        "{answer}"
    );

    // Closing the stream ends the session (the node notices asynchronously).
    drop(sse);
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        let status = wire
            .http
            .post(url.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string())
            .send()
            .await
            .unwrap()
            .status();
        if status == StatusCode::NOT_FOUND {
            break;
        }
        assert!(status.is_success(), "POST after close: {status}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "the session outlived its stream by {STEP:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn messages_without_a_live_session_are_refused() {
    let wire = Wire::start("demo");
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string();
    let unknown = wire
        .http
        .post(format!(
            "{}/messages?sessionId=no-such-session",
            wire.node.url()
        ))
        .header(CONTENT_TYPE, "application/json")
        .body(ping.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND, "{unknown:?}");
    let missing = wire
        .http
        .post(format!("{}/messages", wire.node.url()))
        .header(CONTENT_TYPE, "application/json")
        .body(ping)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST, "{missing:?}");
}
