//! `auth.mode = "api_key"` on one node, with scopes per method and per tool: a principal
//! lacking one gets 403 and an `insufficient_scope` challenge naming every scope the request
//! needs; a scope covers those below it (`mcp` covers `mcp:tools`).

use reqwest::StatusCode;
use serde_json::json;
use switchyard_tests::Node;

use crate::support::{BOTH, SESSION, VERSION, Wire, initialize_body, request};

/// SHA-256 in hex, as the README tells operators to make the keys file (`sha256sum`).
fn hex_sha256(text: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha256sum");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("sha256sum output");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("a digest")
        .to_owned()
}

#[tokio::test]
async fn a_principal_without_the_scopes_gets_403_naming_all_of_them() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.json");
    std::fs::write(
        &keys,
        json!({"keys": [
            {"name": "writer", "sha256": hex_sha256("writer-key"), "scopes": ["mcp", "crm:write"]},
            {"name": "reader", "sha256": hex_sha256("reader-key"), "scopes": ["mcp:tools"]},
        ]})
        .to_string(),
    )
    .unwrap();
    let config = dir.path().join("switchyard.toml");
    std::fs::write(
        &config,
        format!(
            "[auth]\nmode = \"api_key\"\napi_keys_file = {:?}\n\
             [auth.method_scopes]\n\"tools/call\" = [\"mcp:tools\"]\n\
             [auth.tool_scopes]\ncreate_client = [\"crm:write\"]\n",
            keys.to_string_lossy()
        ),
    )
    .unwrap();
    let node = Node::builder("demo")
        .arg("--config")
        .arg(config.to_string_lossy())
        .start();
    let wire = Wire::with_node(node);
    let open = |key: &str| {
        wire.post(&initialize_body("2025-11-25"))
            .bearer_auth(key)
            .send()
    };
    let mut sessions = Vec::new();
    for key in ["writer-key", "reader-key"] {
        let response = open(key).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        sessions.push(response.headers()[SESSION].to_str().unwrap().to_owned());
    }
    let call = |key: &str, session: &str, tool: &str| {
        wire.raw(reqwest::Method::POST)
            .bearer_auth(key)
            .header("content-type", "application/json")
            .header("accept", BOTH)
            .header(SESSION, session)
            .header(VERSION, "2025-11-25")
            .body(
                request(
                    2,
                    "tools/call",
                    json!({"name": tool, "arguments": {"email": "ada@example.com"}}),
                )
                .to_string(),
            )
            .send()
    };
    let reader = call("reader-key", &sessions[1], "get_client")
        .await
        .unwrap();
    assert_eq!(
        reader.status(),
        StatusCode::OK,
        "the method's scope is enough"
    );
    let refused = call("reader-key", &sessions[1], "create_client")
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let challenge = refused.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(
        challenge.contains("scope=\"crm:write mcp:tools\""),
        "{challenge}"
    );
    let writer = call("writer-key", &sessions[0], "create_client")
        .await
        .unwrap();
    assert_ne!(
        writer.status(),
        StatusCode::FORBIDDEN,
        "mcp covers mcp:tools"
    );
    let ping = wire
        .post_in(
            &crate::support::Session {
                id: sessions[1].clone(),
                version: "2025-11-25".into(),
            },
            &request(3, "ping", json!({})),
        )
        .bearer_auth("reader-key")
        .send()
        .await
        .unwrap();
    assert_eq!(ping.status(), StatusCode::OK, "ping needs no scope");
}
