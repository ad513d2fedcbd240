//! The `client_summary` prompt and email completion.

use serde_json::{Value, json};

use crate::support::demo;

#[tokio::test]
async fn client_summary_prompt_embeds_the_client() {
    let h = demo();
    let out = h
        .request(
            "prompts/get",
            json!({ "name": "client_summary",
                                        "arguments": { "client_email": "grace@example.com" } }),
        )
        .await;
    let messages = out.result()["messages"].as_array().unwrap().clone();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["role"], "user");
    let text = messages[0]["content"]["text"].as_str().unwrap();
    assert!(text.contains("Grace Hopper") && text.contains("+1 202 555 0142"));
    assert!(
        text.contains("Prefers morning slots"),
        "bookings are embedded too"
    );

    let missing = h
        .request("prompts/get", json!({ "name": "client_summary" }))
        .await;
    assert_eq!(missing.error().code, -32602);
    let unknown = h
        .request(
            "prompts/get",
            json!({ "name": "client_summary",
                                        "arguments": { "client_email": "nobody@example.com" } }),
        )
        .await;
    assert_eq!(unknown.error().code, -32602);
    assert_eq!(
        h.request("prompts/get", json!({ "name": "other" }))
            .await
            .error()
            .code,
        -32602
    );
}

#[tokio::test]
async fn completion_matches_email_prefixes() {
    let h = demo();
    let ask = |r: Value, arg: &str, value: &str| json!({ "ref": r, "argument": { "name": arg, "value": value } });
    let prompt = json!({ "type": "ref/prompt", "name": "client_summary" });
    let out = h
        .request(
            "completion/complete",
            ask(prompt.clone(), "client_email", "a"),
        )
        .await;
    assert_eq!(
        out.result()["completion"],
        json!({ "values": ["ada@example.com", "alan@example.com"], "total": 2, "hasMore": false })
    );
    let upper = h
        .request(
            "completion/complete",
            ask(prompt.clone(), "client_email", "GR"),
        )
        .await;
    assert_eq!(
        upper.result()["completion"]["values"],
        json!(["grace@example.com"])
    );
    let all = h
        .request(
            "completion/complete",
            ask(prompt.clone(), "client_email", ""),
        )
        .await;
    assert_eq!(
        all.result()["completion"]["values"]
            .as_array()
            .unwrap()
            .len(),
        4
    );

    let template = json!({ "type": "ref/resource", "uri": "clients://{email}" });
    let out = h
        .request("completion/complete", ask(template, "email", "k"))
        .await;
    assert_eq!(
        out.result()["completion"]["values"],
        json!(["katherine@example.com"])
    );

    let other_arg = h
        .request("completion/complete", ask(prompt, "other", "a"))
        .await;
    assert_eq!(other_arg.result()["completion"]["values"], json!([]));
    let bad_prompt = json!({ "type": "ref/prompt", "name": "nope" });
    assert_eq!(
        h.request("completion/complete", ask(bad_prompt, "x", ""))
            .await
            .error()
            .code,
        -32602
    );
}
