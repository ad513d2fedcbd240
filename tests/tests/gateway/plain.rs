//! A Rails-style plain JSON-RPC endpoint behind Switchyard.

use std::time::{Duration, Instant};

use serde_json::json;
use switchyard_tests::{Cluster, Fixture, Node, Reply, run, switchyard_bin};

use crate::support::{Session, config_file};

#[tokio::test]
async fn a_plain_json_endpoint_is_served_by_a_cluster() {
    let rails = Fixture::plain_jsonrpc(&["--name", "rails"]);
    let cluster = Cluster::builder(3, "demo")
        .arg("--upstream")
        .arg(format!("rails={}", rails.url()))
        .start();
    let s = Session::open(&cluster.mcp_url()).await;
    // One upstream: its names are served as they are.
    let names = s.tool_names(1).await;
    assert!(names.contains(&"get_client".to_owned()), "{names:?}");
    assert!(!names.iter().any(|n| n.contains("__")), "{names:?}");
    let mut nodes = std::collections::BTreeSet::new();
    for i in 0..6 {
        let a = s
            .call(10 + i, "get_client", json!({"email": "ada@example.com"}))
            .await;
        assert!(a.text().contains("Ada Lovelace"), "{a:?}");
        nodes.insert(a.node.clone());
    }
    assert_eq!(
        nodes.len(),
        3,
        "the calls should have reached every node: {nodes:?}"
    );
    let a = s
        .request(20, "resources/read", json!({"uri": "clients://all"}))
        .await;
    assert!(
        a.result()["contents"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("ada@example.com")),
        "{a:?}"
    );
    let a = s
        .request(
            21,
            "prompts/get",
            json!({"name": "client_summary", "arguments": {"client_email": "ada@example.com"}}),
        )
        .await;
    assert!(
        a.result()["messages"][0]["content"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("ada@example.com")),
        "{a:?}"
    );
    let a = s.call(22, "no_such_tool", json!({})).await;
    assert_eq!(a.error()["code"], json!(-32602), "{a:?}");
    // A plain endpoint has no sessions: nothing is stored for it.
    let key = format!("sy:s:{{{}}}", s.id);
    let reply = cluster
        .redis()
        .command(&["HEXISTS", &key, "up:rails"])
        .expect("HEXISTS");
    assert!(matches!(reply, Reply::Int(0)), "{reply:?}");
}

#[tokio::test]
async fn credentials_come_from_the_environment_and_client_authorization_stays_out() {
    let rails = Fixture::plain_jsonrpc(&["--name", "rails"]);
    let (_dir, path) = config_file(&format!(
        "[[upstreams]]\nname = \"rails\"\nurl = \"{}\"\nkind = \"json-rpc\"\n\
         headers = {{ X-Static = \"1\" }}\nheaders_env = {{ X-Api-Key = \"RAILS_TEST_KEY\" }}\n",
        rails.url()
    ));
    let node = Node::builder("demo")
        .arg("--config")
        .arg(&path)
        .env("RAILS_TEST_KEY", "upstream-secret")
        .start();
    let s = Session::open(&node.mcp_url()).await;
    let a = s
        .request_with(
            1,
            "tools/call",
            json!({"name": "whoami", "arguments": {}}),
            &[("authorization", "Bearer client-token")],
        )
        .await;
    let seen: serde_json::Value = serde_json::from_str(&a.text()).expect("JSON");
    assert_eq!(seen["x_api_key"], json!("upstream-secret"), "{seen}");
    assert_eq!(
        seen["authorization"],
        json!(null),
        "no token passthrough: {seen}"
    );
}

#[tokio::test]
async fn a_hanging_upstream_times_out_within_the_configured_time() {
    let rails = Fixture::plain_jsonrpc(&["--name", "rails"]);
    let (_dir, path) = config_file(&format!(
        "[[upstreams]]\nname = \"rails\"\nurl = \"{}\"\nrequest_timeout_ms = 1000\n",
        rails.url()
    ));
    let node = Node::builder("demo").arg("--config").arg(&path).start();
    let s = Session::open(&node.mcp_url()).await;
    let started = Instant::now();
    let a = s.call(1, "hang", json!({})).await;
    let took = started.elapsed();
    let message = a.error()["message"].as_str().unwrap_or("").to_owned();
    assert!(message.contains("upstream rails"), "{a:?}");
    assert!(message.contains("no answer within"), "{a:?}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "the timeout should fire after about 1 s, took {took:?}"
    );
    // One timeout does not open the circuit: the next call works.
    let a = s
        .call(2, "get_client", json!({"email": "ada@example.com"}))
        .await;
    assert!(a.text().contains("Ada"), "{a:?}");
}

#[tokio::test]
async fn an_upstream_that_speaks_only_2026_is_refused_at_start() {
    let modern = Fixture::plain_jsonrpc(&["--modern-only"]);
    let mut cmd = tokio::process::Command::new(switchyard_bin());
    cmd.args(["serve", "--bind", "127.0.0.1:0", "--demo-db", ":memory:"])
        .args(["--upstream", &format!("modern={}", modern.url())]);
    let out = run(cmd, Duration::from_secs(30))
        .await
        .expect("running switchyard");
    assert!(
        !out.timed_out(),
        "it should refuse to start, not serve: {out}"
    );
    assert!(!out.success(), "it should refuse to start: {out}");
    assert!(
        out.stderr
            .contains("upstream modern speaks only 2026-07-28")
            && out.stderr.contains("stateless upstreams"),
        "the message should name the upstream, the revision and the feature: {out}"
    );
}

#[tokio::test]
async fn an_upstream_down_at_start_is_detected_on_first_use() {
    let port = switchyard_tests::free_port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let node = Node::builder("demo")
        .arg("--upstream")
        .arg(format!("late={url}"))
        .start();
    let s = Session::open(&node.mcp_url()).await;
    let a = s
        .call(1, "get_client", json!({"email": "ada@example.com"}))
        .await;
    let message = a.error()["message"].as_str().unwrap_or("").to_owned();
    assert!(
        message.contains("upstream late") && message.contains("unreachable"),
        "{a:?}"
    );
    let port_arg = port.to_string();
    let _late = Fixture::plain_jsonrpc(&["--port", &port_arg]);
    let a = s
        .call(2, "get_client", json!({"email": "ada@example.com"}))
        .await;
    assert!(
        a.text().contains("Ada"),
        "detected and served once it is up: {a:?}"
    );
}
