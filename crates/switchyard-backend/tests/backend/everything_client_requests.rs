//! `everything` tools that ask the client: sampling and elicitation.

use serde_json::json;

use crate::support::everything as harness;

#[tokio::test]
async fn sampling_asks_the_client_and_returns_its_answer() {
    let h = harness();
    let out = h
        .call_tool(
            "test_sampling",
            json!({ "prompt": "Test prompt for sampling" }),
        )
        .await;
    let params = h.only_request(&out, "sampling/createMessage");
    assert_eq!(
        params,
        json!({
            "messages": [ { "role": "user",
                            "content": { "type": "text", "text": "Test prompt for sampling" } } ],
            "maxTokens": 100
        })
    );
    assert_eq!(
        out.text(),
        "LLM response: This is a test response from the client"
    );
}

#[tokio::test]
async fn sampling_needs_the_capability_and_a_prompt() {
    let mut h = harness();
    let missing = h.call_tool("test_sampling", json!({})).await;
    assert!(missing.is_error());
    h.session.client_capabilities = json!({ "elicitation": {} });
    let unsupported = h
        .call_tool("test_sampling", json!({ "prompt": "hi" }))
        .await;
    assert!(unsupported.is_error());
    assert!(unsupported.text().contains("sampling"));
    assert!(
        h.asked().is_empty(),
        "nothing is sent to a client that cannot answer"
    );
}

#[tokio::test]
async fn elicitation_sends_the_documented_schema() {
    let h = harness();
    *h.client.elicitation_answer.lock().unwrap() = json!({ "action": "accept", "content": { "username": "testuser", "email": "test@example.com" } });
    let out = h
        .call_tool(
            "test_elicitation",
            json!({ "message": "Please provide your information" }),
        )
        .await;
    let params = h.only_request(&out, "elicitation/create");
    assert_eq!(params["message"], "Please provide your information");
    let schema = &params["requestedSchema"];
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["required"], json!(["username", "email"]));
    assert_eq!(schema["properties"]["username"]["type"], "string");
    assert_eq!(schema["properties"]["email"]["type"], "string");
    assert!(out.text().contains("action=accept"));
    assert!(out.text().contains("testuser") && out.text().contains("test@example.com"));
}
