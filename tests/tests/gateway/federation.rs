//! Several upstreams behind one endpoint.

use std::time::{Duration, Instant};

use serde_json::json;
use switchyard_tests::{Cluster, Fixture, Node};

use crate::support::Session;

#[tokio::test]
async fn federated_names_are_unique_short_and_the_same_on_every_node() {
    let long = "x".repeat(70);
    let a = Fixture::plain_jsonrpc(&["--name", "a", "--tool", "echo", "--tool", &long]);
    let b = Fixture::plain_jsonrpc(&["--name", "b", "--tool", "echo"]);
    let c = Fixture::plain_jsonrpc(&["--name", "c", "--tool", "echo", "--tool", &long]);
    let mut cluster = Cluster::builder(3, "demo")
        .arg("--upstream")
        .arg(format!("a={}", a.url()))
        .arg("--upstream")
        .arg(format!("b={}", b.url()))
        .arg("--upstream")
        .arg(format!("c={}", c.url()))
        .start();
    let mut lists = Vec::new();
    for i in 0..3 {
        let s = Session::open(&format!("{}/mcp", cluster.node_url(i))).await;
        lists.push(s.tool_names(1).await);
    }
    let names = lists[0].clone();
    assert!(
        lists.iter().all(|l| *l == names),
        "the same names on every node: {lists:?}"
    );
    let unique: std::collections::BTreeSet<&String> = names.iter().collect();
    assert_eq!(unique.len(), names.len(), "unique: {names:?}");
    assert!(
        names.iter().all(|n| n.len() <= 64),
        "at most 64 characters: {names:?}"
    );
    // get_client, hang, whoami and echo on each, the long one on two.
    assert_eq!(names.len(), 3 * 4 + 2, "{names:?}");
    for p in ["a", "b", "c"] {
        assert!(names.contains(&format!("{p}__echo")), "{names:?}");
    }
    let long_a = names
        .iter()
        .find(|n| n.starts_with("a__xxx"))
        .expect("a's long tool")
        .clone();
    let s = Session::open(&cluster.mcp_url()).await;
    assert_eq!(s.call(2, "b__echo", json!({})).await.text(), "b:echo");
    assert_eq!(s.call(3, "c__echo", json!({})).await.text(), "c:echo");
    assert_eq!(
        s.call(4, &long_a, json!({})).await.text(),
        format!("a:{long}")
    );
    // After a restart, the same names.
    cluster.restart_node(1).expect("restarting node 1");
    let s = Session::open(&format!("{}/mcp", cluster.node_url(1))).await;
    assert_eq!(
        s.tool_names(5).await,
        names,
        "the same names after a restart"
    );
}

#[tokio::test]
async fn one_upstream_down_fails_fast_and_the_other_works() {
    let rails = Fixture::plain_jsonrpc(&["--name", "rails"]);
    let ev = Node::start("everything");
    let gateway = Node::builder("demo")
        .arg("--upstream")
        .arg(format!("rails={}", rails.url()))
        .arg("--upstream")
        .arg(format!("ev={}", ev.mcp_url()))
        .start();
    let s = Session::open(&gateway.mcp_url()).await;
    assert_eq!(
        s.call(1, "ev__echo", json!({"text": "up"})).await.text(),
        "up"
    );
    drop(ev);
    for i in 0..5 {
        let started = Instant::now();
        let a = s.call(10 + i, "ev__echo", json!({"text": "down"})).await;
        let took = started.elapsed();
        let message = a.error()["message"].as_str().unwrap_or("").to_owned();
        assert!(
            message.contains("upstream ev"),
            "the error names the upstream: {a:?}"
        );
        assert_eq!(a.error()["data"]["upstream"], json!("ev"), "{a:?}");
        assert!(took < Duration::from_secs(2), "fails fast, took {took:?}");
    }
    // The circuit is open now: refused without trying.
    let a = s.call(20, "ev__echo", json!({"text": "down"})).await;
    assert!(
        a.error()["message"]
            .as_str()
            .is_some_and(|m| m.contains("circuit open")),
        "{a:?}"
    );
    // The other upstream works, and is still listed.
    let a = s
        .call(21, "rails__get_client", json!({"email": "ada@example.com"}))
        .await;
    assert!(a.text().contains("Ada"), "{a:?}");
    let names = s.tool_names(22).await;
    assert!(names.contains(&"rails__get_client".to_owned()), "{names:?}");
}
