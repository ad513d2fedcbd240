//! `demo`: capabilities and listings.

use std::path::Path;

use serde_json::json;
use switchyard_backend::Backend;
use switchyard_backend::demo::Demo;

use crate::support::demo;

#[test]
fn capabilities() {
    let demo = Demo::open(Path::new(":memory:")).unwrap();
    assert_eq!(
        demo.capabilities(),
        json!({
            "tools": {},
            "resources": { "subscribe": true, "listChanged": true },
            "prompts": {},
            "logging": {},
            "completions": {},
        })
    );
}

#[tokio::test]
async fn tools_have_proper_input_schemas() {
    let list = demo().request("tools/list", json!({})).await;
    let tools = list.result()["tools"].as_array().unwrap().clone();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "get_client",
            "list_bookings",
            "create_booking",
            "cancel_booking",
            "create_client",
            "generate_report"
        ]
    );
    for tool in &tools {
        let name = &tool["name"];
        assert!(!tool["description"].as_str().unwrap().is_empty(), "{name}");
        let schema = &tool["inputSchema"];
        assert_eq!(schema["type"], "object", "{name}");
        let props = schema["properties"].as_object().unwrap();
        let required = schema["required"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} has `required`"));
        for key in required {
            assert!(
                props.contains_key(key.as_str().unwrap()),
                "{name}: {key} is a property"
            );
        }
    }
    let create = tools
        .iter()
        .find(|t| t["name"] == "create_booking")
        .unwrap();
    assert_eq!(
        create["inputSchema"]["required"],
        json!(["client_email", "starts_at", "service"])
    );
}

#[tokio::test]
async fn listings() {
    let h = demo();
    let resources = h.request("resources/list", json!({})).await;
    let uris: Vec<&str> = resources.result()["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uri"].as_str().unwrap())
        .collect();
    assert_eq!(uris[0], "clients://all");
    assert!(uris.contains(&"clients://ada@example.com"));
    assert_eq!(
        uris.len(),
        5,
        "the list and one per seeded client: {uris:?}"
    );

    let templates = h.request("resources/templates/list", json!({})).await;
    assert_eq!(
        templates.result()["resourceTemplates"][0]["uriTemplate"],
        "clients://{email}"
    );

    let prompts = h.request("prompts/list", json!({})).await;
    let prompt = &prompts.result()["prompts"][0];
    assert_eq!(prompt["name"], "client_summary");
    assert_eq!(
        prompt["arguments"],
        json!([{
            "name": "client_email", "description": "The client's email address", "required": true
        }])
    );

    assert_eq!(
        h.request("ping", json!({})).await.error().code,
        -32601,
        "the node answers ping"
    );
    assert_eq!(
        h.request("resources/list", json!({ "cursor": "2" }))
            .await
            .error()
            .code,
        -32602
    );
}
