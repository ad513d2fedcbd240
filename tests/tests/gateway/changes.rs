//! Change notices an upstream sends while answering reach every subscribed client, on any
//! node: a TypeScript SDK server's `resources/updated` and `tools/list_changed`, sent on one
//! node's request, arrive on a GET stream another node holds.

use std::time::Duration;

use reqwest::header::ACCEPT;
use serde_json::json;
use switchyard_tests::{Cluster, Fixture, SseReader};

use crate::support::Session;

const ARRIVAL: Duration = Duration::from_secs(15);

#[tokio::test]
async fn an_upstreams_change_notices_reach_clients_on_other_nodes() {
    let ts = Fixture::ts_sdk();
    let cluster = Cluster::builder(3, "demo")
        .arg("--upstream")
        .arg(format!("ts={}", ts.url()))
        .start();
    let listener = Session::open(&format!("{}/mcp", cluster.node_url(0))).await;
    let a = listener
        .request(1, "resources/subscribe", json!({"uri": "sdk://greeting"}))
        .await;
    assert!(a.result().is_object(), "{a:?}");
    let stream = listener
        .http
        .get(&listener.url)
        .header(ACCEPT, "text/event-stream")
        .header("mcp-session-id", &listener.id)
        .header("mcp-protocol-version", "2025-11-25")
        .send()
        .await
        .expect("the GET stream");
    assert_eq!(stream.status().as_u16(), 200);
    let mut events = SseReader::new(stream);
    // The priming event: the stream is attached.
    events.next(ARRIVAL).await.expect("the priming event");

    let other = Session::open(&format!("{}/mcp", cluster.node_url(1))).await;
    assert_eq!(
        other.call(2, "touch_greeting", json!({})).await.text(),
        "touched"
    );

    let mut updated = false;
    let mut changed = false;
    let give_up = tokio::time::Instant::now() + ARRIVAL;
    while !(updated && changed) {
        let left = give_up.saturating_duration_since(tokio::time::Instant::now());
        assert!(
            !left.is_zero(),
            "updated {updated}, list_changed {changed} after {ARRIVAL:?}"
        );
        let (_, m) = events.next_json(left).await.expect("a notice");
        match m["method"].as_str() {
            Some("notifications/resources/updated") => {
                assert_eq!(m["params"]["uri"], json!("sdk://greeting"), "{m}");
                updated = true;
            }
            Some("notifications/tools/list_changed") => changed = true,
            _ => {}
        }
    }
}
