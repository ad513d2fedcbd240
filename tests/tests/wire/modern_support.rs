//! A raw client for the stateless 2026-07-28 revision: `_meta` on every request, and the
//! headers that mirror the body (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`).
//!
//! Requests are built correct by default; a test that checks a rule edits the headers or the
//! body of a correct request, so each test breaks exactly one thing.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::{Map, Value, json};
use switchyard_tests::SseReader;

use crate::support::{SESSION, STEP, Wire, content_type, error_code, response_for};

/// The stateless revision.
pub(crate) const MODERN: &str = "2026-07-28";
/// The revisions before it that the node serves (in sessions, or on `/sse`).
pub(crate) const LEGACY: &[&str] = &["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];

pub(crate) const HEADER_MISMATCH: i64 = -32020;
pub(crate) const UNSUPPORTED_VERSION: i64 = -32022;
pub(crate) const METHOD_NOT_FOUND: i64 = -32601;
pub(crate) const INVALID_PARAMS: i64 = -32602;

pub(crate) const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
pub(crate) const META_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
pub(crate) const META_CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
pub(crate) const META_LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
pub(crate) const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
pub(crate) const META_SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

pub(crate) const H_METHOD: &str = "mcp-method";
pub(crate) const H_NAME: &str = "mcp-name";
pub(crate) const H_VERSION: &str = "mcp-protocol-version";

/// The request `_meta` of a client with `capabilities`.
pub(crate) fn meta(capabilities: Value) -> Value {
    json!({
        META_VERSION: MODERN,
        META_CAPABILITIES: capabilities,
        META_CLIENT_INFO: { "name": "switchyard-wire-tests", "version": "0.0.0" },
    })
}

/// A modern request: `params` plus the `_meta` of a client that can answer elicitation,
/// sampling and roots requests.
pub(crate) fn modern(id: impl Into<Value>, method: &str, params: Value) -> Value {
    modern_with(
        id,
        method,
        params,
        json!({ "elicitation": {}, "sampling": {}, "roots": {} }),
    )
}

/// A modern request from a client with `capabilities`.
pub(crate) fn modern_with(
    id: impl Into<Value>,
    method: &str,
    params: Value,
    capabilities: Value,
) -> Value {
    let mut params = match params {
        Value::Object(m) => m,
        Value::Null => Map::new(),
        other => panic!("params must be an object, got {other}"),
    };
    params.insert("_meta".into(), meta(capabilities));
    json!({ "jsonrpc": "2.0", "id": id.into(), "method": method, "params": params })
}

/// The request's `_meta` object, for editing.
pub(crate) fn meta_of(body: &mut Value) -> &mut Map<String, Value> {
    body["params"]["_meta"]
        .as_object_mut()
        .expect("a modern request carries params._meta")
}

/// The headers a conforming client derives from `body`: the version in `_meta` (2026-07-28
/// when there is none), the method, and the name for the methods that have one.
pub(crate) fn mirrored_headers(body: &Value) -> HeaderMap {
    let mut h = HeaderMap::new();
    let version = body["params"]["_meta"][META_VERSION]
        .as_str()
        .unwrap_or(MODERN);
    set(&mut h, H_VERSION, version);
    if let Some(method) = body["method"].as_str() {
        set(&mut h, H_METHOD, method);
        let name = match method {
            "tools/call" | "prompts/get" => body["params"]["name"].as_str(),
            "resources/read" => body["params"]["uri"].as_str(),
            _ => None,
        };
        if let Some(name) = name {
            set(&mut h, H_NAME, name);
        }
    }
    h
}

/// Sets a header (any name; the value must be a valid header value).
pub(crate) fn set(headers: &mut HeaderMap, name: &str, value: &str) {
    headers.insert(
        HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
        HeaderValue::from_str(value).expect("a header value"),
    );
}

/// `=?base64?…?=` of `value`.
pub(crate) fn sentinel(value: &str) -> String {
    format!("=?base64?{}?=", B64.encode(value.as_bytes()))
}

impl Wire {
    /// A POST of `body` with the headers a conforming modern client sends.
    pub(crate) fn post_modern(&self, body: &Value) -> RequestBuilder {
        self.post_modern_edited(body, |_| {})
    }

    /// A POST of `body` whose mirrored headers `edit` changed first.
    pub(crate) fn post_modern_edited(
        &self,
        body: &Value,
        edit: impl FnOnce(&mut HeaderMap),
    ) -> RequestBuilder {
        let mut headers = mirrored_headers(body);
        edit(&mut headers);
        self.post(body).headers(headers)
    }

    /// Sends a well-formed modern request and returns the JSON-RPC response to it (from JSON
    /// or SSE). Checks the era on the way: 200, and no session minted.
    pub(crate) async fn modern_call(&self, body: &Value) -> Value {
        let response = self.post_modern(body).send().await.expect("POST");
        modern_answer(response, body).await
    }

    /// A `demo` client's email, read the modern way from `clients://all`.
    pub(crate) async fn demo_email(&self) -> String {
        let read = self
            .modern_call(&modern(
                900,
                "resources/read",
                json!({"uri": "clients://all"}),
            ))
            .await;
        let text = read["result"]["contents"][0]["text"]
            .as_str()
            .unwrap_or_else(|| panic!("clients://all has no text: {read}"));
        let all: Value = serde_json::from_str(text).expect("clients://all is JSON");
        all["clients"][0]["email"]
            .as_str()
            .unwrap_or_else(|| panic!("no client email in {text}"))
            .to_owned()
    }
}

/// The response to `request`: 200, no `Mcp-Session-Id`, JSON or SSE.
pub(crate) async fn modern_answer(response: Response, request: &Value) -> Value {
    let status = response.status();
    if status != StatusCode::OK {
        let text = response.text().await.unwrap_or_default();
        panic!("{request}\n→ {status}: {text}");
    }
    assert!(
        response.headers().get(SESSION).is_none(),
        "a modern answer minted or echoed a session: {:?}",
        response.headers()
    );
    response_for(response, &request["id"]).await
}

/// Every message of a modern answer, in order (one for JSON; the whole stream for SSE).
pub(crate) async fn modern_messages(response: Response) -> Vec<Value> {
    assert_eq!(response.status(), StatusCode::OK, "{response:?}");
    let ct = content_type(response.headers());
    if ct.starts_with("application/json") {
        return vec![response.json().await.expect("a JSON body")];
    }
    assert!(ct.starts_with("text/event-stream"), "Content-Type {ct:?}");
    let mut sse = SseReader::new(response);
    let events = sse
        .collect_until_end(STEP)
        .await
        .expect("the stream ends after the response");
    events
        .iter()
        .filter(|e| !e.data.is_empty())
        .map(|e| serde_json::from_str(&e.data).expect("SSE data is JSON"))
        .collect()
}

/// The result of a successful response, or a panic naming what came instead.
pub(crate) fn result_of(response: &Value) -> &Map<String, Value> {
    response["result"]
        .as_object()
        .unwrap_or_else(|| panic!("expected a result, got {response}"))
}

/// Checks that `response` was rejected with `status` and JSON-RPC `code`, echoing the id of
/// `request`; returns the error body.
pub(crate) async fn assert_rejected(
    response: Response,
    request: &Value,
    status: StatusCode,
    code: i64,
    case: &str,
) -> Value {
    let ct = content_type(response.headers());
    let (got_status, got_code, body) = error_code(response).await;
    assert_eq!(got_status, status, "{case}: status; body {body}");
    assert_eq!(got_code, Some(code), "{case}: JSON-RPC code; body {body}");
    assert!(
        ct.starts_with("application/json"),
        "{case}: a rejection is a JSON body, got {ct:?}"
    );
    assert_eq!(
        body["id"], request["id"],
        "{case}: the error must echo the request id; body {body}"
    );
    body
}
