//! A Streamable HTTP upstream (a Switchyard node serving `everything`) behind Switchyard.

use serde_json::{Value, json};
use switchyard_tests::{Cluster, Node, Reply};

use crate::support::{Session, client};

/// The upstream session the cluster stored for client session `id` and upstream `name`.
fn stored_upstream(cluster: &Cluster, id: &str, name: &str) -> Option<Value> {
    let key = format!("sy:s:{{{id}}}");
    let field = format!("up:{name}");
    let reply = cluster
        .redis()
        .command(&["HGET", &key, &field])
        .expect("HGET");
    match reply {
        Reply::Bulk(Some(text)) => {
            Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")))
        }
        _ => None,
    }
}

/// A POST straight to the upstream in its session `upstream_id`: its status.
async fn upstream_status(upstream: &Node, upstream_id: &str) -> u16 {
    client()
        .post(upstream.mcp_url())
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", upstream_id)
        .header("mcp-protocol-version", "2025-11-25")
        .body(json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string())
        .send()
        .await
        .expect("POST to the upstream")
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_streamable_upstream_is_served_by_a_cluster() {
    let upstream = Node::start("everything");
    let cluster = Cluster::builder(3, "demo")
        .arg("--upstream")
        .arg(format!("ev={}", upstream.mcp_url()))
        .start();
    let s = Session::open(&cluster.mcp_url()).await;
    // Requests racing from one fresh session over every node make one upstream session.
    let calls = (0..6).map(|i| s.call(100 + i, "echo", json!({"text": format!("race {i}")})));
    let answers = futures::future::join_all(calls).await;
    let mut nodes = std::collections::BTreeSet::new();
    for (i, a) in answers.iter().enumerate() {
        assert_eq!(a.text(), format!("race {i}"), "{a:?}");
        nodes.insert(a.node.clone());
    }
    assert!(nodes.len() >= 2, "the calls should have spread: {nodes:?}");
    let first = stored_upstream(&cluster, &s.id, "ev").expect("an upstream session is stored");
    let upstream_id = first["session_id"].as_str().expect("its id").to_owned();
    assert_eq!(first["protocol_version"], json!("2025-11-25"), "{first}");
    assert_eq!(upstream_status(&upstream, &upstream_id).await, 200);

    // Progress sent by the upstream reaches the client on the POST's stream, then the result.
    let a = s
        .request(
            200,
            "tools/call",
            json!({"name": "test_tool_with_progress", "arguments": {}, "_meta": {"progressToken": "p-1"}}),
        )
        .await;
    let progress: Vec<&Value> = a
        .messages
        .iter()
        .filter(|m| m["method"] == json!("notifications/progress"))
        .collect();
    assert_eq!(progress.len(), 3, "{a:#?}");
    assert!(
        progress
            .iter()
            .all(|p| p["params"]["progressToken"] == json!("p-1"))
    );
    assert!(a.text().contains("Progress test completed"), "{a:#?}");
    // Resources, prompts, completion.
    let a = s
        .request(201, "resources/read", json!({"uri": "test://static-text"}))
        .await;
    assert!(a.result()["contents"][0]["text"].is_string(), "{a:?}");
    let a = s
        .request(202, "prompts/get", json!({"name": "test_simple_prompt"}))
        .await;
    assert!(a.result()["messages"].is_array(), "{a:?}");
    for i in 0..6 {
        let a = s.call(300 + i, "echo", json!({"text": "again"})).await;
        assert_eq!(a.text(), "again");
    }
    assert_eq!(
        stored_upstream(&cluster, &s.id, "ev"),
        Some(first),
        "every node forwards in the one upstream session"
    );
    // DELETE of the client session ends the upstream session.
    assert_eq!(s.delete().await, 204);
    assert_eq!(upstream_status(&upstream, &upstream_id).await, 404);
}

#[tokio::test]
async fn an_upstream_restarted_mid_session_is_reinitialized() {
    let upstream = Node::start("everything");
    let addr = upstream.addr();
    let gateway = Node::builder("demo")
        .arg("--upstream")
        .arg(format!("ev={}", upstream.mcp_url()))
        .start();
    let s = Session::open(&gateway.mcp_url()).await;
    let a = s.call(1, "echo", json!({"text": "before"})).await;
    assert_eq!(a.text(), "before");
    // The upstream restarts on the same port with no memory of the session.
    drop(upstream);
    let _upstream = Node::builder("everything").bind(addr.to_string()).start();
    let a = s.call(2, "echo", json!({"text": "after"})).await;
    assert_eq!(a.text(), "after", "a transparent re-initialize: {a:?}");
    let a = s.call(3, "echo", json!({"text": "still"})).await;
    assert_eq!(a.text(), "still");
}

/// A stateless 2026-07-28 request (no session) forwarded to a session-era upstream: the
/// node uses an upstream session of its own.
#[tokio::test]
async fn a_2026_client_is_served_by_a_session_era_upstream() {
    let upstream = Node::start("everything");
    let gateway = Node::builder("demo")
        .arg("--upstream")
        .arg(format!("ev={}", upstream.mcp_url()))
        .start();
    for id in 1..=3 {
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
            "name": "echo", "arguments": {"text": format!("modern {id}")},
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": {"name": "gateway-test", "version": "1"},
            },
        }});
        let response = client()
            .post(gateway.mcp_url())
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", "echo")
            .body(body.to_string())
            .send()
            .await
            .expect("the modern POST");
        assert_eq!(response.status().as_u16(), 200, "{response:?}");
        let answer: Value = response.json().await.expect("a JSON answer");
        assert_eq!(
            answer["result"]["content"][0]["text"],
            json!(format!("modern {id}")),
            "{answer}"
        );
    }
}
