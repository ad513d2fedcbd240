//! A raw Streamable HTTP client for the gateway tests: sessions, requests, and every
//! message of an answer (JSON or SSE), with the node that gave it.

use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{Value, json};
use switchyard_tests::SseReader;

/// Any single exchange.
pub(crate) const STEP: Duration = Duration::from_secs(20);

const PROTOCOL: &str = "2025-11-25";

/// One client session through `url`.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) http: reqwest::Client,
    pub(crate) url: String,
    pub(crate) id: String,
}

/// An answer: its HTTP status, the node that gave it, and its messages in order.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) node: String,
    pub(crate) messages: Vec<Value>,
}

impl Answer {
    /// The response's `result`, panicking with the answer when there is none.
    pub(crate) fn result(&self) -> &Value {
        self.messages
            .iter()
            .rev()
            .find_map(|m| m.get("result"))
            .unwrap_or_else(|| panic!("no result in {self:#?}"))
    }

    /// The response's `error`, panicking when there is none.
    pub(crate) fn error(&self) -> &Value {
        self.messages
            .iter()
            .rev()
            .find_map(|m| m.get("error"))
            .unwrap_or_else(|| panic!("no error in {self:#?}"))
    }

    /// The first text content of the result.
    pub(crate) fn text(&self) -> String {
        self.result()["content"][0]["text"]
            .as_str()
            .unwrap_or_else(|| panic!("no text content in {self:#?}"))
            .to_owned()
    }
}

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("an HTTP client")
}

async fn send(
    http: &reqwest::Client,
    url: &str,
    session: Option<&str>,
    body: &Value,
    extra: &[(&str, &str)],
) -> Answer {
    let mut req = http
        .post(url)
        .timeout(STEP)
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, "application/json, text/event-stream")
        .body(body.to_string());
    if let Some(s) = session {
        req = req
            .header("mcp-session-id", s)
            .header("mcp-protocol-version", PROTOCOL);
    }
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let response = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {body}: {e}"));
    let status = response.status().as_u16();
    let node = response
        .headers()
        .get("x-switchyard-node")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let sse = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/event-stream"));
    let messages = if sse {
        let mut reader = SseReader::new(response);
        reader
            .collect_until_end(STEP)
            .await
            .expect("the SSE answer")
            .into_iter()
            .filter(|e| !e.data.trim().is_empty())
            .map(|e| serde_json::from_str(&e.data).expect("SSE data is JSON"))
            .collect()
    } else {
        let text = response.text().await.expect("the body");
        if text.is_empty() {
            Vec::new()
        } else {
            vec![serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))]
        }
    };
    Answer {
        status,
        node,
        messages,
    }
}

impl Session {
    /// `initialize` and `notifications/initialized` through `url`.
    pub(crate) async fn open(url: &str) -> Session {
        let http = client();
        let body = json!({
            "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {
                "protocolVersion": PROTOCOL,
                "capabilities": {"sampling": {}, "elicitation": {}},
                "clientInfo": {"name": "gateway-test", "version": "1"},
            },
        });
        let response = http
            .post(url)
            .timeout(STEP)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream")
            .body(body.to_string())
            .send()
            .await
            .expect("initialize");
        assert_eq!(response.status().as_u16(), 200, "initialize: {response:?}");
        let id = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .expect("an Mcp-Session-Id")
            .to_owned();
        let session = Session {
            http,
            url: url.to_owned(),
            id,
        };
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let a = send(&session.http, url, Some(&session.id), &note, &[]).await;
        assert_eq!(a.status, 202, "{a:?}");
        session
    }

    /// A request in the session.
    pub(crate) async fn request(&self, id: u64, method: &str, params: Value) -> Answer {
        self.request_with(id, method, params, &[]).await
    }

    /// A request in the session with extra headers.
    pub(crate) async fn request_with(
        &self,
        id: u64,
        method: &str,
        params: Value,
        headers: &[(&str, &str)],
    ) -> Answer {
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        send(&self.http, &self.url, Some(&self.id), &body, headers).await
    }

    /// `tools/call`.
    pub(crate) async fn call(&self, id: u64, tool: &str, arguments: Value) -> Answer {
        self.request(
            id,
            "tools/call",
            json!({"name": tool, "arguments": arguments}),
        )
        .await
    }

    /// The names `tools/list` gives.
    pub(crate) async fn tool_names(&self, id: u64) -> Vec<String> {
        let a = self.request(id, "tools/list", json!({})).await;
        a.result()["tools"]
            .as_array()
            .unwrap_or_else(|| panic!("no tools in {a:?}"))
            .iter()
            .map(|t| t["name"].as_str().expect("a name").to_owned())
            .collect()
    }

    /// DELETE of the session; the status.
    pub(crate) async fn delete(&self) -> u16 {
        self.http
            .delete(&self.url)
            .timeout(STEP)
            .header("mcp-session-id", &self.id)
            .header("mcp-protocol-version", PROTOCOL)
            .send()
            .await
            .expect("DELETE")
            .status()
            .as_u16()
    }
}

/// Writes `text` as `switchyard.toml` in a fresh directory; returns the directory (keep it
/// alive) and the file's path.
pub(crate) fn config_file(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("switchyard.toml");
    std::fs::write(&path, text).expect("writing the configuration");
    let path = path.to_string_lossy().into_owned();
    (dir, path)
}
