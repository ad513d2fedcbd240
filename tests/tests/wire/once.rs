//! Every message once, on one node (in-memory state): one focused test per way it used to
//! break (issue 10; the cross-node ones are in the `cluster` tests).

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use switchyard_tests::{Node, SseReader, marked, marker_of};

use crate::support::{STEP, Session, Wire, content_type};

const TOKEN: &str = "once-admin-token";

fn node() -> Node {
    Node::builder("demo")
        .env("SWITCHYARD__ADMIN__TOKEN", TOKEN)
        .start()
}

async fn admin(wire: &Wire, path: &str, body: &Value) -> reqwest::Response {
    wire.http
        .post(format!("{}/admin/v1/{path}", wire.node.url()))
        .bearer_auth(TOKEN)
        .header(CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("admin POST")
}

async fn push(wire: &Wire, session: &Session, marker: &str) {
    let r = admin(
        wire,
        &format!("sessions/{}/messages", session.id),
        &marked(marker),
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED, "push {marker}: {r:?}");
}

async fn broadcast(wire: &Wire, marker: &str) {
    let r = admin(wire, "broadcast", &marked(marker)).await;
    assert_eq!(
        r.status(),
        StatusCode::ACCEPTED,
        "broadcast {marker}: {r:?}"
    );
}

/// Opens a GET stream (resuming after `last` when given) and waits for its 200.
async fn open(wire: &Wire, session: &Session, last: Option<&str>) -> SseReader {
    let mut req = wire.get_in(session);
    if let Some(id) = last {
        req = req.header("last-event-id", id);
    }
    let r = req.send().await.expect("GET /mcp");
    assert_eq!(r.status(), StatusCode::OK, "GET (after {last:?}): {r:?}");
    assert!(content_type(r.headers()).starts_with("text/event-stream"));
    SseReader::new(r)
}

/// Reads `stream` until every marker of `want` has arrived; the count of each marker seen.
async fn read_markers(stream: &mut SseReader, want: &[String]) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + STEP;
    while !want.iter().all(|m| seen.contains_key(m)) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let event = stream
            .next_message(left)
            .await
            .unwrap_or_else(|e| panic!("waiting for {want:?}, saw {seen:?}: {e}"));
        if let Some(m) = marker_of(&event.data) {
            *seen.entry(m).or_default() += 1;
        }
    }
    seen
}

/// A superseded connection ends (within the deadline), and nothing new reaches it.
async fn assert_ends_without(stream: &mut SseReader, forbidden: &[&str]) {
    let rest = stream
        .collect_until_end(STEP)
        .await
        .expect("a superseded stream must end");
    for e in rest {
        let m = marker_of(&e.data);
        assert!(
            !m.as_deref().is_some_and(|m| forbidden.contains(&m)),
            "a superseded connection received {m:?}"
        );
    }
}

/// Bug 1 and 2b: a resume while the old connection still stands supersedes it; pushes,
/// broadcasts and raw deliveries then reach the session once, on the new connection only.
#[tokio::test]
async fn a_resume_supersedes_the_old_connection_and_nothing_is_doubled() {
    let wire = Wire::with_node(node());
    let session = wire.initialize("2025-11-25").await;
    let mut old = open(&wire, &session, None).await;
    push(&wire, &session, "before").await;
    read_markers(&mut old, &["before".into()]).await;
    let last = old.last_event_id().expect("an event id").to_owned();
    // The old connection is still open: the server has not noticed anything.
    let mut new = open(&wire, &session, Some(&last)).await;
    push(&wire, &session, "push-after").await;
    broadcast(&wire, "broadcast-after").await;
    let want = ["push-after".to_owned(), "broadcast-after".to_owned()];
    let seen = read_markers(&mut new, &want).await;
    assert_ends_without(&mut old, &["push-after", "broadcast-after"]).await;
    // Everything the log holds for the stream, from its start: each marker once.
    let start = format!("{}_0", last.rsplit_once('_').expect("an id").0);
    let mut replay = open(&wire, &session, Some(&start)).await;
    let all = ["before", "push-after", "broadcast-after"].map(String::from);
    let logged = read_markers(&mut replay, &all).await;
    assert_ends_without(&mut new, &[]).await;
    for m in &all {
        assert_eq!(logged.get(m), Some(&1), "{m} logged {logged:?}");
    }
    assert!(
        seen.values().all(|&n| n == 1),
        "the new connection saw {seen:?}"
    );
}

/// Bug 2a: a GET without `Last-Event-ID` right after the previous connection closed (FIN,
/// not yet noticed) is served at once (200, never 409), and a second live GET supersedes
/// the first, which ends.
#[tokio::test]
async fn a_new_get_stream_is_never_refused() {
    let wire = Wire::with_node(node());
    let session = wire.initialize("2025-11-25").await;
    let first = open(&wire, &session, None).await;
    drop(first);
    let mut second = open(&wire, &session, None).await;
    let mut third = open(&wire, &session, None).await;
    push(&wire, &session, "to-third").await;
    let seen = read_markers(&mut third, &["to-third".into()]).await;
    assert_eq!(seen.get("to-third"), Some(&1));
    assert_ends_without(&mut second, &["to-third"]).await;
}

/// Bug 3: a burst of broadcasts (far more than a subscription buffers) reaches an open
/// stream exactly once each, in order; broadcasts made while the stream was away arrive
/// when it is resumed.
#[tokio::test]
async fn broadcasts_arrive_once_after_gaps_and_absences() {
    let wire = Wire::with_node(node());
    let session = wire.initialize("2025-11-25").await;
    let mut stream = open(&wire, &session, None).await;
    let burst: Vec<String> = (0..300).map(|i| format!("b{i}")).collect();
    let sends = burst.chunks(50).map(|chunk| {
        let wire = &wire;
        async move {
            for m in chunk {
                broadcast(wire, m).await;
            }
        }
    });
    futures::future::join_all(sends).await;
    let seen = read_markers(&mut stream, &burst).await;
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        twice.is_empty(),
        "broadcasts seen more than once: {twice:?}"
    );

    let last = stream.last_event_id().expect("an id").to_owned();
    drop(stream);
    let away: Vec<String> = (0..5).map(|i| format!("away{i}")).collect();
    for m in &away {
        broadcast(&wire, m).await;
    }
    let mut resumed = open(&wire, &session, Some(&last)).await;
    let seen = read_markers(&mut resumed, &away).await;
    assert!(seen.values().all(|&n| n == 1), "after a resume: {seen:?}");
}

/// Bug 6: a session whose only activity is its open GET stream outlives its idle TTL.
#[tokio::test]
async fn listening_keeps_a_session_alive() {
    let ttl = Duration::from_secs(2);
    let wire = Wire::with_node(
        Node::builder("demo")
            .env("SWITCHYARD__ADMIN__TOKEN", TOKEN)
            .env(
                "SWITCHYARD__SESSION__IDLE_TTL_SECS",
                ttl.as_secs().to_string(),
            )
            .start(),
    );
    let session = wire.initialize("2025-11-25").await;
    let idle = wire.initialize("2025-11-25").await;
    let mut stream = open(&wire, &session, None).await;
    // What is tested is the passing of time itself: three idle TTLs with no request.
    tokio::time::sleep(ttl * 3).await;
    push(&wire, &session, "still-here").await;
    read_markers(&mut stream, &["still-here".into()]).await;
    let r = admin(
        &wire,
        &format!("sessions/{}/messages", idle.id),
        &marked("x"),
    )
    .await;
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "a session with no stream and no request must still expire"
    );
}

/// A Redis that may evict keys is reported: logged at start and listed by `/readyz`.
#[tokio::test]
async fn an_evicting_redis_is_reported_in_readyz() {
    let redis = switchyard_tests::RedisServer::start();
    redis
        .command(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"])
        .expect("CONFIG SET");
    let node = Node::builder("demo")
        .arg("--redis-url")
        .arg(redis.url())
        .start();
    let ready = readyz(&node).await;
    let warnings = ready["warnings"].to_string();
    assert!(
        warnings.contains("maxmemory-policy is allkeys-lru"),
        "{ready}"
    );
    drop(node);
    redis
        .command(&["CONFIG", "SET", "maxmemory-policy", "noeviction"])
        .expect("CONFIG SET");
    let node = Node::builder("demo")
        .arg("--redis-url")
        .arg(redis.url())
        .start();
    let ready = readyz(&node).await;
    assert_eq!(ready["warnings"], json!([]), "{ready}");
}

async fn readyz(node: &Node) -> Value {
    reqwest::get(format!("{}/readyz", node.url()))
        .await
        .expect("GET /readyz")
        .json()
        .await
        .expect("JSON")
}

/// Pushes and broadcasts at once: the owner's appends interleave with other producers'
/// in the log, and the stream still carries every one of them, once.
#[tokio::test]
async fn pushes_and_broadcasts_interleave_without_loss() {
    let wire = Wire::with_node(node());
    let session = wire.initialize("2025-11-25").await;
    let mut stream = open(&wire, &session, None).await;
    let pushes: Vec<String> = (0..100).map(|i| format!("p{i}")).collect();
    let broadcasts: Vec<String> = (0..100).map(|i| format!("b{i}")).collect();
    let (wire_ref, session_ref) = (&wire, &session);
    let sends = pushes
        .chunks(25)
        .map(|chunk| {
            Box::pin(async move {
                for m in chunk {
                    push(wire_ref, session_ref, m).await;
                }
            }) as std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>
        })
        .chain(broadcasts.chunks(25).map(|chunk| {
            Box::pin(async move {
                for m in chunk {
                    broadcast(wire_ref, m).await;
                }
            }) as std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>
        }));
    futures::future::join_all(sends).await;
    let all: Vec<String> = pushes.iter().chain(&broadcasts).cloned().collect();
    let seen = read_markers(&mut stream, &all).await;
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "seen more than once: {twice:?}");
}
