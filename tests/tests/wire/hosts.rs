//! The `Host` allow-list (DNS-rebinding protection): the loopback names on a node bound to a
//! loopback address, any host on a node bound elsewhere unless `http.allowed_hosts` says
//! otherwise, and a 403 whose body names the setting that allows a host.

use reqwest::StatusCode;
use reqwest::header::HOST;
use switchyard_tests::Node;

use crate::support::{Wire, error_code, initialize_body};

const INVALID_REQUEST: i64 = -32600;

/// `initialize` with `Host: host`: the status, the JSON-RPC code and the body.
async fn initialize_as(wire: &Wire, host: &str) -> (StatusCode, Option<i64>, serde_json::Value) {
    let response = wire
        .post(&initialize_body("2025-11-25"))
        .header(HOST, host)
        .send()
        .await
        .expect("an answer");
    error_code(response).await
}

#[tokio::test]
async fn a_loopback_node_refuses_a_foreign_host_and_names_the_setting() {
    let wire = Wire::start("demo");
    let (status, code, body) = initialize_as(&wire, "evil.example.com").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(code, Some(INVALID_REQUEST), "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    for needle in [
        "evil.example.com",
        "http.allowed_hosts",
        "SWITCHYARD__HTTP__ALLOWED_HOSTS",
    ] {
        assert!(message.contains(needle), "{needle:?} not in {message:?}");
    }
    let port = wire.node.addr().port();
    let (status, _, body) = initialize_as(&wire, &format!("localhost:{port}")).await;
    assert_eq!(status, StatusCode::OK, "Host: localhost: {body}");
}

#[tokio::test]
async fn a_node_bound_to_every_address_accepts_any_host_unless_told() {
    let open = Wire::with_node(Node::builder("demo").bind("0.0.0.0:0").start());
    let (status, _, body) = initialize_as(&open, "mcp.example.com").await;
    assert_eq!(status, StatusCode::OK, "0.0.0.0 with no allow-list: {body}");

    let strict = Wire::with_node(
        Node::builder("demo")
            .bind("0.0.0.0:0")
            .env("SWITCHYARD__HTTP__ALLOWED_HOSTS", "mcp.example.com")
            .start(),
    );
    let (status, _, body) = initialize_as(&strict, "mcp.example.com").await;
    assert_eq!(status, StatusCode::OK, "an allowed name: {body}");
    let (status, code, body) = initialize_as(&strict, "other.example.com").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a name not allowed: {body}");
    assert_eq!(code, Some(INVALID_REQUEST), "{body}");
}
