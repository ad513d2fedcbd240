//! A raw Streamable HTTP client for checking the wire rules byte by byte.

use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use switchyard_tests::{Node, SseReader};

/// Any single exchange.
pub(crate) const STEP: Duration = Duration::from_secs(10);

pub(crate) const BOTH: &str = "application/json, text/event-stream";
pub(crate) const SESSION: &str = "mcp-session-id";
pub(crate) const VERSION: &str = "mcp-protocol-version";

/// A node and an HTTP client pointed at its `/mcp`.
pub(crate) struct Wire {
    pub(crate) node: Node,
    pub(crate) http: reqwest::Client,
}

/// An initialized session.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) id: String,
    pub(crate) version: String,
}

impl Wire {
    pub(crate) fn start(backend: &str) -> Wire {
        Wire::with_node(Node::start(backend))
    }

    pub(crate) fn with_node(node: Node) -> Wire {
        Wire {
            node,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("an HTTP client"),
        }
    }

    pub(crate) fn url(&self) -> String {
        self.node.mcp_url()
    }

    /// A request to `/mcp` with nothing preset.
    pub(crate) fn raw(&self, method: Method) -> RequestBuilder {
        self.http.request(method, self.url())
    }

    /// A POST of `body` with the headers a well-behaved client sends (no session).
    pub(crate) fn post(&self, body: &Value) -> RequestBuilder {
        self.raw(Method::POST)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, BOTH)
            .body(body.to_string())
    }

    /// A POST of `body` in `session`.
    pub(crate) fn post_in(&self, session: &Session, body: &Value) -> RequestBuilder {
        self.post(body)
            .header(SESSION, &session.id)
            .header(VERSION, &session.version)
    }

    /// A GET stream request in `session`.
    pub(crate) fn get_in(&self, session: &Session) -> RequestBuilder {
        self.raw(Method::GET)
            .header(ACCEPT, "text/event-stream")
            .header(SESSION, &session.id)
            .header(VERSION, &session.version)
    }

    /// `initialize` at `version`, then `notifications/initialized` (which must get 202).
    pub(crate) async fn initialize(&self, version: &str) -> Session {
        let response = self
            .post(&initialize_body(version))
            .send()
            .await
            .expect("POST initialize");
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "initialize: {response:?}"
        );
        let id = response
            .headers()
            .get(SESSION)
            .expect("initialize answered without Mcp-Session-Id")
            .to_str()
            .expect("a visible-ASCII session id")
            .to_owned();
        assert!(
            !id.is_empty() && id.bytes().all(|b| (0x21..=0x7E).contains(&b)),
            "session id {id:?} has characters outside 0x21–0x7E"
        );
        let answer = response_for(response, &json!(0)).await;
        let negotiated = answer["result"]["protocolVersion"]
            .as_str()
            .unwrap_or_else(|| panic!("no protocolVersion in {answer}"))
            .to_owned();
        assert_eq!(negotiated, version, "the node should accept {version}");
        let session = Session {
            id,
            version: negotiated,
        };
        let initialized = self
            .post_in(
                &session,
                &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            )
            .send()
            .await
            .expect("POST notifications/initialized");
        assert_eq!(
            initialized.status(),
            StatusCode::ACCEPTED,
            "notifications/initialized: {initialized:?}"
        );
        session
    }

    /// Sends `request` in `session` and returns the JSON-RPC response to it, whether it
    /// came as JSON or on an SSE stream.
    pub(crate) async fn call(&self, session: &Session, request: &Value) -> Value {
        let response = self
            .post_in(session, request)
            .send()
            .await
            .expect("POST request");
        assert_eq!(response.status(), StatusCode::OK, "{request}: {response:?}");
        response_for(response, &request["id"]).await
    }
}

pub(crate) fn initialize_body(version: &str) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": version,
            "capabilities": {},
            "clientInfo": { "name": "switchyard-wire-tests", "version": "0.0.0" }
        }
    })
}

pub(crate) fn request(id: i64, method: &str, params: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })
}

pub(crate) fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// The JSON-RPC response with `id`, from a JSON body or from an SSE stream (skipping any
/// notifications before it).
pub(crate) async fn response_for(response: Response, id: &Value) -> Value {
    let ct = content_type(response.headers());
    if ct.starts_with("application/json") {
        let body: Value = response.json().await.expect("a JSON body");
        assert_eq!(&body["id"], id, "a response for another id: {body}");
        return body;
    }
    assert!(
        ct.starts_with("text/event-stream"),
        "a request must be answered with JSON or SSE, got Content-Type {ct:?}"
    );
    let mut sse = SseReader::new(response);
    loop {
        let (_, message) = sse
            .next_json(STEP)
            .await
            .expect("an SSE message before the response");
        if message.get("id") == Some(id) && message.get("method").is_none() {
            return message;
        }
    }
}

/// A JSON error body's `error.code`.
pub(crate) async fn error_code(response: Response) -> (StatusCode, Option<i64>, Value) {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body["error"]["code"].as_i64(), body)
}
