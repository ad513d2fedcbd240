//! `demo` resources: the client list and one client by email.

use serde_json::{Value, json};

use crate::support::demo;

fn json_text(v: &Value) -> Value {
    let c = &v["contents"][0];
    assert_eq!(c["mimeType"], "application/json");
    serde_json::from_str(c["text"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn client_resources() {
    let mut h = demo();
    let all = h
        .request("resources/read", json!({ "uri": "clients://all" }))
        .await;
    let clients = json_text(all.result())["clients"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(clients.len(), 4);
    let ada = clients
        .iter()
        .find(|c| c["email"] == "ada@example.com")
        .unwrap();
    assert_eq!(
        (ada["name"].as_str(), ada["bookings"].as_i64()),
        (Some("Ada Lovelace"), Some(2))
    );
    assert!(ada["next_booking"].is_string());

    for uri in ["clients://ada@example.com", "clients://ada%40example.com"] {
        let one = h.request("resources/read", json!({ "uri": uri })).await;
        assert_eq!(
            one.result()["contents"][0]["uri"],
            uri,
            "echoes the URI asked for"
        );
        let body = json_text(one.result());
        assert_eq!(body["client"]["phone"], "+44 20 7946 0001");
        assert_eq!(body["bookings"].as_array().unwrap().len(), 2);
    }

    for uri in ["clients://nobody@example.com", "clients://%zz", "other://x"] {
        let out = h.request("resources/read", json!({ "uri": uri })).await;
        assert_eq!(
            (out.error().code, out.error().data.clone()),
            (-32002, Some(json!({ "uri": uri })))
        );
    }
    h.session.protocol_version = "2026-07-28".into();
    let modern = h
        .request(
            "resources/read",
            json!({ "uri": "clients://nobody@example.com" }),
        )
        .await;
    assert_eq!(modern.error().code, -32602);
    assert_eq!(
        h.request("resources/read", json!({})).await.error().code,
        -32602
    );
}
