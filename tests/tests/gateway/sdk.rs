//! Official SDK servers with sessions (not Switchyard) behind three nodes. The TypeScript SDK
//! v1 server: tools, progress, resources, prompts, and a sampling request the upstream sends
//! mid-call, answered by the client through whichever node the balancer picks. The Python
//! SDK server: tools and progress.

use std::collections::BTreeSet;

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{Value, json};
use switchyard_tests::{Cluster, Fixture, SseReader};

use crate::support::{STEP, Session};

#[tokio::test]
async fn a_typescript_sdk_server_is_served_by_a_cluster() {
    let ts = Fixture::ts_sdk();
    let cluster = Cluster::builder(3, "demo")
        .arg("--upstream")
        .arg(format!("ts={}", ts.url()))
        .start();
    let s = Session::open(&cluster.mcp_url()).await;
    let names = s.tool_names(1).await;
    assert!(
        names.contains(&"echo".to_owned()) && names.contains(&"ask_sampling".to_owned()),
        "{names:?}"
    );
    let mut nodes = BTreeSet::new();
    for i in 0..6 {
        let a = s
            .call(10 + i, "echo", json!({"text": format!("hi {i}")}))
            .await;
        assert_eq!(a.text(), format!("hi {i}"), "{a:?}");
        nodes.insert(a.node);
    }
    assert_eq!(nodes.len(), 3, "every node forwarded: {nodes:?}");
    let a = s
        .request(
            20,
            "tools/call",
            json!({"name": "count_with_progress", "arguments": {}, "_meta": {"progressToken": 7}}),
        )
        .await;
    let progress: Vec<&Value> = a
        .messages
        .iter()
        .filter(|m| m["method"] == json!("notifications/progress"))
        .collect();
    assert_eq!(progress.len(), 3, "{a:#?}");
    assert_eq!(progress[2]["params"]["progress"], json!(3));
    assert_eq!(a.text(), "counted to 3");
    let a = s
        .request(21, "resources/read", json!({"uri": "sdk://greeting"}))
        .await;
    assert_eq!(
        a.result()["contents"][0]["text"],
        json!("hello from the TS SDK"),
        "{a:?}"
    );
    let a = s
        .request(
            22,
            "prompts/get",
            json!({"name": "greet", "arguments": {"who": "Ada"}}),
        )
        .await;
    assert_eq!(
        a.result()["messages"][0]["content"]["text"],
        json!("Greet Ada"),
        "{a:?}"
    );

    // Sampling: the upstream asks mid-call; the answer is POSTed through the balancer.
    let call = json!({"jsonrpc": "2.0", "id": 30, "method": "tools/call",
        "params": {"name": "ask_sampling", "arguments": {}}});
    let response = s
        .http
        .post(&s.url)
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, "application/json, text/event-stream")
        .header("mcp-session-id", &s.id)
        .header("mcp-protocol-version", "2025-11-25")
        .body(call.to_string())
        .send()
        .await
        .expect("the sampling call");
    let mut reader = SseReader::new(response);
    let (_, ask) = reader.next_json(STEP).await.expect("the sampling request");
    assert_eq!(ask["method"], json!("sampling/createMessage"), "{ask}");
    let answer = json!({"jsonrpc": "2.0", "id": ask["id"], "result": {
        "role": "assistant", "content": {"type": "text", "text": "hi there"}, "model": "test"}});
    let posted = s
        .http
        .post(&s.url)
        .timeout(STEP)
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, "application/json, text/event-stream")
        .header("mcp-session-id", &s.id)
        .header("mcp-protocol-version", "2025-11-25")
        .body(answer.to_string())
        .send()
        .await
        .expect("the sampling answer");
    assert_eq!(posted.status().as_u16(), 202);
    let (_, result) = reader.next_json(STEP).await.expect("the result");
    assert_eq!(
        result["result"]["content"][0]["text"],
        json!("sampled: hi there"),
        "{result}"
    );
    assert_eq!(s.delete().await, 204);
}

/// The Python SDK's server (`mcp`, with sessions) behind three nodes: calls from every node
/// and its progress.
#[tokio::test]
async fn a_python_sdk_server_is_served_by_a_cluster() {
    let py = Fixture::python_sdk();
    let cluster = Cluster::builder(3, "demo")
        .arg("--upstream")
        .arg(format!("py={}", py.url()))
        .start();
    let s = Session::open(&cluster.mcp_url()).await;
    let mut nodes = BTreeSet::new();
    for i in 0..6 {
        let a = s
            .call(10 + i, "echo", json!({"text": format!("py {i}")}))
            .await;
        assert_eq!(a.text(), format!("py {i}"), "{a:?}");
        nodes.insert(a.node);
    }
    assert_eq!(nodes.len(), 3, "every node forwarded: {nodes:?}");
    let a = s
        .request(
            20,
            "tools/call",
            json!({"name": "count_with_progress", "arguments": {}, "_meta": {"progressToken": "py"}}),
        )
        .await;
    let progress = a
        .messages
        .iter()
        .filter(|m| m["method"] == json!("notifications/progress"))
        .count();
    assert_eq!(progress, 3, "{a:#?}");
    assert_eq!(a.text(), "counted to 3");
    assert_eq!(s.delete().await, 204);
}
