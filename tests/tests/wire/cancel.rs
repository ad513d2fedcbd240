//! `notifications/cancelled` reaches the backend: the request stops and sends no response.

use serde_json::{Value, json};

use crate::support::{STEP, Wire, request};

#[tokio::test]
async fn a_cancelled_request_stops_without_a_response() {
    let wire = Wire::start("demo");
    let session = wire.initialize("2025-11-25").await;
    let call = request(
        7,
        "tools/call",
        json!({ "name": "generate_report", "_meta": { "progressToken": "p" } }),
    );
    let response = wire.post_in(&session, &call).send().await.expect("POST");
    let mut sse = switchyard_tests::SseReader::new(response);
    // Wait for the first progress notification: the request is running.
    loop {
        let (_, m) = sse
            .next_json(STEP)
            .await
            .expect("progress before the result");
        assert_ne!(
            m.get("id"),
            Some(&json!(7)),
            "the report finished before it was cancelled"
        );
        if m["method"] == "notifications/progress" {
            break;
        }
    }
    let cancel = json!({
        "jsonrpc": "2.0",
        "method": "notifications/cancelled",
        "params": { "requestId": 7, "reason": "test" }
    });
    let accepted = wire
        .post_in(&session, &cancel)
        .send()
        .await
        .expect("POST cancel");
    assert_eq!(accepted.status(), reqwest::StatusCode::ACCEPTED);
    let rest = sse.collect_until_end(STEP).await.expect("the stream ends");
    let responses: Vec<Value> = rest
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(&e.data).ok())
        .filter(|m| m.get("id") == Some(&json!(7)))
        .collect();
    assert!(
        responses.is_empty(),
        "a cancelled request answered: {responses:?}"
    );

    // The session is fine afterwards.
    let ping = wire.call(&session, &request(8, "ping", json!({}))).await;
    assert_eq!(ping["result"], json!({}));
}
