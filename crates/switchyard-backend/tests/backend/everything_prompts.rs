//! `everything` prompts and `completion/complete`.

use serde_json::json;

use crate::support::everything as harness;

#[tokio::test]
async fn prompts_and_completion() {
    let h = harness();
    let list = h.request("prompts/list", json!({})).await;
    let prompts = list.result()["prompts"].as_array().unwrap().clone();
    assert_eq!(prompts.len(), 5);
    assert!(
        prompts
            .iter()
            .all(|p| !p["description"].as_str().unwrap_or("").is_empty())
    );

    let simple = h
        .request("prompts/get", json!({ "name": "test_simple_prompt" }))
        .await;
    assert_eq!(simple.result()["messages"][0]["role"], "user");
    let args = json!({ "name": "test_prompt_with_arguments",
                       "arguments": { "arg1": "testValue1", "arg2": "testValue2" } });
    let with_args = h.request("prompts/get", args).await.result().to_string();
    assert!(with_args.contains("testValue1") && with_args.contains("testValue2"));
    let missing = json!({ "name": "test_prompt_with_arguments", "arguments": { "arg1": "x" } });
    assert_eq!(h.request("prompts/get", missing).await.error().code, -32602);
    let embedded = h
        .request("prompts/get", json!({ "name": "test_prompt_with_embedded_resource",
                                        "arguments": { "resourceUri": "test://example-resource" } }))
        .await;
    let content = &embedded.result()["messages"][0]["content"];
    assert_eq!(
        (
            content["type"].as_str(),
            content["resource"]["uri"].as_str()
        ),
        (Some("resource"), Some("test://example-resource"))
    );
    let image = h
        .request("prompts/get", json!({ "name": "test_prompt_with_image" }))
        .await;
    let content = &image.result()["messages"][0]["content"];
    assert_eq!(
        (content["type"].as_str(), content["mimeType"].as_str()),
        (Some("image"), Some("image/png"))
    );
    assert_eq!(
        h.request("prompts/get", json!({ "name": "nope" }))
            .await
            .error()
            .code,
        -32602
    );

    let complete = |r: serde_json::Value, name: &str, value: &str| json!({ "ref": r, "argument": { "name": name, "value": value } });
    let arg1 = complete(
        json!({ "type": "ref/prompt", "name": "test_prompt_with_arguments" }),
        "arg1",
        "test",
    );
    let out = h.request("completion/complete", arg1).await;
    let values = out.result()["completion"]["values"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        !values.is_empty()
            && values
                .iter()
                .all(|v| v.as_str().unwrap().starts_with("test"))
    );
    let id = complete(
        json!({ "type": "ref/resource", "uri": "test://template/{id}/data" }),
        "id",
        "12",
    );
    assert_eq!(
        h.request("completion/complete", id).await.result()["completion"]["values"],
        json!(["123"])
    );
    let unknown = complete(json!({ "type": "ref/prompt", "name": "nope" }), "x", "");
    assert_eq!(
        h.request("completion/complete", unknown).await.error().code,
        -32602
    );
}
