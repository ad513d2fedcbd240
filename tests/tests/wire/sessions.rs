//! Session rules: notifications, termination, batches per revision, the standalone stream.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use switchyard_tests::SseReader;

use crate::support::{
    SESSION, STEP, VERSION, Wire, content_type, error_code, request, response_for,
};

#[tokio::test]
async fn notifications_get_202_with_no_body() {
    let wire = Wire::start("demo");
    let session = wire.initialize("2025-11-25").await;
    let response = wire
        .post_in(
            &session,
            &json!({"jsonrpc": "2.0", "method": "notifications/roots/list_changed"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED, "{response:?}");
    let body = response.bytes().await.unwrap();
    assert!(body.is_empty(), "202 with a body: {body:?}");
}

#[tokio::test]
async fn delete_ends_the_session() {
    let wire = Wire::start("demo");
    let session = wire.initialize("2025-11-25").await;
    let ping = wire.call(&session, &request(1, "ping", json!({}))).await;
    assert_eq!(ping["result"], json!({}), "{ping}");

    let delete = || {
        wire.raw(Method::DELETE)
            .header(SESSION, &session.id)
            .header(VERSION, &session.version)
    };
    let response = delete().send().await.unwrap();
    assert!(response.status().is_success(), "DELETE: {response:?}");

    let response = wire
        .post_in(&session, &request(2, "ping", json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "POST after DELETE: {response:?}"
    );
    let response = wire.get_in(&session).send().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "GET after DELETE: {response:?}"
    );
    let response = delete().send().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "second DELETE: {response:?}"
    );
}

#[tokio::test]
async fn delete_closes_the_open_get_stream() {
    let wire = Wire::start("demo");
    let session = wire.initialize("2025-11-25").await;
    let stream = wire.get_in(&session).send().await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK, "{stream:?}");
    let mut stream = SseReader::new(stream);
    let response = wire
        .raw(Method::DELETE)
        .header(SESSION, &session.id)
        .header(VERSION, &session.version)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "DELETE: {response:?}");
    let rest = stream
        .collect_until_end(STEP)
        .await
        .expect("the GET stream should end after DELETE");
    assert!(
        rest.iter().all(|e| e.data.is_empty()),
        "messages after DELETE: {rest:?}"
    );
}

/// The responses to a batch, from a JSON array or an SSE stream.
async fn batch_answers(response: reqwest::Response, ids: &[i64]) -> Vec<Value> {
    if content_type(response.headers()).starts_with("application/json") {
        let body: Value = response.json().await.unwrap();
        return body.as_array().cloned().unwrap_or_else(|| vec![body]);
    }
    let mut sse = SseReader::new(response);
    let mut answers = Vec::new();
    while answers.len() < ids.len() {
        let (_, message) = sse.next_json(STEP).await.expect("batch answers on SSE");
        if message.get("method").is_none() {
            answers.push(message);
        }
    }
    answers
}

#[tokio::test]
async fn batches_are_accepted_on_2025_03_26() {
    let wire = Wire::start("demo");
    let session = wire.initialize("2025-03-26").await;
    let batch = json!([
        request(1, "ping", json!({})),
        request(2, "tools/list", json!({})),
        {"jsonrpc": "2.0", "method": "notifications/roots/list_changed"}
    ]);
    let response = wire.post_in(&session, &batch).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{response:?}");
    let answers = batch_answers(response, &[1, 2]).await;
    let mut ids: Vec<i64> = answers.iter().filter_map(|a| a["id"].as_i64()).collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![1, 2], "{answers:?}");
    let tools = answers.iter().find(|a| a["id"] == 2).unwrap();
    assert!(tools["result"]["tools"].is_array(), "{tools}");
}

#[tokio::test]
async fn batches_are_refused_after_2025_03_26() {
    let wire = Wire::start("demo");
    for version in ["2025-06-18", "2025-11-25"] {
        let session = wire.initialize(version).await;
        let batch = json!([request(1, "ping", json!({})), request(2, "ping", json!({}))]);
        let response = wire.post_in(&session, &batch).send().await.unwrap();
        let (status, code, body) = error_code(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{version}: {body}");
        assert_eq!(code, Some(-32600), "{version}: {body}");
    }
}

#[tokio::test]
async fn answers_are_json_or_sse_for_every_revision() {
    let wire = Wire::start("demo");
    for version in ["2025-03-26", "2025-06-18", "2025-11-25"] {
        let session = wire.initialize(version).await;
        let response = wire
            .post_in(&session, &request(7, "tools/list", json!({})))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{version}: {response:?}");
        let answer = response_for(response, &json!(7)).await;
        assert!(answer["result"]["tools"].is_array(), "{version}: {answer}");
    }
}

/// Early Streamable HTTP clients (Python SDK 1.8, TypeScript SDK 1.10) ask for 2024-11-05 on
/// `/mcp` and accept nothing else: the node echoes it (`initialize` asserts the echo) and
/// serves the session under the 2025-03-26 rules — batches accepted, the header accepted.
#[tokio::test]
async fn an_early_client_asking_2024_11_05_on_mcp_is_answered_2024_11_05() {
    let wire = Wire::start("demo");
    let session = wire.initialize("2024-11-05").await;
    assert_eq!(session.version, "2024-11-05");
    let batch = json!([
        request(1, "ping", json!({})),
        request(2, "tools/list", json!({}))
    ]);
    let response = wire.post_in(&session, &batch).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{response:?}");
    let answers = batch_answers(response, &[1, 2]).await;
    let tools = answers.iter().find(|a| a["id"] == 2).expect("answer 2");
    assert!(tools["result"]["tools"].is_array(), "{tools}");
}
