//! `everything` resources: static text and blob, the template, unknown URIs.

use serde_json::json;

use crate::support::everything as harness;

#[tokio::test]
async fn resources_read_by_kind() {
    let mut h = harness();
    let list = h.request("resources/list", json!({})).await;
    let uris: Vec<&str> = list.result()["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uri"].as_str().unwrap())
        .collect();
    assert_eq!(
        uris,
        [
            "test://static-text",
            "test://static-binary",
            "test://watched-resource"
        ]
    );
    assert!(
        list.result()["resources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["name"].is_string())
    );

    let text = h
        .request("resources/read", json!({ "uri": "test://static-text" }))
        .await;
    let c = &text.result()["contents"][0];
    assert_eq!(
        (c["uri"].as_str(), c["mimeType"].as_str()),
        (Some("test://static-text"), Some("text/plain"))
    );
    assert!(!c["text"].as_str().unwrap().is_empty());

    let blob = h
        .request("resources/read", json!({ "uri": "test://static-binary" }))
        .await;
    assert!(
        blob.result()["contents"][0]["blob"]
            .as_str()
            .unwrap()
            .starts_with("iVBORw0KGgo")
    );

    let templates = h.request("resources/templates/list", json!({})).await;
    assert_eq!(
        templates.result()["resourceTemplates"][0]["uriTemplate"],
        "test://template/{id}/data"
    );
    let templated = h
        .request(
            "resources/read",
            json!({ "uri": "test://template/123/data" }),
        )
        .await;
    let c = &templated.result()["contents"][0];
    assert_eq!(c["uri"], "test://template/123/data");
    let data: serde_json::Value = serde_json::from_str(c["text"].as_str().unwrap()).unwrap();
    assert_eq!(data["id"], "123");

    let uri = "test://nonexistent-resource-for-conformance-testing";
    let missing = h.request("resources/read", json!({ "uri": uri })).await;
    assert_eq!(
        (missing.error().code, missing.error().data.clone()),
        (-32002, Some(json!({ "uri": uri })))
    );
    h.session.protocol_version = "2026-07-28".into();
    let modern = h.request("resources/read", json!({ "uri": uri })).await;
    assert_eq!(
        (modern.error().code, modern.error().data.clone()),
        (-32602, Some(json!({ "uri": uri })))
    );
}
