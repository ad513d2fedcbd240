//! `redis.wait_replicas`: an acknowledged push is on that many replicas; with too few
//! replicas the push is refused (503) instead of acknowledged on the primary alone.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use switchyard_tests::{ADMIN_TOKEN, Node, RedisServer, Reply, SseReader};

use crate::admin::{numbered, push};
use crate::support::{STEP, client, get_stream, initialize};

/// A replica of `primary`, synchronised.
fn replica_of(primary: &RedisServer) -> RedisServer {
    let replica = RedisServer::start_with(vec![
        "--replicaof".into(),
        "127.0.0.1".into(),
        primary.port().to_string(),
    ]);
    let end = Instant::now() + STEP;
    while replica
        .info("replication")
        .get("master_link_status")
        .map(String::as_str)
        != Some("up")
    {
        assert!(Instant::now() < end, "the replica did not synchronise");
        std::thread::sleep(Duration::from_millis(20));
    }
    replica
}

fn node(primary: &RedisServer, wait: usize) -> Node {
    Node::builder("demo")
        .arg("--redis-url")
        .arg(primary.url())
        .env("SWITCHYARD__ADMIN__TOKEN", ADMIN_TOKEN)
        .env("SWITCHYARD__REDIS__TIMEOUT_MS", "1000")
        .env("SWITCHYARD__REDIS__WAIT_REPLICAS", wait.to_string())
        .start()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledged_push_waits_for_the_configured_replicas() {
    let primary = RedisServer::start();
    let replica = replica_of(&primary);
    let waiting = node(&primary, 1);
    let eager = node(&primary, 0);
    let http = client();
    let session = initialize(&http, &waiting.mcp_url()).await;
    let get = get_stream(&http, &waiting.mcp_url(), &session, None)
        .await
        .expect("GET");
    assert_eq!(get.status(), StatusCode::OK);
    let mut stream = SseReader::new(get);
    stream.next(STEP).await.expect("the priming event");

    // Acknowledged: the event is on the replica the moment the 202 arrives.
    let r = push(&http, &waiting.url(), &session, &numbered(1))
        .await
        .expect("push");
    assert_eq!(r.status(), StatusCode::ACCEPTED, "{r:?}");
    // The standalone stream's log (its name is random): the one stream key of the session.
    let pattern = format!("sy:l:{{{}}}:r*", session.id);
    let key = match primary.command(&["KEYS", &pattern]).expect("KEYS") {
        Reply::Array(Some(keys)) if keys.len() == 1 => match &keys[0] {
            Reply::Bulk(Some(k)) => k.clone(),
            other => panic!("a key name: {other:?}"),
        },
        other => panic!("one stream key: {other:?}"),
    };
    assert_eq!(
        primary.command(&["XLEN", &key]).expect("XLEN"),
        Reply::Int(1)
    );
    assert_eq!(
        replica
            .command(&["XLEN", &key])
            .expect("XLEN on the replica"),
        Reply::Int(1),
        "the acknowledged push is on the replica"
    );

    // No replica: the waiting node refuses to acknowledge; the other one does.
    drop(replica);
    let started = Instant::now();
    let r = push(&http, &waiting.url(), &session, &numbered(2))
        .await
        .expect("push");
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE, "{r:?}");
    assert!(r.headers().contains_key("retry-after"), "{r:?}");
    assert!(started.elapsed() < STEP, "bounded by redis.timeout_ms");
    let r = push(&http, &eager.url(), &session, &numbered(3))
        .await
        .expect("push");
    assert_eq!(r.status(), StatusCode::ACCEPTED, "{r:?}");
}
