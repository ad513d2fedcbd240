//! A raw Streamable HTTP client: sessions, calls, GET streams, pushes.

use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

/// Any single exchange.
pub(crate) const STEP: Duration = Duration::from_secs(10);
/// The protocol revision the sessions negotiate.
pub(crate) const PROTOCOL: &str = "2025-11-25";

/// An HTTP client with no total timeout (streams last long).
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("an HTTP client")
}

/// A POST of `body` to `mcp_url`, in session `session` if given.
pub(crate) fn post(
    http: &reqwest::Client,
    mcp_url: &str,
    session: Option<&str>,
    body: &Value,
) -> RequestBuilder {
    let mut req = http
        .post(mcp_url)
        .timeout(STEP)
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, "application/json, text/event-stream")
        .body(body.to_string());
    if let Some(s) = session {
        req = req
            .header("mcp-session-id", s)
            .header("mcp-protocol-version", PROTOCOL);
    }
    req
}

/// `initialize` then `notifications/initialized`; the session id.
pub(crate) async fn initialize(http: &reqwest::Client, mcp_url: &str) -> String {
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": PROTOCOL,
            "capabilities": {},
            "clientInfo": {"name": "observe-test", "version": "1"},
        },
    });
    let response = post(http, mcp_url, None, &body)
        .send()
        .await
        .expect("initialize");
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "initialize: {response:?}"
    );
    let id = response
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .expect("initialize answers Mcp-Session-Id")
        .to_owned();
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let response = post(http, mcp_url, Some(&id), &note)
        .send()
        .await
        .expect("notifications/initialized");
    assert_eq!(response.status(), StatusCode::ACCEPTED, "{response:?}");
    id
}

/// A request in `session`; its JSON answer.
pub(crate) async fn call(
    http: &reqwest::Client,
    mcp_url: &str,
    session: &str,
    id: u64,
    method: &str,
    params: Value,
) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    let response = post(http, mcp_url, Some(session), &body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method}: {e}"));
    assert_eq!(response.status(), StatusCode::OK, "{method}: {response:?}");
    response.json().await.expect("a JSON answer")
}

/// A GET stream of `session`, resuming after `last_event_id` if given.
pub(crate) async fn get_stream(
    http: &reqwest::Client,
    mcp_url: &str,
    session: &str,
    last_event_id: Option<&str>,
) -> Response {
    let mut req = http
        .get(mcp_url)
        .header(ACCEPT, "text/event-stream")
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", PROTOCOL);
    if let Some(id) = last_event_id {
        req = req.header("last-event-id", id);
    }
    req.send().await.expect("GET /mcp")
}

/// Pushes a numbered log message to `session`'s standalone stream through `base`'s admin
/// API; the event id it was logged under.
pub(crate) async fn push(http: &reqwest::Client, base: &str, session: &str, n: u64) -> String {
    let body = json!({
        "jsonrpc": "2.0", "method": "notifications/message",
        "params": {"level": "info", "logger": "push", "data": {"n": n}},
    });
    let response = http
        .post(format!("{base}/admin/v1/sessions/{session}/messages"))
        .timeout(STEP)
        .bearer_auth(switchyard_tests::ADMIN_TOKEN)
        .header(CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("a push");
    assert_eq!(
        response.status(),
        StatusCode::ACCEPTED,
        "push: {response:?}"
    );
    let answer: Value = response.json().await.expect("a JSON push answer");
    answer["id"].as_str().expect("an event id").to_owned()
}

/// `GET {base}/metrics`: the status and the text.
pub(crate) async fn scrape(http: &reqwest::Client, base: &str) -> (StatusCode, String) {
    let response = http
        .get(format!("{base}/metrics"))
        .timeout(STEP)
        .send()
        .await
        .expect("GET /metrics");
    let status = response.status();
    (status, response.text().await.unwrap_or_default())
}
