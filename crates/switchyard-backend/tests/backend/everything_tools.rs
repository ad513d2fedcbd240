//! The `everything` tools that need nothing from the client.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchyard_backend::StreamControl;

use crate::support::everything as harness;

#[tokio::test]
async fn content_tools_return_each_kind() {
    let h = harness();
    // The suite calls test_simple_text with no `arguments` key at all.
    let simple = h
        .request("tools/call", json!({ "name": "test_simple_text" }))
        .await;
    assert_eq!(simple.text(), "This is a simple text response for testing.");

    let image = h.call_tool("test_image_content", json!({})).await;
    let block = &image.result()["content"][0];
    assert_eq!(
        (block["type"].as_str(), block["mimeType"].as_str()),
        (Some("image"), Some("image/png"))
    );
    // Base64 of the PNG signature.
    assert!(block["data"].as_str().unwrap().starts_with("iVBORw0KGgo"));

    let audio = h.call_tool("test_audio_content", json!({})).await;
    let block = &audio.result()["content"][0];
    assert_eq!(
        (block["type"].as_str(), block["mimeType"].as_str()),
        (Some("audio"), Some("audio/wav"))
    );
    // Base64 of "RIFF".
    assert!(block["data"].as_str().unwrap().starts_with("UklGR"));

    let embedded = h.call_tool("test_embedded_resource", json!({})).await;
    let block = &embedded.result()["content"][0];
    assert_eq!(block["type"], "resource");
    assert_eq!(block["resource"]["uri"], "test://embedded-resource");
    assert_eq!(block["resource"]["mimeType"], "text/plain");
    assert!(!block["resource"]["text"].as_str().unwrap().is_empty());

    let mixed = h.call_tool("test_multiple_content_types", json!({})).await;
    let kinds: Vec<&str> = mixed.result()["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["text", "image", "resource"]);
}

#[tokio::test]
async fn error_handling_is_a_result_with_is_error() {
    let out = harness().call_tool("test_error_handling", json!({})).await;
    assert!(out.is_error());
    assert!(!out.text().is_empty());
}

#[tokio::test]
async fn progress_precedes_the_result_in_order() {
    let h = harness();
    let out = h
        .request(
            "tools/call",
            json!({ "name": "test_tool_with_progress", "arguments": {},
                    "_meta": { "progressToken": "progress-test-1" } }),
        )
        .await;
    let progress = out.notifications("notifications/progress");
    let expected: Vec<Value> = [0, 50, 100]
        .iter()
        .map(|p| json!({ "progressToken": "progress-test-1", "progress": f64::from(*p), "total": 100.0 }))
        .collect();
    assert_eq!(progress, expected);
    // Only progress notifications came before the result.
    assert_eq!(out.before.len(), 3);
    assert!(
        out.elapsed >= Duration::from_millis(100),
        "steps are ~50 ms apart: {:?}",
        out.elapsed
    );
    assert!(!out.text().is_empty());

    // Without a token there is nothing to report progress against.
    let quiet = h.call_tool("test_tool_with_progress", json!({})).await;
    assert!(quiet.notifications("notifications/progress").is_empty());
}

#[tokio::test]
async fn logging_sends_three_info_messages_before_the_result() {
    let out = harness()
        .call_tool("test_tool_with_logging", json!({}))
        .await;
    let logs = out.notifications("notifications/message");
    let data: Vec<&str> = logs.iter().map(|l| l["data"].as_str().unwrap()).collect();
    assert_eq!(
        data,
        [
            "Tool execution started",
            "Tool processing data",
            "Tool execution completed"
        ]
    );
    assert!(logs.iter().all(|l| l["level"] == "info"));
    assert!(!out.text().is_empty());
}

/// Records when the backend asked for the stream to be closed.
#[derive(Default)]
struct CloseRecorder(Mutex<Vec<Instant>>);

impl StreamControl for CloseRecorder {
    fn close_stream(&self) {
        self.0.lock().unwrap().push(Instant::now());
    }
}

#[tokio::test]
async fn reconnection_closes_the_stream_well_before_answering() {
    let mut h = harness();
    let closes = Arc::new(CloseRecorder::default());
    h.stream = Some(closes.clone());
    let started = Instant::now();
    let out = h.call_tool("test_reconnection", json!({})).await;
    let finished = Instant::now();
    assert_eq!(out.text(), "Reconnection test completed successfully");
    let closes = closes.0.lock().unwrap().clone();
    assert_eq!(closes.len(), 1, "the stream is closed exactly once");
    assert!(closes[0] > started);
    let after_close = finished - closes[0];
    assert!(
        after_close >= Duration::from_millis(300),
        "answered {after_close:?} after the close"
    );
}

#[tokio::test]
async fn trigger_announces_the_watched_resource() {
    let h = harness();
    let out = h.call_tool("test_trigger_resource_update", json!({})).await;
    assert!(!out.is_error());
    assert_eq!(h.updated(), ["test://watched-resource"]);
}

#[tokio::test]
async fn echo_returns_its_text() {
    let h = harness();
    let out = h.call_tool("echo", json!({ "text": "hello there" })).await;
    assert_eq!(out.text(), "hello there");
    let missing = h.call_tool("echo", json!({})).await;
    assert_eq!(missing.result()["isError"], json!(true));
}
