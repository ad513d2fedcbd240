//! `everything` diagnostic tools of the 2026-07-28 scenarios.

use std::time::Duration;

use serde_json::json;
use switchyard_backend::ListKind;
use switchyard_protocol::jsonrpc::Message;

use crate::support::{Round, accept, everything, sampled};

#[tokio::test]
async fn missing_capability_needs_sampling() {
    let mut h = everything().modern();
    h.session.client_capabilities = json!({});
    let refused = h
        .call_round("test_missing_capability", json!({}))
        .await
        .done();
    assert_eq!(refused.error().code, -32021);
    assert_eq!(
        refused.error().data,
        Some(json!({ "requiredCapabilities": { "sampling": {} } }))
    );

    h.session.client_capabilities = json!({ "sampling": {} });
    let first = h.call_round("test_missing_capability", json!({})).await;
    assert_eq!(
        first.keys(),
        [("capability_probe", "sampling/createMessage")]
    );
    let answered = json!({ "capability_probe": sampled("hello") });
    let out = h
        .call_round("test_missing_capability", answered)
        .await
        .done();
    assert_eq!(out.text(), "LLM response: hello");
}

#[tokio::test]
async fn streaming_elicitation_streams_then_asks_through_input_required() {
    let mut h = everything().modern();
    h.session.client_capabilities = json!({ "elicitation": {} });
    let params = json!({ "name": "test_streaming_elicitation", "arguments": {},
                         "_meta": { "progressToken": "p" } });
    let first = h.round("tools/call", params.clone(), json!({})).await;
    assert_eq!(first.keys(), [("confirm", "elicitation/create")]);
    let Round::Asked(_, before) = &first else {
        unreachable!("keys() checked it asked")
    };
    assert!(
        matches!(&before[..], [Message::Notification(n)] if n.method == "notifications/progress"),
        "only progress precedes the question: {before:?}"
    );
    let yes = json!({ "confirm": accept(json!({ "ok": true })) });
    let out = h.round("tools/call", params, yes).await.done();
    assert_eq!(out.text(), "Streaming elicitation completed: action=accept");
    assert_eq!(out.notifications("notifications/progress").len(), 2);

    h.session.client_capabilities = json!({});
    let skipped = h
        .call_round("test_streaming_elicitation", json!({}))
        .await
        .done();
    assert!(!skipped.is_error() && skipped.text().contains("does not support"));
}

#[tokio::test]
async fn logging_tool_logs_three_messages_and_answers_at_once() {
    let out = everything()
        .modern()
        .call_tool("test_logging_tool", json!({}))
        .await;
    let logs = out.notifications("notifications/message");
    assert_eq!(logs.len(), 3, "{logs:?}");
    assert!(logs.iter().all(|l| l["data"].is_string()));
    assert!(
        out.elapsed < Duration::from_millis(200),
        "{:?}",
        out.elapsed
    );
    assert!(!out.is_error());
}

#[tokio::test]
async fn triggers_announce_list_changes() {
    let h = everything().modern();
    let tools = h.call_tool("test_trigger_tool_change", json!({})).await;
    assert!(!tools.is_error());
    assert_eq!(h.changes.lists.lock().unwrap().clone(), [ListKind::Tools]);
    h.call_tool("test_trigger_prompt_change", json!({})).await;
    assert_eq!(
        h.changes.lists.lock().unwrap().clone(),
        [ListKind::Tools, ListKind::Prompts]
    );
}

#[tokio::test]
async fn custom_header_tool_declares_a_string_x_mcp_header() {
    let h = everything().modern();
    let list = h.request("tools/list", json!({})).await;
    let tool = list.result()["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "test_custom_header")
        .cloned()
        .expect("listed");
    let region = &tool["inputSchema"]["properties"]["region"];
    assert_eq!(
        (region["type"].as_str(), region["x-mcp-header"].as_str()),
        (Some("string"), Some("Region"))
    );
    let annotated = tool["inputSchema"]["properties"]
        .as_object()
        .unwrap()
        .values()
        .filter(|p| p.get("x-mcp-header").is_some())
        .count();
    assert_eq!(annotated, 1);
    let out = h
        .call_tool("test_custom_header", json!({ "region": "Hello" }))
        .await;
    assert_eq!(out.text(), "Region: Hello");
    let missing = h.call_tool("test_custom_header", json!({})).await;
    assert!(missing.is_error());
}
