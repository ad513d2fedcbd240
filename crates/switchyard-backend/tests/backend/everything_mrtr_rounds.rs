//! `everything` input-required requests with several questions, and the prompt.

use serde_json::json;

use crate::support::{accept, everything, roots_answer, sampled};

#[tokio::test]
async fn multiple_inputs_asks_three_methods_in_one_round() {
    let h = everything().modern();
    let tool = "test_input_required_result_multiple_inputs";
    let first = h.call_round(tool, json!({})).await;
    assert_eq!(
        first.keys(),
        [
            ("user_name", "elicitation/create"),
            ("greeting", "sampling/createMessage"),
            ("client_roots", "roots/list"),
        ]
    );
    assert_eq!(first.questions()[2].params, json!({}));
    // A partial answer asks again for what is missing, and only that.
    let partial = json!({ "user_name": accept(json!({ "name": "Alice" })) });
    assert_eq!(
        h.call_round(tool, partial).await.keys(),
        [
            ("greeting", "sampling/createMessage"),
            ("client_roots", "roots/list")
        ]
    );
    let all = json!({ "user_name": accept(json!({ "name": "Alice" })),
                      "greeting": sampled("Hello there!"),
                      "client_roots": roots_answer() });
    let out = h.call_round(tool, all).await.done();
    for part in ["Alice", "Hello there!", "file:///test/root"] {
        assert!(out.text().contains(part), "{part} in {}", out.text());
    }
}

#[tokio::test]
async fn multi_round_asks_the_second_question_only_after_the_first_answer() {
    let h = everything().modern();
    let tool = "test_input_required_result_multi_round";
    let first = h.call_round(tool, json!({})).await;
    assert_eq!(first.keys(), [("step1", "elicitation/create")]);
    let step1 = accept(json!({ "name": "Alice" }));
    let second = h.call_round(tool, json!({ "step1": step1.clone() })).await;
    assert_eq!(second.keys(), [("step2", "elicitation/create")]);
    assert_eq!(
        second.questions()[0].params["requestedSchema"]["required"],
        json!(["color"])
    );
    let both = json!({ "step1": step1, "step2": accept(json!({ "color": "blue" })) });
    let out = h.call_round(tool, both).await.done();
    assert_eq!(out.text(), "Alice's favorite color is blue.");
}

#[tokio::test]
async fn capabilities_asks_only_what_the_client_declared() {
    let mut h = everything().modern();
    let tool = "test_input_required_result_capabilities";
    h.session.client_capabilities = json!({ "sampling": {} });
    let only_sampling = h.call_round(tool, json!({})).await;
    assert_eq!(
        only_sampling.keys(),
        [("greeting", "sampling/createMessage")]
    );
    let out = h
        .call_round(tool, json!({ "greeting": sampled("Hi!") }))
        .await
        .done();
    assert!(out.text().contains("Hi!"));

    h.session.client_capabilities = json!({ "elicitation": {}, "sampling": {} });
    let both = h.call_round(tool, json!({})).await;
    assert_eq!(
        both.keys(),
        [
            ("user_name", "elicitation/create"),
            ("greeting", "sampling/createMessage")
        ]
    );

    h.session.client_capabilities = json!({});
    let none = h.call_round(tool, json!({})).await.done();
    assert!(!none.is_error() && none.text().contains("nothing to ask"));
}

#[tokio::test]
async fn the_prompt_asks_user_context_then_returns_messages() {
    let h = everything().modern();
    let params = json!({ "name": "test_input_required_result_prompt" });
    let first = h.round("prompts/get", params.clone(), json!({})).await;
    assert_eq!(first.keys(), [("user_context", "elicitation/create")]);
    assert_eq!(
        first.questions()[0].params["message"],
        "What context should the prompt use?"
    );
    let answered = json!({ "user_context": accept(json!({ "context": "test context" })) });
    let out = h.round("prompts/get", params, answered).await.done();
    let messages = out.result()["messages"].as_array().unwrap().clone();
    assert_eq!(messages[0]["role"], "user");
    let text = messages[0]["content"]["text"].as_str().unwrap();
    assert!(text.contains("test context"), "{text}");
}

#[tokio::test]
async fn session_eras_ask_the_same_questions_on_the_stream() {
    let h = everything();
    let out = h
        .call_tool("test_input_required_result_multiple_inputs", json!({}))
        .await;
    let methods: Vec<String> = h.asked().into_iter().map(|(m, _)| m).collect();
    assert_eq!(
        methods,
        ["elicitation/create", "sampling/createMessage", "roots/list"]
    );
    // The scripted client accepts an empty form: no name, so the request fails plainly.
    assert_eq!(out.error().code, -32602);
    *h.client.elicitation_answer.lock().unwrap() = accept(json!({ "name": "Ada" }));
    let out = h
        .call_tool("test_input_required_result_elicitation", json!({}))
        .await;
    assert_eq!(out.text(), "Hello, Ada!");
}
