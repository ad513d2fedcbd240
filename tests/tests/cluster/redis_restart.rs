//! `redis-server` (AOF, `appendfsync always`) stopped and started again under an open
//! session: 503 with `Retry-After` meanwhile, heartbeats on the open stream, then the same
//! session works and every acknowledged event is still there.

use std::time::Duration;

use reqwest::StatusCode;
use switchyard_protocol::event_id::EventId;
use switchyard_tests::{Cluster, Signal};
use tokio::time::Instant;

use crate::admin::{numbered, push, push_all};
use crate::raw_stream::RawStream;
use crate::support::{STEP, client, echo, get_stream, initialize};

/// Pushes acknowledged before the stop, and after the restart.
const BEFORE: u64 = 100;
const AFTER: u64 = 20;
const RECOVERY: Duration = Duration::from_secs(30);

fn epoch(id: &str) -> String {
    id.parse::<EventId>().expect("an event id").epoch
}

async fn restart_keeps_what_was_acknowledged(signal: Signal) {
    let mut cluster = Cluster::builder(3, "everything")
        .env("SWITCHYARD__HTTP__KEEP_ALIVE_SECS", "1")
        .start();
    let http = client();
    let mcp = cluster.mcp_url();
    let session = initialize(&http, &mcp).await;
    let response = get_stream(&http, &mcp, &session, None).await.expect("GET");
    assert_eq!(response.status(), StatusCode::OK, "{response:?}");
    let mut stream = RawStream::new(response);
    let priming = stream.next_event(STEP).await.expect("the priming event");
    let priming = priming.id.expect("the priming event has an id");

    let mut acked = push_all(&cluster, &http, &session, 0..BEFORE).await;
    assert_eq!(
        stream.read_numbered(0, BEFORE).await,
        acked,
        "live, before the stop"
    );

    let status = cluster.redis_mut().stop(signal);
    println!("redis-server stopped with SIG{}: {status}", signal.name());

    // Down: what needs Redis is refused with 503 and Retry-After; the stream idles on.
    let r = echo(&http, &mcp, &session, 1)
        .await
        .expect("tools/call while Redis is down");
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE, "{r:?}");
    assert!(
        r.headers().contains_key("retry-after"),
        "503 without Retry-After: {r:?}"
    );
    let r = push(&http, &cluster.node_url(0), &session, &numbered(999))
        .await
        .expect("push");
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE, "{r:?}");
    assert!(
        r.headers().contains_key("retry-after"),
        "503 without Retry-After: {r:?}"
    );
    stream
        .expect_comments(2, Duration::from_secs(10))
        .await
        .expect("keep-alive comments on the open stream while Redis is down");

    cluster.redis_mut().restart();
    // Every node serves the same session again (its command connection is replaced).
    for i in 0..cluster.len() {
        let url = format!("{}/mcp", cluster.node_url(i));
        let end = Instant::now() + RECOVERY;
        loop {
            let last = match echo(&http, &url, &session, 2).await {
                Ok(r) if r.status() == StatusCode::OK => break,
                Ok(r) => format!("{} {:?}", r.status(), r.text().await),
                Err(e) => format!("{e:#}"),
            };
            assert!(Instant::now() < end, "node {i} did not recover: {last}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    let later = push_all(&cluster, &http, &session, BEFORE..BEFORE + AFTER).await;
    assert_eq!(
        epoch(&later[0]),
        epoch(&acked[0]),
        "the AOF kept the log's epoch"
    );
    assert_eq!(
        stream.read_numbered(BEFORE, AFTER).await,
        later,
        "the stream opened before the stop receives what was pushed after the restart"
    );
    acked.extend(later);
    drop(stream);

    // A fresh resumption from the start, through the balancer: every acknowledged event.
    let response = get_stream(&http, &mcp, &session, Some(&priming))
        .await
        .expect("GET");
    assert_eq!(response.status(), StatusCode::OK, "{response:?}");
    let mut resumed = RawStream::new(response);
    let replayed = resumed.read_numbered(0, BEFORE + AFTER).await;
    let lost = acked.iter().filter(|id| !replayed.contains(id)).count();
    println!(
        "cluster redis restart (SIG{}): {} acknowledged ({BEFORE} before, {AFTER} after), \
         {} replayed, lost {lost}",
        signal.name(),
        acked.len(),
        replayed.len()
    );
    assert_eq!(replayed, acked, "every acknowledged event, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_after_sigterm_loses_nothing_acknowledged() {
    restart_keeps_what_was_acknowledged(Signal::Term).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_after_sigkill_loses_nothing_acknowledged() {
    restart_keeps_what_was_acknowledged(Signal::Kill).await;
}
