//! `log.format = "json"`: every line one JSON object; a refused request is one `info` line
//! with its status, JSON-RPC code and reason, and nothing of the request's body.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchyard_tests::Node;

use crate::support::{client, post};

/// What the refused request carries in its body: it must not reach the log.
const MARKER: &str = "body-marker-that-must-not-be-logged";

#[tokio::test]
async fn json_lines_with_one_line_per_refusal_and_no_body() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let log = dir.path().join("node.log");
    let node = Node::builder("demo")
        .env("SWITCHYARD__LOG__FORMAT", "json")
        .env("RUST_LOG", "info")
        .stderr_to(&log)
        .start();
    let http = client();
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "get_client", "arguments": {"email": MARKER}},
    });
    let response = post(
        &http,
        &node.mcp_url(),
        Some("0123456789abcdef0123456789abcdef"),
        &body,
    )
    .send()
    .await
    .expect("a POST");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let end = Instant::now() + Duration::from_secs(10);
    let refused = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect();
        assert!(!text.contains(MARKER), "the body reached the log:\n{text}");
        let found: Vec<Value> = lines
            .into_iter()
            .filter(|l| l["fields"]["message"] == "refused a request")
            .collect();
        if !found.is_empty() || Instant::now() >= end {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        refused.len(),
        1,
        "one line per refused request: {refused:?}"
    );
    let line = &refused[0];
    assert_eq!(line["level"], "INFO", "{line}");
    assert_eq!(line["fields"]["status"], 404, "{line}");
    assert_eq!(line["fields"]["code"], -32001, "{line}");
    assert_eq!(line["fields"]["reason"], "Session not found", "{line}");
    assert!(line["timestamp"].is_string(), "{line}");
}
