//! `demo` `cancel_booking`: the confirmation question (key `confirm`) comes before the one
//! irreversible step, in both eras; a client without elicitation is not asked.

use serde_json::{Value, json};

use crate::support::{Harness, accept, demo};

/// The id of the seeded pending booking (Grace's).
async fn pending_id(h: &Harness) -> Value {
    let out = h
        .call_tool("list_bookings", json!({ "status": "pending" }))
        .await;
    out.result()["structuredContent"]["bookings"][0]["id"].clone()
}

async fn status(h: &Harness, id: &Value) -> String {
    let out = h
        .call_tool(
            "list_bookings",
            json!({ "client_email": "grace@example.com" }),
        )
        .await;
    let bookings = out.result()["structuredContent"]["bookings"].clone();
    let booking = bookings.as_array().unwrap().iter().find(|b| b["id"] == *id);
    booking.expect("the booking exists")["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn call(id: &Value) -> Value {
    json!({ "name": "cancel_booking", "arguments": { "booking_id": id } })
}

#[tokio::test]
async fn asks_confirm_first_and_cancels_only_after_a_yes() {
    let h = demo().modern();
    let id = pending_id(&h).await;
    let first = h.round("tools/call", call(&id), json!({})).await;
    assert_eq!(first.keys(), [("confirm", "elicitation/create")]);
    let params = &first.questions()[0].params;
    assert!(
        params["message"]
            .as_str()
            .unwrap()
            .contains(&format!("#{id}"))
    );
    assert_eq!(params["requestedSchema"]["required"], json!(["confirm"]));
    assert_eq!(
        status(&h, &id).await,
        "pending",
        "nothing changes before the answer"
    );
    assert!(h.updated().is_empty());

    let no = json!({ "confirm": accept(json!({ "confirm": false })) });
    let kept = h.round("tools/call", call(&id), no).await.done();
    assert_eq!(kept.result()["structuredContent"]["cancelled"], false);
    let declined = json!({ "confirm": { "action": "decline" } });
    h.round("tools/call", call(&id), declined).await.done();
    assert_eq!(status(&h, &id).await, "pending");

    let yes = json!({ "confirm": accept(json!({ "confirm": true })) });
    let out = h.round("tools/call", call(&id), yes.clone()).await.done();
    let data = &out.result()["structuredContent"];
    assert_eq!(
        (
            data["cancelled"].as_bool(),
            data["booking"]["status"].as_str()
        ),
        (Some(true), Some("cancelled"))
    );
    assert_eq!(
        h.updated(),
        ["clients://all", "clients://grace@example.com"]
    );
    // A replayed confirmation cannot cancel twice.
    let again = h.round("tools/call", call(&id), yes).await.done();
    assert!(again.is_error() && again.text().contains("cannot be cancelled"));
}

#[tokio::test]
async fn refusals_need_no_question() {
    let h = demo().modern();
    for args in [
        json!({ "booking_id": 9999 }),
        json!({ "booking_id": "one" }),
        json!({}),
    ] {
        let params = json!({ "name": "cancel_booking", "arguments": args });
        let out = h.round("tools/call", params, json!({})).await.done();
        assert!(out.is_error(), "{args}");
    }
    let malformed = json!({ "confirm": 12345 });
    let out = h
        .round("tools/call", call(&pending_id(&h).await), malformed)
        .await
        .done();
    assert_eq!(out.error().code, -32602);
    assert!(h.updated().is_empty());
}

#[tokio::test]
async fn a_client_without_elicitation_is_not_asked() {
    let mut h = demo().modern();
    h.session.client_capabilities = json!({ "sampling": {} });
    let id = pending_id(&h).await;
    let out = h.round("tools/call", call(&id), json!({})).await.done();
    assert_eq!(out.result()["structuredContent"]["cancelled"], true);
    assert_eq!(status(&h, &id).await, "cancelled");
}

#[tokio::test]
async fn create_booking_still_books_in_the_stateless_revision() {
    let h = demo().modern();
    let args = json!({ "client_email": "ada@example.com", "starts_at": "2099-06-01T09:30:00Z",
                       "service": "Workshop" });
    let params = json!({ "name": "create_booking", "arguments": args });
    let out = h.round("tools/call", params, json!({})).await.done();
    assert_eq!(
        out.result()["structuredContent"]["booking"]["status"],
        "confirmed"
    );
}
