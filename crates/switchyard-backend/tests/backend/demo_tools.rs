//! `demo` tools: lookups, cancelling, adding clients.

use serde_json::json;
use switchyard_backend::ListKind;

use crate::support::demo;

#[tokio::test]
async fn get_client_returns_the_client_and_bookings() {
    let h = demo();
    let out = h
        .call_tool("get_client", json!({ "email": "Ada@Example.com" }))
        .await;
    let data = &out.result()["structuredContent"];
    assert_eq!(data["client"]["name"], "Ada Lovelace");
    assert_eq!(data["bookings"].as_array().unwrap().len(), 2);
    // The text block carries the same JSON for older clients.
    let text: serde_json::Value = serde_json::from_str(out.text()).unwrap();
    assert_eq!(&text, data);

    for bad in [
        json!({ "email": "nobody@example.com" }),
        json!({ "email": "not-an-email" }),
        json!({}),
    ] {
        let out = h.call_tool("get_client", bad.clone()).await;
        assert!(out.is_error(), "{bad}");
    }
    assert_eq!(
        h.call_tool("get_clients", json!({})).await.error().code,
        -32602
    );
}

#[tokio::test]
async fn list_bookings_filters() {
    let h = demo();
    let all = h.call_tool("list_bookings", json!({})).await;
    assert_eq!(
        all.result()["structuredContent"]["bookings"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    let pending = h
        .call_tool("list_bookings", json!({ "status": "pending" }))
        .await;
    let pending = pending.result()["structuredContent"]["bookings"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["client_email"], "grace@example.com");
    let upcoming = h
        .call_tool("list_bookings", json!({ "upcoming_only": true }))
        .await;
    assert_eq!(
        upcoming.result()["structuredContent"]["bookings"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert!(
        h.call_tool("list_bookings", json!({ "status": "lost" }))
            .await
            .is_error()
    );
}

#[tokio::test]
async fn cancel_and_create_client() {
    let h = demo();
    let pending = h
        .call_tool("list_bookings", json!({ "status": "pending" }))
        .await;
    let id = pending.result()["structuredContent"]["bookings"][0]["id"].clone();
    // The session-era client is asked on the stream and confirms.
    *h.client.elicitation_answer.lock().unwrap() =
        json!({ "action": "accept", "content": { "confirm": true } });
    let out = h
        .call_tool("cancel_booking", json!({ "booking_id": id }))
        .await;
    assert_eq!(
        out.result()["structuredContent"]["booking"]["status"],
        "cancelled"
    );
    assert_eq!(
        h.updated(),
        ["clients://all", "clients://grace@example.com"]
    );
    assert!(
        h.call_tool("cancel_booking", json!({ "booking_id": id }))
            .await
            .is_error()
    );
    assert!(
        h.call_tool("cancel_booking", json!({ "booking_id": "one" }))
            .await
            .is_error()
    );

    let new = json!({ "name": "Hedy Lamarr", "email": "Hedy@Example.com" });
    let created = h.call_tool("create_client", new.clone()).await;
    assert_eq!(
        created.result()["structuredContent"]["client"]["email"],
        "hedy@example.com"
    );
    assert_eq!(
        h.changes.lists.lock().unwrap().clone(),
        [ListKind::Resources]
    );
    assert!(
        h.call_tool("create_client", new).await.is_error(),
        "emails are unique"
    );
}
