//! `everything`: capabilities, the tool list, and protocol errors.

use serde_json::json;
use switchyard_backend::Backend;
use switchyard_backend::everything::Everything;

use crate::support::everything as harness;

#[test]
fn capabilities_are_the_stateful_fixture_set() {
    assert_eq!(
        Everything::new().capabilities(),
        json!({
            "tools": { "listChanged": true },
            "resources": { "subscribe": true, "listChanged": true },
            "prompts": { "listChanged": true },
            "logging": {},
            "completions": {},
        })
    );
}

#[tokio::test]
async fn every_listed_tool_is_well_formed_and_callable() {
    let h = harness();
    // A user who declines every form: each asking tool must still come to a result.
    *h.client.elicitation_answer.lock().unwrap() = json!({ "action": "decline" });
    let list = h.request("tools/list", json!({})).await;
    let tools = list.result()["tools"].as_array().unwrap().clone();
    for tool in &tools {
        let name = tool["name"].as_str().unwrap();
        assert!((1..=128).contains(&name.len()), "{name}");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)),
            "{name}"
        );
        assert!(
            !tool["description"].as_str().unwrap_or("").is_empty(),
            "{name}"
        );
        assert_eq!(tool["inputSchema"]["type"], "object", "{name}");
        // Called without arguments, a tool may fail, but only as a tool: it exists.
        assert!(h.call_tool(name, json!({})).await.outcome.is_ok(), "{name}");
    }
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    for required in [
        "test_simple_text",
        "test_image_content",
        "test_audio_content",
        "test_embedded_resource",
        "test_multiple_content_types",
        "test_error_handling",
        "test_tool_with_progress",
        "test_tool_with_logging",
        "test_sampling",
        "test_elicitation",
        "test_elicitation_sep1034_defaults",
        "test_elicitation_sep1330_enums",
        "test_reconnection",
        "json_schema_2020_12_tool",
        "test_missing_capability",
        "test_streaming_elicitation",
        "test_logging_tool",
        "test_trigger_tool_change",
        "test_trigger_prompt_change",
        "test_custom_header",
    ] {
        assert!(names.contains(&required), "{required} is listed");
    }
    let mrtr = names
        .iter()
        .filter(|n| n.starts_with("test_input_required_result_"))
        .count();
    assert_eq!(mrtr, 8, "the input-required tools: {names:?}");
    assert_eq!(
        names[0], "test_simple_text",
        "header probes call the first tool"
    );
}

#[tokio::test]
async fn json_schema_2020_12_tool_keeps_its_keywords() {
    let list = harness().request("tools/list", json!({})).await;
    let tool = list.result()["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "json_schema_2020_12_tool")
        .unwrap()
        .clone();
    let s = &tool["inputSchema"];
    assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(s["$defs"]["address"]["$anchor"], "addressDef");
    assert_eq!(s["properties"]["address"]["$ref"], "#/$defs/address");
    assert_eq!(
        s["properties"]["contactMethod"]["enum"],
        json!(["phone", "email"])
    );
    assert_eq!(
        s["allOf"][0]["anyOf"],
        json!([{ "required": ["phone"] }, { "required": ["email"] }])
    );
    assert_eq!(s["if"]["properties"]["contactMethod"]["const"], "phone");
    assert_eq!(
        (&s["then"]["required"], &s["else"]["required"]),
        (&json!(["phone"]), &json!(["email"]))
    );
    assert_eq!(s["additionalProperties"], false);
}

#[tokio::test]
async fn protocol_errors() {
    let h = harness();
    let unknown = h.call_tool("no_such_tool", json!({})).await;
    assert_eq!(unknown.error().code, -32602);
    assert!(unknown.error().message.contains("no_such_tool"));
    assert_eq!(
        h.request("tools/call", json!({})).await.error().code,
        -32602
    );
    let bad_args = h
        .request(
            "tools/call",
            json!({ "name": "test_simple_text", "arguments": [1] }),
        )
        .await;
    assert_eq!(bad_args.error().code, -32602);
    assert_eq!(
        h.request("tools/list", json!({ "cursor": "x" }))
            .await
            .error()
            .code,
        -32602
    );
    assert_eq!(
        h.request("no/such/method", json!({})).await.error().code,
        -32601
    );
}
