//! The documented raw-Redis envelopes: an application that `PUBLISH`es straight to Redis
//! reaches a session's GET stream, whichever node holds it.

use serde_json::{Value, json};
use switchyard_tests::Cluster;

use crate::raw_stream::RawStream;
use crate::support::{STEP, client, get_stream, initialize, post};

fn data_of(event: &switchyard_protocol::sse::Event) -> Value {
    serde_json::from_str(&event.data).expect("a JSON-RPC message")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raw_publish_reaches_the_stream_through_any_node() {
    let cluster = Cluster::start(3, "demo");
    let http = client();
    let url = cluster.mcp_url();
    let session = initialize(&http, &url).await;
    let subscribe = json!({
        "jsonrpc": "2.0", "id": 2, "method": "resources/subscribe",
        "params": {"uri": "clients://all"},
    });
    let answer = post(&http, &url, Some(&session), &subscribe)
        .send()
        .await
        .expect("resources/subscribe");
    assert!(answer.status().is_success(), "{answer:?}");
    let response = get_stream(&http, &url, &session, None)
        .await
        .expect("GET stream");
    assert!(response.status().is_success(), "{response:?}");
    let mut stream = RawStream::new(response);
    let priming = stream.next_event(STEP).await.expect("the priming event");
    assert!(priming.data.is_empty(), "first event: {priming:?}");

    // One session: the `deliver` envelope on its channel.
    let message = json!({
        "jsonrpc": "2.0", "method": "notifications/message",
        "params": {"level": "info", "data": "from rails"},
    });
    let envelope = json!({"t": "deliver", "data": message.to_string()});
    let channel = format!("sy:c:anonymous:{}", session.id);
    let receivers = cluster
        .redis()
        .command(&["PUBLISH", &channel, &envelope.to_string()])
        .expect("PUBLISH");
    println!("PUBLISH {channel}: {receivers:?}");
    let got = stream
        .next_message(STEP)
        .await
        .expect("the delivered message");
    assert_eq!(data_of(&got), message);
    assert!(
        got.id.is_some(),
        "a delivered message is logged and has an event id"
    );

    // Every node: a change notice on the broadcast channel, filtered by subscription.
    for uri in ["clients://nobody@example.com", "clients://all"] {
        let notice = json!({"t": "resource_updated", "uri": uri});
        cluster
            .redis()
            .command(&["PUBLISH", "sy:c:sy:broadcast", &notice.to_string()])
            .expect("PUBLISH broadcast");
    }
    let got = stream.next_message(STEP).await.expect("the update notice");
    assert_eq!(
        data_of(&got),
        json!({
            "jsonrpc": "2.0", "method": "notifications/resources/updated",
            "params": {"uri": "clients://all"},
        }),
        "only the subscribed resource's update reaches the session"
    );
}
