//! `everything` input-required tools with one question, under the stateless revision: the
//! first run stops at the question, the retry with the answer completes.

use serde_json::{Value, json};

use crate::support::{accept, everything, roots_answer, sampled};

fn name_schema() -> Value {
    json!({ "type": "object", "properties": { "name": { "type": "string" } }, "required": ["name"] })
}

#[tokio::test]
async fn elicitation_asks_user_name_then_greets() {
    let h = everything().modern();
    let tool = "test_input_required_result_elicitation";
    let first = h.call_round(tool, json!({})).await;
    assert_eq!(first.keys(), [("user_name", "elicitation/create")]);
    assert_eq!(
        first.questions()[0].params,
        json!({ "message": "What is your name?", "requestedSchema": name_schema() })
    );
    let answered = json!({ "user_name": accept(json!({ "name": "Alice" })) });
    let out = h.call_round(tool, answered).await.done();
    assert_eq!(out.text(), "Hello, Alice!");

    // Extra answers are ignored; an answer under the wrong key is asked for again.
    let extra = json!({ "user_name": accept(json!({ "name": "Bob" })),
                        "unknown_extra_key": accept(json!({ "foo": "bar" })) });
    assert_eq!(h.call_round(tool, extra).await.done().text(), "Hello, Bob!");
    let wrong = json!({ "wrong_key": accept(json!({ "data": "wrong" })) });
    assert_eq!(
        h.call_round(tool, wrong).await.keys(),
        [("user_name", "elicitation/create")]
    );
    let declined = json!({ "user_name": { "action": "decline" } });
    let out = h.call_round(tool, declined).await.done();
    assert!(!out.is_error() && out.text().contains("not to give a name"));
}

#[tokio::test]
async fn answers_of_the_wrong_shape_never_complete() {
    let h = everything().modern();
    let tool = "test_input_required_result_elicitation";
    for bad in [
        json!(12345),
        json!(null),
        json!("Alice"),
        accept(json!({ "name": 12345 })),
        json!({ "action": "accept" }),
    ] {
        let out = h.call_round(tool, json!({ "user_name": bad })).await.done();
        let e = out.error();
        assert_eq!(e.code, -32602, "{bad}");
        assert_eq!(
            e.data,
            Some(json!({ "inputResponse": "user_name" })),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn sampling_asks_capital_question() {
    let h = everything().modern();
    let tool = "test_input_required_result_sampling";
    let first = h.call_round(tool, json!({})).await;
    assert_eq!(
        first.keys(),
        [("capital_question", "sampling/createMessage")]
    );
    let params = &first.questions()[0].params;
    assert_eq!(params["maxTokens"], 100);
    assert_eq!(
        params["messages"][0]["content"]["text"],
        "What is the capital of France?"
    );
    let answered = json!({ "capital_question": sampled("The capital of France is Paris.") });
    let out = h.call_round(tool, answered).await.done();
    assert!(out.text().contains("Paris"), "{}", out.text());
    let not_sampling = json!({ "capital_question": { "roots": [] } });
    assert_eq!(
        h.call_round(tool, not_sampling).await.done().error().code,
        -32602
    );
}

#[tokio::test]
async fn list_roots_asks_client_roots_with_empty_params() {
    let h = everything().modern();
    let tool = "test_input_required_result_list_roots";
    let first = h.call_round(tool, json!({})).await;
    assert_eq!(first.keys(), [("client_roots", "roots/list")]);
    assert_eq!(first.questions()[0].params, json!({}));
    let out = h
        .call_round(tool, json!({ "client_roots": roots_answer() }))
        .await
        .done();
    assert!(out.text().contains("file:///test/root"), "{}", out.text());
}

#[tokio::test]
async fn request_state_and_tampered_state_ask_confirm() {
    let h = everything().modern();
    for tool in [
        "test_input_required_result_request_state",
        "test_input_required_result_tampered_state",
    ] {
        let first = h.call_round(tool, json!({})).await;
        assert_eq!(first.keys(), [("confirm", "elicitation/create")], "{tool}");
        let schema = &first.questions()[0].params["requestedSchema"];
        assert_eq!(schema["properties"]["ok"]["type"], "boolean");
        assert_eq!(schema["required"], json!(["ok"]));
        let yes = json!({ "confirm": accept(json!({ "ok": true })) });
        let out = h.call_round(tool, yes).await.done();
        assert!(out.text().starts_with("state-ok"), "{tool}: {}", out.text());
        assert!(out.text().contains("confirmed=true"));
    }
}

#[tokio::test]
async fn a_client_without_the_capability_gets_32021() {
    let mut h = everything().modern();
    h.session.client_capabilities = json!({ "sampling": {} });
    let out = h
        .call_round("test_input_required_result_elicitation", json!({}))
        .await
        .done();
    assert_eq!(out.error().code, -32021);
    assert_eq!(
        out.error().data,
        Some(json!({ "requiredCapabilities": { "elicitation": {} } }))
    );
}
