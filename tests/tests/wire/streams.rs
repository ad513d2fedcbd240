//! SSE event ids and `Last-Event-ID` resumption, on the demo's slow `generate_report` tool
//! (progress notifications ~100 ms apart, then the result).

use std::collections::HashSet;

use reqwest::header::ACCEPT;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use switchyard_tests::SseReader;

use crate::support::{SESSION, STEP, Session, VERSION, Wire, content_type, request};

fn report(id: i64, token: &str) -> Value {
    request(
        id,
        "tools/call",
        json!({"name": "generate_report", "arguments": {}, "_meta": {"progressToken": token}}),
    )
}

/// A message read off a stream, with its event id.
#[derive(Debug, Clone)]
struct Seen {
    id: Option<String>,
    message: Value,
}

fn is_response_to(message: &Value, id: i64) -> bool {
    message["id"] == json!(id) && message.get("method").is_none()
}

fn progress_of(seen: &[Seen], token: &str) -> Vec<f64> {
    seen.iter()
        .filter(|s| s.message["method"] == "notifications/progress")
        .filter(|s| s.message["params"]["progressToken"] == token)
        .filter_map(|s| s.message["params"]["progress"].as_f64())
        .collect()
}

/// POSTs `body` and opens its SSE answer.
async fn open(wire: &Wire, session: &Session, body: &Value) -> SseReader {
    let response = wire.post_in(session, body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{response:?}");
    assert!(
        content_type(response.headers()).starts_with("text/event-stream"),
        "a call that reports progress must be answered on SSE: {response:?}"
    );
    SseReader::new(response)
}

/// Reads messages (recording every event id, priming events included) until `stop` holds.
async fn read_until(
    sse: &mut SseReader,
    ids: &mut Vec<String>,
    stop: impl Fn(&Value) -> bool,
) -> Vec<Seen> {
    let mut seen = Vec::new();
    loop {
        let event = sse
            .next(STEP)
            .await
            .expect("an event")
            .expect("the stream ended early");
        if let Some(id) = &event.id {
            ids.push(id.clone());
        }
        if event.data.is_empty() {
            continue;
        }
        let message: Value = serde_json::from_str(&event.data).expect("JSON data");
        let done = stop(&message);
        seen.push(Seen {
            id: event.id,
            message,
        });
        if done {
            return seen;
        }
    }
}

fn assert_unique(ids: &[String]) {
    let mut set = HashSet::new();
    for id in ids {
        assert!(
            set.insert(id),
            "event id {id:?} used twice in one session: {ids:?}"
        );
    }
}

/// The progress an uncut call reports.
async fn reference_progress(wire: &Wire, session: &Session, ids: &mut Vec<String>) -> Vec<f64> {
    let mut sse = open(wire, session, &report(100, "reference")).await;
    let seen = read_until(&mut sse, ids, |m| is_response_to(m, 100)).await;
    let progress = progress_of(&seen, "reference");
    assert!(
        progress.len() >= 3,
        "want ≥ 3 progress notifications: {seen:?}"
    );
    progress
}

#[tokio::test]
async fn event_ids_are_unique_across_a_sessions_streams() {
    let wire = Wire::start("demo");
    let session = wire.initialize("2025-11-25").await;
    let mut ids = Vec::new();

    // The standalone stream, then a subscription that will fire on it.
    let get = wire.get_in(&session).send().await.unwrap();
    assert_eq!(get.status(), StatusCode::OK, "{get:?}");
    let mut get = SseReader::new(get);
    let sub = wire
        .call(
            &session,
            &request(1, "resources/subscribe", json!({"uri": "clients://all"})),
        )
        .await;
    assert!(sub.get("result").is_some(), "{sub}");

    // Two slow calls at once, each on its own POST stream.
    let mut a = open(&wire, &session, &report(2, "a")).await;
    let mut b = open(&wire, &session, &report(3, "b")).await;
    let (mut ids_a, mut ids_b) = (Vec::new(), Vec::new());
    let (seen_a, seen_b) = tokio::join!(
        read_until(&mut a, &mut ids_a, |m| is_response_to(m, 2)),
        read_until(&mut b, &mut ids_b, |m| is_response_to(m, 3)),
    );
    assert!(progress_of(&seen_a, "a").len() >= 3, "{seen_a:?}");
    assert!(progress_of(&seen_b, "b").len() >= 3, "{seen_b:?}");
    assert!(
        progress_of(&seen_a, "b").is_empty(),
        "b's progress on a's stream"
    );
    assert!(
        progress_of(&seen_b, "a").is_empty(),
        "a's progress on b's stream"
    );
    for s in seen_a.iter().chain(&seen_b) {
        assert!(s.id.is_some(), "a message without an event id: {s:?}");
    }
    ids.extend(ids_a);
    ids.extend(ids_b);

    // A booking changes clients://all: the update arrives on the booking's POST answer or
    // on the standalone stream, with an id either way.
    let listed = wire
        .call(&session, &request(4, "resources/list", json!({})))
        .await;
    let email = listed["result"]["resources"]
        .as_array()
        .and_then(|r| {
            r.iter()
                .filter_map(|r| r["uri"].as_str())
                .find_map(|u| u.strip_prefix("clients://").filter(|e| e.contains('@')))
        })
        .unwrap_or_else(|| panic!("no client resource in {listed}"))
        .to_owned();
    let booking = request(
        5,
        "tools/call",
        json!({"name": "create_booking", "arguments": {
            "client_email": email, "starts_at": "2099-06-01T10:00:00Z", "service": "Wire test"
        }}),
    );
    let response = wire.post_in(&session, &booking).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{response:?}");
    let mut updated = false;
    if content_type(response.headers()).starts_with("text/event-stream") {
        let mut post = SseReader::new(response);
        let seen = read_until(&mut post, &mut ids, |m| is_response_to(m, 5)).await;
        let result = &seen.last().unwrap().message;
        assert_ne!(result["result"]["isError"], json!(true), "{result}");
        updated = seen
            .iter()
            .any(|s| s.message["method"] == "notifications/resources/updated");
    } else {
        let result: Value = response.json().await.unwrap();
        assert_ne!(result["result"]["isError"], json!(true), "{result}");
    }
    if !updated {
        let seen = read_until(&mut get, &mut ids, |m| {
            m["method"] == "notifications/resources/updated"
                && m["params"]["uri"] == "clients://all"
        })
        .await;
        assert!(seen.iter().all(|s| s.id.is_some()), "{seen:?}");
    }
    assert_unique(&ids);
}

/// Reads a stream up to its first progress notification, then drops the connection.
/// Returns what was seen and the id to resume from.
async fn cut_after_first_progress(
    wire: &Wire,
    session: &Session,
    id: i64,
    token: &str,
    ids: &mut Vec<String>,
) -> (Vec<Seen>, String) {
    let mut sse = open(wire, session, &report(id, token)).await;
    let seen = read_until(&mut sse, ids, |m| m["method"] == "notifications/progress").await;
    let last = sse
        .last_event_id()
        .unwrap_or_else(|| panic!("no event id before the cut: {seen:?}"))
        .to_owned();
    drop(sse);
    (seen, last)
}

/// `GET` with `Last-Event-ID`, read up to the response to `id`.
async fn resume(
    wire: &Wire,
    session: &Session,
    last: &str,
    id: i64,
    ids: &mut Vec<String>,
) -> Vec<Seen> {
    let response = wire
        .raw(Method::GET)
        .header(ACCEPT, "text/event-stream")
        .header(SESSION, &session.id)
        .header(VERSION, &session.version)
        .header("last-event-id", last)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "resume from {last}: {response:?}"
    );
    let mut sse = SseReader::new(response);
    read_until(&mut sse, ids, |m| is_response_to(m, id)).await
}

#[tokio::test]
async fn last_event_id_resumes_exactly_that_stream() {
    let wire = Wire::start("demo");
    let session = wire.initialize("2025-11-25").await;
    let mut ids = Vec::new();
    let expected = reference_progress(&wire, &session, &mut ids).await;

    // Two calls at once, both cut after their first progress notification.
    let (mut ids_a, mut ids_b) = (Vec::new(), Vec::new());
    let ((before_a, last_a), (before_b, last_b)) = tokio::join!(
        cut_after_first_progress(&wire, &session, 1, "a", &mut ids_a),
        cut_after_first_progress(&wire, &session, 2, "b", &mut ids_b),
    );
    ids.extend(ids_a);
    ids.extend(ids_b);

    // A standalone stream is open meanwhile: resumption must work beside it.
    let standalone = wire.get_in(&session).send().await.unwrap();
    assert_eq!(standalone.status(), StatusCode::OK, "{standalone:?}");

    for (before, last, id, token, other) in [
        (before_a, last_a, 1, "a", "b"),
        (before_b, last_b, 2, "b", "a"),
    ] {
        let after = resume(&wire, &session, &last, id, &mut ids).await;
        assert!(
            progress_of(&after, other).is_empty()
                && after.iter().all(|s| s.message["id"] != json!(3 - id)),
            "resuming {token}'s stream delivered {other}'s messages: {after:?}"
        );
        let mut progress = progress_of(&before, token);
        progress.extend(progress_of(&after, token));
        assert_eq!(
            progress, expected,
            "{token}: every progress notification exactly once (before the cut {before:?}, \
             after {after:?})"
        );
        let result = &after.last().unwrap().message;
        assert!(result["result"]["content"].is_array(), "{result}");
    }
    assert_unique(&ids);
}

#[tokio::test]
async fn resuming_an_unknown_event_id_is_refused() {
    let wire = Wire::start("demo");
    let session = wire.initialize("2025-11-25").await;
    let response = wire
        .raw(Method::GET)
        .header(ACCEPT, "text/event-stream")
        .header(SESSION, &session.id)
        .header(VERSION, &session.version)
        .header("last-event-id", "not-an-event-id")
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_client_error(),
        "Last-Event-ID that names no stream should get a 4xx: {response:?}"
    );
}
