//! Sessions are bound to their principal (`auth.mode = "api_key"`), across nodes on one
//! Redis: principal B holding A's session id gets 404 on the other node for a POST, a GET,
//! a `Last-Event-ID` resume, a DELETE and a `/messages` POST — exactly what an unknown id
//! gets — and A's `requestState` is refused for B; A is unaffected throughout. A request
//! without a key gets 401 with a `WWW-Authenticate` challenge.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde_json::{Value, json};
use sha2_free::hex_sha256;
use switchyard_tests::{Cluster, SseReader};

use crate::support::{BOTH, STEP, Session, echo, get_stream, initialize, post};

/// SHA-256 in hex without a crypto dependency in the tests: `sha256sum`, as the README tells
/// operators to make the file.
mod sha2_free {
    pub(crate) fn hex_sha256(text: &str) -> String {
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
}

const ALICE: &str = "alice-key-0123456789";
const BOB: &str = "bob-key-9876543210";

fn keyed(key: &str) -> reqwest::Client {
    let mut headers = HeaderMap::new();
    headers.insert(
        AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {key}")).unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .connect_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn cluster(dir: &tempfile::TempDir) -> Cluster {
    let path = dir.path().join("keys.json");
    let keys = json!({"keys": [
        {"name": "alice", "sha256": hex_sha256(ALICE), "scopes": []},
        {"name": "bob", "sha256": hex_sha256(BOB), "scopes": []},
    ]});
    std::fs::write(&path, keys.to_string()).unwrap();
    Cluster::builder(2, "everything")
        .env("SWITCHYARD__AUTH__MODE", "api_key")
        .env("SWITCHYARD__AUTH__API_KEYS_FILE", path.to_string_lossy())
        .start()
}

async fn status_and_code(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn another_principal_gets_404_for_a_session_on_every_node() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = cluster(&dir);
    let (on_a, on_b) = (
        format!("{}/mcp", cluster.node_url(0)),
        format!("{}/mcp", cluster.node_url(1)),
    );
    let (alice, bob) = (keyed(ALICE), keyed(BOB));

    // No key, a wrong key: 401 with a challenge.
    let anonymous = reqwest::Client::new();
    let response = anonymous
        .post(&on_a)
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, BOTH)
        .body(json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string())
        .timeout(STEP)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    let wrong = keyed("not-a-key");
    let response = echo(&wrong, &on_a, &Session { id: "x".repeat(32) }, 1)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );

    let session = initialize(&alice, &on_a).await;
    let stream = get_stream(&alice, &on_a, &session, None).await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let mut stream = SseReader::new(stream);
    let priming = stream
        .next(STEP)
        .await
        .expect("the priming event")
        .expect("an event");
    let last_event_id = priming.id.expect("an event id");

    let unknown = Session {
        id: format!("{:032x}", 7),
    };
    for target in [&session, &unknown] {
        let what = if target.id == session.id {
            "A's session"
        } else {
            "an unknown one"
        };
        let (status, body) = status_and_code(echo(&bob, &on_b, target, 2).await.unwrap()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "POST {what}: {body}");
        assert_eq!(body["error"]["code"], -32001, "{body}");
        let get = get_stream(&bob, &on_b, target, None).await.unwrap();
        assert_eq!(get.status(), StatusCode::NOT_FOUND, "GET {what}");
        let resume = get_stream(&bob, &on_b, target, Some(&last_event_id))
            .await
            .unwrap();
        assert_eq!(resume.status(), StatusCode::NOT_FOUND, "resume {what}");
        let delete = bob
            .delete(&on_b)
            .header("mcp-session-id", &target.id)
            .header("mcp-protocol-version", "2025-11-25")
            .timeout(STEP)
            .send()
            .await
            .unwrap();
        assert_eq!(delete.status(), StatusCode::NOT_FOUND, "DELETE {what}");
    }
    // A is unaffected: its session answers on the other node, its stream is still its own.
    let (status, body) = status_and_code(echo(&alice, &on_b, &session, 3).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ping = post(
        &alice,
        &on_a,
        Some(&session),
        &json!({"jsonrpc": "2.0", "id": 4, "method": "ping"}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(ping.status(), StatusCode::OK);
    drop(stream);
}

#[tokio::test]
async fn http_sse_sessions_and_request_state_are_bound_too() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = cluster(&dir);
    let (alice, bob) = (keyed(ALICE), keyed(BOB));
    let sse = alice
        .get(format!("{}/sse", cluster.node_url(0)))
        .header(ACCEPT, "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(sse.status(), StatusCode::OK);
    let mut sse = SseReader::new(sse);
    let endpoint = sse.next_message(STEP).await.expect("the endpoint event");
    let path = endpoint.data.trim().to_owned();
    assert!(path.starts_with("/messages?sessionId="), "{path}");
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string();
    let messages = |client: &reqwest::Client| {
        client
            .post(format!("{}{path}", cluster.node_url(1)))
            .header(CONTENT_TYPE, "application/json")
            .body(ping.clone())
            .timeout(STEP)
    };
    assert_eq!(
        messages(&bob).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        messages(&alice).send().await.unwrap().status(),
        StatusCode::ACCEPTED
    );

    // A 2026-07-28 multi round-trip request: A's requestState is refused for B.
    let call = |client: &reqwest::Client, node: usize, extra: Value| {
        let mut params = json!({
            "name": "test_elicitation",
            "arguments": {"message": "Who are you?"},
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}},
                "io.modelcontextprotocol/clientInfo": {"name": "hijack-test", "version": "0"},
            },
        });
        params
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().cloned().unwrap_or_default());
        client
            .post(format!("{}/mcp", cluster.node_url(node)))
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, BOTH)
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", "test_elicitation")
            .body(
                json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params})
                    .to_string(),
            )
            .timeout(STEP)
    };
    let last = |text: String| -> Value {
        let data = text
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .next_back();
        serde_json::from_str(data.unwrap_or(&text).trim()).unwrap_or(Value::Null)
    };
    let first = last(
        call(&alice, 0, json!({}))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(first["result"]["resultType"], "input_required", "{first}");
    let state = first["result"]["requestState"]
        .as_str()
        .expect("a requestState")
        .to_owned();
    let keys: Vec<String> = first["result"]["inputRequests"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let mut answers = serde_json::Map::new();
    for k in &keys {
        answers.insert(
            k.clone(),
            json!({"action": "accept", "content": {"name": "A"}}),
        );
    }
    let retry = json!({"requestState": state, "inputResponses": answers});
    let stolen = last(
        call(&bob, 1, retry.clone())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(stolen["error"]["code"], -32602, "{stolen}");
    assert!(
        stolen["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("requestState"),
        "{stolen}"
    );
    let own = last(
        call(&alice, 1, retry)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert!(own.get("error").is_none(), "A's own retry is served: {own}");
}
