//! A legacy client and a modern client on the same node at the same time: each sees only its
//! own era. The legacy one has a session, a standalone GET stream, results without
//! `resultType`, a server→client elicitation request on its response stream and untagged
//! change notices; the modern one has none of the session machinery, `resultType` and caching
//! hints on its results, `input_required` instead of a server request, and tagged notices on
//! its `subscriptions/listen` stream.

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchyard_tests::SseReader;

use crate::modern_support::{
    META_SERVER_INFO, META_SUBSCRIPTION_ID, METHOD_NOT_FOUND, assert_rejected, modern, result_of,
};
use crate::support::{SESSION, STEP, Session, Wire, content_type, request, response_for};

const LEGACY: &str = "2025-11-25";

/// `initialize` as a 2025-11-25 client that can answer elicitation requests.
async fn legacy_session(wire: &Wire) -> Session {
    let body = json!({
        "jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {
            "protocolVersion": LEGACY,
            "capabilities": {"elicitation": {}},
            "clientInfo": {"name": "eras-legacy", "version": "0"}
        }
    });
    let response = wire.post(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{response:?}");
    let id = response
        .headers()
        .get(SESSION)
        .expect("a legacy initialize mints a session")
        .to_str()
        .unwrap()
        .to_owned();
    let init = response_for(response, &json!(0)).await;
    assert_eq!(init["result"]["protocolVersion"], LEGACY, "{init}");
    assert!(
        init["result"].get("resultType").is_none(),
        "a legacy initialize result with resultType: {init}"
    );
    let session = Session {
        id,
        version: LEGACY.into(),
    };
    let initialized = wire
        .post_in(
            &session,
            &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(initialized.status(), StatusCode::ACCEPTED);
    session
}

/// Checks a legacy result carries none of 2026-07-28's additions.
fn assert_legacy_result(answer: &Value, what: &str) {
    let result = answer["result"]
        .as_object()
        .unwrap_or_else(|| panic!("{what}: no result in {answer}"));
    for key in ["resultType", "ttlMs", "cacheScope"] {
        assert!(
            !result.contains_key(key),
            "{what}: a legacy result carries {key}: {answer}"
        );
    }
    assert!(
        result
            .get("_meta")
            .and_then(|m| m.get(META_SERVER_INFO))
            .is_none(),
        "{what}: a legacy result names the server in _meta: {answer}"
    );
}

/// Checks a modern result carries `resultType` and the server's name.
fn assert_modern_result(answer: &Value, what: &str) {
    let result = result_of(answer);
    assert_eq!(result["resultType"], "complete", "{what}: {answer}");
    assert!(
        result["_meta"][META_SERVER_INFO]["name"].is_string(),
        "{what}: {answer}"
    );
}

fn tool_names(answer: &Value) -> Vec<String> {
    answer["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("no tools in {answer}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

fn booking_args(email: &str, day: u32) -> Value {
    json!({
        "client_email": email,
        "starts_at": format!("2032-05-{day:02}T09:00:00Z"),
        "service": "Era check",
    })
}

fn booking_id(answer: &Value) -> i64 {
    answer["result"]["structuredContent"]["booking"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no booking id in {answer}"))
}

/// The next `notifications/resources/updated` on a legacy stream: untagged.
async fn legacy_update(stream: &mut SseReader) -> Value {
    let (_, n) = stream.next_json(STEP).await.expect("a legacy notification");
    assert_eq!(n["method"], "notifications/resources/updated", "{n}");
    assert!(
        n["params"]
            .get("_meta")
            .and_then(|m| m.get(META_SUBSCRIPTION_ID))
            .is_none(),
        "a legacy notice tagged with a subscription id: {n}"
    );
    n
}

/// The next `notifications/resources/updated` on a listen stream: tagged with `id`.
async fn modern_update(stream: &mut SseReader, id: &Value) -> Value {
    let (_, n) = stream.next_json(STEP).await.expect("a modern notification");
    assert_eq!(n["method"], "notifications/resources/updated", "{n}");
    assert_eq!(n["params"]["_meta"][META_SUBSCRIPTION_ID], *id, "{n}");
    n
}

/// Legacy `cancel_booking`: the confirmation arrives as a server request on the POST's SSE
/// stream and is answered with a POST of its own.
async fn legacy_cancel(wire: &Wire, session: &Session, booking: i64) -> Value {
    let call = request(
        50,
        "tools/call",
        json!({"name": "cancel_booking", "arguments": {"booking_id": booking}}),
    );
    let response = wire.post_in(session, &call).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        content_type(response.headers()).starts_with("text/event-stream"),
        "a legacy call that asks the client must stream: {response:?}"
    );
    let mut sse = SseReader::new(response);
    let mut asked = false;
    loop {
        let (_, m) = sse
            .next_json(STEP)
            .await
            .expect("a message on the call's stream");
        if m["method"] == "elicitation/create" {
            assert!(m.get("id").is_some(), "a server request has an id: {m}");
            assert!(
                m["params"]["message"]
                    .as_str()
                    .is_some_and(|t| t.contains(&format!("#{booking}"))),
                "{m}"
            );
            let answer = json!({
                "jsonrpc": "2.0", "id": m["id"],
                "result": {"action": "accept", "content": {"confirm": true}}
            });
            let posted = wire.post_in(session, &answer).send().await.unwrap();
            assert_eq!(posted.status(), StatusCode::ACCEPTED, "{posted:?}");
            asked = true;
        } else if m["id"] == call["id"] && m.get("method").is_none() {
            assert!(asked, "cancelled without asking: {m}");
            return m;
        } else {
            assert!(
                m.get("id").is_none(),
                "an unexpected request on the stream: {m}"
            );
        }
    }
}

/// Modern `cancel_booking`: `input_required` with the `confirm` question, then a retry.
async fn modern_cancel(wire: &Wire, booking: i64) -> Value {
    let params = json!({"name": "cancel_booking", "arguments": {"booking_id": booking}});
    let first = wire
        .modern_call(&modern(60, "tools/call", params.clone()))
        .await;
    let result = result_of(&first);
    assert_eq!(result["resultType"], "input_required", "{first}");
    let question = &result["inputRequests"]["confirm"];
    assert_eq!(question["method"], "elicitation/create", "{first}");
    let mut retry = params;
    retry["inputResponses"] =
        json!({"confirm": {"action": "accept", "content": {"confirm": true}}});
    if let Some(state) = result.get("requestState") {
        retry["requestState"] = state.clone();
    }
    wire.modern_call(&modern(61, "tools/call", retry)).await
}

#[tokio::test]
async fn legacy_and_modern_clients_on_one_node_each_see_their_own_era() {
    let wire = Wire::start("demo");
    let session = legacy_session(&wire).await;

    // The legacy client's standalone stream and subscription; the modern client's listener.
    let get = wire.get_in(&session).send().await.unwrap();
    assert_eq!(get.status(), StatusCode::OK, "{get:?}");
    let mut legacy_stream = SseReader::new(get);
    let sub = wire
        .call(
            &session,
            &request(1, "resources/subscribe", json!({"uri": "clients://all"})),
        )
        .await;
    assert_eq!(sub["result"], json!({}), "{sub}");
    let listen_id = json!("eras");
    let listen = modern(
        listen_id.clone(),
        "subscriptions/listen",
        json!({"notifications": {"resourceSubscriptions": ["clients://all"]}}),
    );
    let response = wire.post_modern(&listen).send().await.unwrap();
    assert!(response.headers().get(SESSION).is_none());
    let mut modern_stream = SseReader::new(response);
    let (_, ack) = modern_stream.next_json(STEP).await.unwrap();
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");

    // The same lists, at the same time, each in its era's shape.
    let legacy_list = request(2, "tools/list", json!({}));
    let modern_list = modern(2, "tools/list", json!({}));
    let (legacy_tools, modern_tools) = tokio::join!(
        wire.call(&session, &legacy_list),
        wire.modern_call(&modern_list),
    );
    assert_legacy_result(&legacy_tools, "legacy tools/list");
    assert_modern_result(&modern_tools, "modern tools/list");
    assert!(result_of(&modern_tools)["ttlMs"].is_u64(), "{modern_tools}");
    assert_eq!(tool_names(&legacy_tools), tool_names(&modern_tools));

    let read = wire
        .call(
            &session,
            &request(3, "resources/read", json!({"uri": "clients://all"})),
        )
        .await;
    assert_legacy_result(&read, "legacy resources/read");
    let all: Value =
        serde_json::from_str(read["result"]["contents"][0]["text"].as_str().unwrap()).unwrap();
    let email = all["clients"][0]["email"].as_str().unwrap().to_owned();

    // A booking by each client: both hear of both, each in its own way.
    let by_modern = wire
        .modern_call(&modern(
            4,
            "tools/call",
            json!({"name": "create_booking", "arguments": booking_args(&email, 10)}),
        ))
        .await;
    assert_modern_result(&by_modern, "modern create_booking");
    let n = legacy_update(&mut legacy_stream).await;
    assert_eq!(n["params"]["uri"], "clients://all");
    modern_update(&mut modern_stream, &listen_id).await;

    let by_legacy = wire
        .call(
            &session,
            &request(
                5,
                "tools/call",
                json!({"name": "create_booking", "arguments": booking_args(&email, 11)}),
            ),
        )
        .await;
    assert_legacy_result(&by_legacy, "legacy create_booking");
    legacy_update(&mut legacy_stream).await;
    modern_update(&mut modern_stream, &listen_id).await;

    // Each cancels the other's booking, at the same time: the legacy client is asked on its
    // stream, the modern one through input_required.
    let (legacy_cancelled, modern_cancelled) = tokio::join!(
        legacy_cancel(&wire, &session, booking_id(&by_modern)),
        modern_cancel(&wire, booking_id(&by_legacy)),
    );
    assert_legacy_result(&legacy_cancelled, "legacy cancel_booking");
    assert_eq!(
        legacy_cancelled["result"]["structuredContent"]["cancelled"], true,
        "{legacy_cancelled}"
    );
    assert_modern_result(&modern_cancelled, "modern cancel_booking");
    assert_eq!(
        modern_cancelled["result"]["structuredContent"]["cancelled"], true,
        "{modern_cancelled}"
    );

    // Methods only one era has.
    let ping = wire.call(&session, &request(6, "ping", json!({}))).await;
    assert_eq!(ping["result"], json!({}), "{ping}");
    let modern_ping = modern(6, "ping", json!({}));
    let response = wire.post_modern(&modern_ping).send().await.unwrap();
    assert_rejected(
        response,
        &modern_ping,
        StatusCode::NOT_FOUND,
        METHOD_NOT_FOUND,
        "modern ping",
    )
    .await;
    let discover = wire
        .call(&session, &request(7, "server/discover", json!({})))
        .await;
    assert!(
        discover.get("error").is_some(),
        "server/discover is not a 2025-11-25 method: {discover}"
    );

    // The legacy session ends; the modern client does not notice.
    let delete = wire
        .raw(reqwest::Method::DELETE)
        .header(SESSION, &session.id)
        .header(crate::support::VERSION, LEGACY)
        .send()
        .await
        .unwrap();
    assert!(delete.status().is_success(), "{delete:?}");
    let after = wire.modern_call(&modern(8, "tools/list", json!({}))).await;
    assert_modern_result(&after, "modern tools/list after the DELETE");
}
