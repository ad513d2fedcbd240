//! A stdio MCP server behind Switchyard: spawned once by the node, shared, restarted after
//! it is killed.

use std::time::Duration;

use serde_json::{Value, json};
use switchyard_tests::{Node, workspace_root};

use crate::support::{Session, config_file};

/// How long a killed stdio upstream may take to be back.
const RESTART_DEADLINE: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_stdio_upstream_is_shared_and_restarted_when_killed() {
    let script = workspace_root().join("tests/fixtures/stdio_server.py");
    let (_dir, path) = config_file(&format!(
        "[[upstreams]]\nname = \"local\"\nkind = \"stdio\"\ncommand = [\"python3\", {:?}]\n\
         request_timeout_ms = 5000\n",
        script.to_string_lossy()
    ));
    let node = Node::builder("demo").arg("--config").arg(&path).start();
    let a = Session::open(&node.mcp_url()).await;
    let b = Session::open(&node.mcp_url()).await;
    assert_eq!(a.call(1, "echo", json!({"text": "hi"})).await.text(), "hi");
    let pid = a.call(2, "pid", json!({})).await.text();
    assert_eq!(
        b.call(3, "pid", json!({})).await.text(),
        pid,
        "one process for every session of the node"
    );
    let answer = a
        .request(
            4,
            "tools/call",
            json!({"name": "progress", "arguments": {}, "_meta": {"progressToken": "t"}}),
        )
        .await;
    let progress: Vec<&Value> = answer
        .messages
        .iter()
        .filter(|m| m["method"] == json!("notifications/progress"))
        .collect();
    assert_eq!(progress.len(), 2, "{answer:#?}");
    assert_eq!(answer.text(), "done");

    let killed = std::process::Command::new("kill")
        .args(["-9", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = tokio::time::Instant::now() + RESTART_DEADLINE;
    let mut id = 10;
    let new_pid = loop {
        id += 1;
        let answer = b.call(id, "pid", json!({})).await;
        if let Some(result) = answer.messages.iter().find_map(|m| m.get("result")) {
            let p = result["content"][0]["text"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            if p != pid {
                break p;
            }
        } else {
            let message = answer.error()["message"].as_str().unwrap_or("").to_owned();
            assert!(message.contains("upstream local"), "{answer:?}");
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stdio upstream was not restarted within {RESTART_DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_ne!(new_pid, pid);
    assert_eq!(
        a.call(99, "echo", json!({"text": "back"})).await.text(),
        "back"
    );
}
