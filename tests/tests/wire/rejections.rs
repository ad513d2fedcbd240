//! Bad requests get a precise HTTP status and JSON-RPC error, never a hang.

use reqwest::header::{ACCEPT, ALLOW, CONTENT_TYPE, ORIGIN};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{BOTH, SESSION, VERSION, Wire, error_code, initialize_body, request};

const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;

#[tokio::test]
async fn request_without_session_id_is_400() {
    let wire = Wire::start("demo");
    let _session = wire.initialize("2025-11-25").await;
    let response = wire
        .post(&request(1, "tools/list", json!({})))
        .header(VERSION, "2025-11-25")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{response:?}");
}

#[tokio::test]
async fn unknown_session_id_is_404() {
    let wire = Wire::start("demo");
    let response = wire
        .post(&request(1, "tools/list", json!({})))
        .header(SESSION, "no-such-session-0123456789")
        .header(VERSION, "2025-11-25")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "{response:?}");
}

#[tokio::test]
async fn post_not_accepting_json_and_sse_is_406() {
    let wire = Wire::start("demo");
    let response = wire
        .raw(Method::POST)
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, "text/html")
        .body(initialize_body("2025-11-25").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::NOT_ACCEPTABLE,
        "{response:?}"
    );
}

#[tokio::test]
async fn get_not_accepting_sse_is_406() {
    let wire = Wire::start("demo");
    let session = wire.initialize("2025-11-25").await;
    let response = wire
        .raw(Method::GET)
        .header(ACCEPT, "application/json")
        .header(SESSION, &session.id)
        .header(VERSION, &session.version)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::NOT_ACCEPTABLE,
        "{response:?}"
    );
}

#[tokio::test]
async fn non_json_content_type_is_415() {
    let wire = Wire::start("demo");
    let response = wire
        .raw(Method::POST)
        .header(CONTENT_TYPE, "text/plain")
        .header(ACCEPT, BOTH)
        .body(initialize_body("2025-11-25").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{response:?}"
    );
}

#[tokio::test]
async fn malformed_json_is_a_parse_error() {
    let wire = Wire::start("demo");
    let session = wire.initialize("2025-11-25").await;
    let response = wire
        .raw(Method::POST)
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, BOTH)
        .header(SESSION, &session.id)
        .header(VERSION, &session.version)
        .body(r#"{"jsonrpc": "2.0", "id": 1, "method": "#)
        .send()
        .await
        .unwrap();
    let (status, code, body) = error_code(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code, Some(PARSE_ERROR), "{body}");
    assert!(body["id"].is_null(), "a parse error has a null id: {body}");
}

#[tokio::test]
async fn invalid_envelopes_are_invalid_requests() {
    let wire = Wire::start("demo");
    let session = wire.initialize("2025-11-25").await;
    for envelope in [
        json!({"jsonrpc": "1.0", "id": 1, "method": "ping"}),
        json!({"jsonrpc": "2.0", "id": 1}),
        json!({"jsonrpc": "2.0", "id": {"nested": true}, "method": "ping"}),
        json!({"jsonrpc": "2.0", "id": 1, "method": 42}),
        json!("just a string"),
    ] {
        let response = wire.post_in(&session, &envelope).send().await.unwrap();
        let (status, code, body) = error_code(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{envelope} → {body}");
        assert_eq!(code, Some(INVALID_REQUEST), "{envelope} → {body}");
    }
}

#[tokio::test]
async fn body_over_4_mib_is_413() {
    let wire = Wire::start("demo");
    let session = wire.initialize("2025-11-25").await;
    let padding = "a".repeat(4 * 1024 * 1024 + 1);
    let body = request(
        1,
        "tools/call",
        json!({"name": "get_client", "arguments": {"email": padding}}),
    );
    let response = wire
        .post_in(&session, &body)
        .send()
        .await
        .expect("the node should answer an oversized body, not drop the connection");
    assert_eq!(
        response.status(),
        StatusCode::PAYLOAD_TOO_LARGE,
        "{response:?}"
    );
}

#[tokio::test]
async fn put_is_405_with_allow() {
    let wire = Wire::start("demo");
    let response = wire.raw(Method::PUT).body("{}").send().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::METHOD_NOT_ALLOWED,
        "{response:?}"
    );
    let allow = response
        .headers()
        .get(ALLOW)
        .expect("405 without an Allow header")
        .to_str()
        .unwrap()
        .to_ascii_uppercase();
    for method in ["GET", "POST", "DELETE"] {
        assert!(allow.contains(method), "Allow: {allow} lacks {method}");
    }
}

#[tokio::test]
async fn foreign_origin_is_403_and_own_origin_is_served() {
    let wire = Wire::start("demo");
    let response = wire
        .post(&initialize_body("2025-11-25"))
        .header(ORIGIN, "http://evil.example.com")
        .send()
        .await
        .unwrap();
    let (status, code, body) = error_code(response).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(code, Some(INVALID_REQUEST), "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("http.allowed_origins")
            && message.contains("SWITCHYARD__HTTP__ALLOWED_ORIGINS"),
        "the 403 should name the setting: {message:?}"
    );

    let session = wire.initialize("2025-11-25").await;
    let response = wire
        .post_in(&session, &request(1, "ping", json!({})))
        .header(ORIGIN, "http://evil.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "in a session: {response:?}"
    );

    let own = format!("http://localhost:{}", wire.node.addr().port());
    let response = wire
        .post(&initialize_body("2025-11-25"))
        .header(ORIGIN, own)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "own origin: {response:?}"
    );
}

#[tokio::test]
async fn unsupported_protocol_version_header_is_400() {
    let wire = Wire::start("demo");
    let session = wire.initialize("2025-11-25").await;
    let response = wire
        .post(&request(1, "tools/list", json!({})))
        .header(SESSION, &session.id)
        .header(VERSION, "1999-01-01")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{response:?}");
}
