//! A raw Streamable HTTP client for the cluster tests: sessions, GET streams, the push API,
//! and which node answered.

use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use switchyard_tests::Cluster;

/// Any single exchange.
pub(crate) const STEP: Duration = Duration::from_secs(10);

pub(crate) const BOTH: &str = "application/json, text/event-stream";
pub(crate) const SESSION: &str = "mcp-session-id";
pub(crate) const VERSION: &str = "mcp-protocol-version";
/// The header naming the node that answered.
pub(crate) const NODE: &str = "x-switchyard-node";

/// The protocol revision the raw sessions negotiate.
pub(crate) const PROTOCOL: &str = "2025-11-25";

/// An HTTP client with no total timeout (streams last long); every plain exchange sets
/// its own with [`STEP`].
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(64)
        .build()
        .expect("an HTTP client")
}

/// The node that answered, from `X-Switchyard-Node`.
pub(crate) fn node_of(response: &Response) -> String {
    response
        .headers()
        .get(NODE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {NODE} header on {response:?}"))
        .to_owned()
}

/// An initialized session.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) id: String,
}

/// A POST of `body` to `mcp_url` in `session` (none: the handshake).
pub(crate) fn post(
    http: &reqwest::Client,
    mcp_url: &str,
    session: Option<&Session>,
    body: &Value,
) -> RequestBuilder {
    let mut req = http
        .post(mcp_url)
        .timeout(STEP)
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, BOTH)
        .body(body.to_string());
    if let Some(s) = session {
        req = req.header(SESSION, &s.id).header(VERSION, PROTOCOL);
    }
    req
}

/// `initialize`, then `notifications/initialized` (202), through `mcp_url`.
pub(crate) async fn initialize(http: &reqwest::Client, mcp_url: &str) -> Session {
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": PROTOCOL,
            "capabilities": {},
            "clientInfo": {"name": "cluster-test", "version": "1"},
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
        .get(SESSION)
        .and_then(|v| v.to_str().ok())
        .expect("initialize answers Mcp-Session-Id")
        .to_owned();
    let session = Session { id };
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let response = post(http, mcp_url, Some(&session), &note)
        .send()
        .await
        .expect("notifications/initialized");
    assert_eq!(response.status(), StatusCode::ACCEPTED, "{response:?}");
    session
}

/// `tools/call echo` in `session`; the response (JSON, since nothing precedes the result).
pub(crate) async fn echo(
    http: &reqwest::Client,
    mcp_url: &str,
    session: &Session,
    id: u64,
) -> reqwest::Result<Response> {
    let body = json!({
        "jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": format!("call {id}")}},
    });
    post(http, mcp_url, Some(session), &body).send().await
}

/// A GET stream request in `session`, resuming after `last_event_id` if given.
pub(crate) async fn get_stream(
    http: &reqwest::Client,
    mcp_url: &str,
    session: &Session,
    last_event_id: Option<&str>,
) -> reqwest::Result<Response> {
    let mut req = http
        .get(mcp_url)
        .header(ACCEPT, "text/event-stream")
        .header(SESSION, &session.id)
        .header(VERSION, PROTOCOL);
    if let Some(id) = last_event_id {
        req = req.header("last-event-id", id);
    }
    req.send().await
}

/// Asserts that nginx passed requests to every node of `cluster` (a run through the
/// balancer that one node served alone would prove nothing about the cluster).
pub(crate) fn spread_over_every_node(cluster: &Cluster) {
    let per_node = cluster.requests_per_node();
    println!("requests per node through nginx: {per_node:?}");
    assert!(
        per_node.iter().all(|&n| n > 0),
        "nginx should have spread the requests over every node: {per_node:?}"
    );
}
