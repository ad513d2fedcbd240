//! Multi round-trip requests: a tool that asks the user something answers `input_required`;
//! the retry with the answers completes — on any node holding the same state key — and a
//! forged or foreign `requestState` is refused.

use serde_json::{Map, Value, json};
use switchyard_tests::Node;

use crate::modern_support::{modern, modern_with, result_of};
use crate::support::Wire;

const STATE_KEY: &str = "SWITCHYARD__STATELESS__STATE_KEY";

fn everything_with_key(key: &str) -> Wire {
    Wire::with_node(Node::builder("everything").env(STATE_KEY, key).start())
}

/// `tools/call test_elicitation`, with extra top-level params (`inputResponses`,
/// `requestState`).
fn elicitation_call(id: i64, extra: Value) -> Value {
    let mut params = json!({"name": "test_elicitation", "arguments": {"message": "Who are you?"}});
    if let Value::Object(extra) = extra {
        params.as_object_mut().unwrap().extend(extra);
    }
    modern(id, "tools/call", params)
}

/// The first round: `input_required` with elicitation requests and a state. Returns the
/// input requests and the state.
async fn first_round(wire: &Wire) -> (Map<String, Value>, String) {
    let answer = wire.modern_call(&elicitation_call(1, json!({}))).await;
    let result = result_of(&answer);
    assert_eq!(result["resultType"], "input_required", "{answer}");
    let requests = result["inputRequests"]
        .as_object()
        .unwrap_or_else(|| panic!("no inputRequests: {answer}"))
        .clone();
    assert!(!requests.is_empty(), "{answer}");
    for (key, r) in &requests {
        assert!(!key.is_empty());
        assert_eq!(r["method"], "elicitation/create", "{answer}");
        assert_eq!(r["params"]["message"], "Who are you?", "{answer}");
        assert!(r["params"]["requestedSchema"].is_object(), "{answer}");
    }
    assert!(
        result.get("content").is_none(),
        "an input_required result is not a tool result: {answer}"
    );
    let state = result["requestState"]
        .as_str()
        .unwrap_or_else(|| panic!("no requestState: {answer}"))
        .to_owned();
    assert!(!state.is_empty());
    (requests, state)
}

/// An accepted answer to every request.
fn answers(requests: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    for key in requests.keys() {
        out.insert(
            key.clone(),
            json!({"action": "accept", "content": {"username": "ada", "email": "ada@example.com"}}),
        );
    }
    Value::Object(out)
}

/// The retry's answer.
async fn retry(wire: &Wire, id: i64, responses: Value, state: &str) -> Value {
    wire.modern_call(&elicitation_call(
        id,
        json!({"inputResponses": responses, "requestState": state}),
    ))
    .await
}

fn assert_completed_with_answer(answer: &Value) {
    let result = result_of(answer);
    assert_eq!(result["resultType"], "complete", "{answer}");
    assert_ne!(result.get("isError"), Some(&json!(true)), "{answer}");
    assert!(
        answer.to_string().contains("ada@example.com"),
        "the result does not use the answer: {answer}"
    );
}

#[tokio::test]
async fn input_required_then_retry_completes() {
    let wire = Wire::start("everything");
    let (requests, state) = first_round(&wire).await;
    let done = retry(&wire, 2, answers(&requests), &state).await;
    assert_completed_with_answer(&done);

    // The same state may be presented again: the node kept nothing to use up.
    let again = retry(&wire, 3, answers(&requests), &state).await;
    assert_completed_with_answer(&again);
}

#[tokio::test]
async fn a_tampered_or_misapplied_state_is_refused() {
    let wire = Wire::start("everything");
    let (requests, state) = first_round(&wire).await;

    let mut forged = state.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    for (case, bad) in [
        ("suffix", format!("{state}-TAMPERED")),
        ("one character", forged),
        ("garbage", "not-a-state".to_owned()),
    ] {
        let answer = retry(&wire, 10, answers(&requests), &bad).await;
        assert!(
            answer.get("error").is_some(),
            "{case}: a forged requestState was accepted: {answer}"
        );
    }

    // A state minted for test_elicitation does not open another tool's call.
    let body = modern(
        11,
        "tools/call",
        json!({
            "name": "test_sampling",
            "arguments": {"prompt": "hi"},
            "requestState": state,
        }),
    );
    let answer = wire.modern_call(&body).await;
    assert!(
        answer.get("error").is_some(),
        "a state minted for another tool was accepted: {answer}"
    );
}

#[tokio::test]
async fn the_retry_may_land_on_another_node_with_the_same_key() {
    let first = everything_with_key("one shared secret");
    let second = everything_with_key("one shared secret");
    let stranger = everything_with_key("another secret");
    let (requests, state) = first_round(&first).await;

    let done = retry(&second, 2, answers(&requests), &state).await;
    assert_completed_with_answer(&done);

    let refused = retry(&stranger, 3, answers(&requests), &state).await;
    assert!(
        refused.get("error").is_some(),
        "a node with another key accepted the state: {refused}"
    );
}

#[tokio::test]
async fn a_client_without_the_capability_is_not_asked() {
    let wire = Wire::start("everything");
    let body = modern_with(
        1,
        "tools/call",
        json!({"name": "test_elicitation", "arguments": {"message": "Who are you?"}}),
        json!({"sampling": {}}),
    );
    let answer = wire.modern_call(&body).await;
    let result = result_of(&answer);
    assert_eq!(
        result["resultType"], "complete",
        "a client that cannot elicit was asked to: {answer}"
    );
    assert!(result.get("inputRequests").is_none(), "{answer}");
}

#[tokio::test]
async fn list_requests_never_answer_input_required() {
    let wire = Wire::start("everything");
    for (i, method) in ["tools/list", "prompts/list", "resources/list"]
        .iter()
        .enumerate()
    {
        let answer = wire.modern_call(&modern(i as i64, method, json!({}))).await;
        assert_eq!(result_of(&answer)["resultType"], "complete", "{answer}");
    }
}

#[tokio::test]
async fn a_tool_that_needs_a_missing_capability_is_400_32021() {
    let wire = Wire::start("everything");
    let body = modern_with(
        "cap",
        "tools/call",
        json!({"name": "test_missing_capability", "arguments": {}}),
        json!({"elicitation": {}}),
    );
    let response = wire.post_modern(&body).send().await.unwrap();
    let error = crate::modern_support::assert_rejected(
        response,
        &body,
        reqwest::StatusCode::BAD_REQUEST,
        -32021,
        "no sampling capability",
    )
    .await;
    assert_eq!(
        error["error"]["data"]["requiredCapabilities"],
        json!({"sampling": {}}),
        "{error}"
    );

    // With the capability the same tool asks the client's model instead.
    let body = modern_with(
        "cap2",
        "tools/call",
        json!({"name": "test_missing_capability", "arguments": {}}),
        json!({"sampling": {}}),
    );
    let answer = wire.modern_call(&body).await;
    let result = result_of(&answer);
    assert_eq!(result["resultType"], "input_required", "{answer}");
    let asked: Vec<&Value> = result["inputRequests"]
        .as_object()
        .unwrap()
        .values()
        .map(|r| &r["method"])
        .collect();
    assert_eq!(asked, [&json!("sampling/createMessage")], "{answer}");
}
