//! The HTTP surface: routes per era, the checks every request passes, and SSE bodies.
//!
//! # Layout
//!
//! - [`admin`]: the push API (`/admin/v1/…`) for applications behind the gateway.
//! - [`error`]: failures → HTTP status + JSON-RPC error body (the only place).
//! - [`guard`]: the per-IP connection count and the header limits, before routing.
//! - [`post`]: `POST /mcp` in a session (Streamable HTTP, 2025-03-26 … 2025-11-25).
//! - [`stream`]: `GET /mcp` (standalone stream, `Last-Event-ID` resumption) and `DELETE /mcp`.
//! - [`http_sse`]: `GET /sse` and `POST /messages` (the 2024-11-05 HTTP+SSE transport).
//! - [`stateless`]: `POST /mcp` in the stateless 2026-07-28 revision.
//! - [`listen`]: its `subscriptions/listen` streams.

pub mod admin;
pub mod error;
mod follow;
pub mod guard;
pub mod http_sse;
pub mod listen;
pub mod post;
pub mod stateless;
pub mod stream;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::{self, HeaderName};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use switchyard_protocol::headers::{self, Accepts};
use switchyard_protocol::jsonrpc::Body;
use switchyard_protocol::revision::Revision;
use switchyard_state::SessionRecord;
use tokio::sync::mpsc;

pub use error::{HttpError, Refusal};

use crate::health::{Ends, Health, Readiness};
use crate::node::Node;

/// The header naming the session.
pub const SESSION_HEADER: &str = "Mcp-Session-Id";
/// The header naming the protocol version.
pub const VERSION_HEADER: &str = "MCP-Protocol-Version";
/// [`SESSION_HEADER`] as a parsed name: a lookup by `&str` parses (and lower-cases) the name
/// on every call, which showed in profiles of the request path.
pub static SESSION_NAME: HeaderName = HeaderName::from_static("mcp-session-id");
/// [`VERSION_HEADER`] as a parsed name.
pub static VERSION_NAME: HeaderName = HeaderName::from_static("mcp-protocol-version");

/// Registers every route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/mcp")
            .route(web::post().to(post::handle))
            .route(web::get().to(stream::get))
            .route(web::delete().to(stream::delete))
            .default_service(web::to(|| async {
                Err::<HttpResponse, _>(HttpError::method_not_allowed("GET, POST, DELETE"))
            })),
    )
    .service(
        web::resource("/sse")
            .route(web::get().to(http_sse::sse))
            .default_service(web::to(|| async {
                Err::<HttpResponse, _>(HttpError::method_not_allowed("GET"))
            })),
    )
    .service(
        web::resource("/messages")
            .route(web::post().to(http_sse::messages))
            .default_service(web::to(|| async {
                Err::<HttpResponse, _>(HttpError::method_not_allowed("POST"))
            })),
    )
    // `/healthz` is kept as an alias of `/livez` (it came first).
    .service(web::resource("/livez").route(web::get().to(livez)))
    .service(web::resource("/healthz").route(web::get().to(livez)))
    .service(web::resource("/readyz").route(web::get().to(readyz)))
    .service(web::resource("/metrics").route(web::get().to(crate::telemetry::metrics::endpoint)))
    .configure(admin::routes);
}

fn header<'a>(req: &'a HttpRequest, name: &HeaderName) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// DNS-rebinding protection: the `Host` must be allowed, and a present `Origin` too.
pub fn check_origin(req: &HttpRequest, node: &Node) -> Result<(), HttpError> {
    let forbidden = |m: &str| HttpError::from(Refusal::Forbidden(m.to_owned()));
    let host = header(req, &header::HOST).unwrap_or("");
    if !node.hosts.allows_host(host) {
        return Err(forbidden(&format!(
            "Forbidden: Host {:?} is not allowed; allow it with the setting http.allowed_hosts \
             (environment SWITCHYARD__HTTP__ALLOWED_HOSTS, comma-separated; \"*\" for any)",
            shorten(host)
        )));
    }
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let origin = origin.to_str().ok();
        if !origin.is_some_and(|o| node.origins.allows_origin(o)) {
            return Err(forbidden(&format!(
                "Forbidden: Origin {:?} is not allowed; allow it with the setting \
                 http.allowed_origins (environment SWITCHYARD__HTTP__ALLOWED_ORIGINS, \
                 comma-separated; \"*\" for any)",
                shorten(origin.unwrap_or("(not text)"))
            )));
        }
    }
    Ok(())
}

/// A header value as quoted in an error body: at most 100 characters.
fn shorten(value: &str) -> &str {
    match value.char_indices().nth(100) {
        Some((end, _)) => &value[..end],
        None => value,
    }
}

/// What the `Accept` header admits (absent admits nothing).
pub fn accepts(req: &HttpRequest) -> Accepts {
    header(req, &header::ACCEPT)
        .map(headers::parse_accept)
        .unwrap_or_default()
}

/// `Content-Type` must be JSON: 415 otherwise.
pub fn check_json_body(req: &HttpRequest) -> Result<(), HttpError> {
    if header(req, &header::CONTENT_TYPE).is_some_and(headers::is_json_content_type) {
        return Ok(());
    }
    Err(Refusal::UnsupportedMediaType.into())
}

/// Reads and classifies a JSON-RPC body under `[limits]`: the whole body within
/// `limits.body_timeout_ms` (408 and the connection closed otherwise), at most
/// `http.max_body_bytes` (413), nested at most `limits.max_json_depth` deep (400), a batch of
/// at most `limits.max_batch_len` messages (413).
pub async fn read_message(payload: web::Payload, node: &Node) -> Result<Body, HttpError> {
    let limits = &node.limits.config;
    let limit_ms = limits.body_timeout_ms;
    let read = read_body(payload, node.config.http.max_body_bytes);
    let bytes = match tokio::time::timeout(Duration::from_millis(limit_ms), read).await {
        Ok(read) => read?,
        Err(_) => {
            node.limits.refusals.warn(&format!(
                "a request body did not arrive within {limit_ms} ms"
            ));
            return Err(Refusal::BodyTimeout { limit_ms }.into());
        }
    };
    if switchyard_protocol::depth::nesting_exceeds(&bytes, limits.max_json_depth) {
        return Err(Refusal::TooDeep {
            limit: limits.max_json_depth,
        }
        .into());
    }
    let body = switchyard_protocol::jsonrpc::classify(&bytes)?;
    if let Body::Batch(items) = &body
        && items.len() > limits.max_batch_len
    {
        return Err(Refusal::OverLimit {
            setting: "limits.max_batch_len",
            message: format!(
                "a batch of {} messages; at most {} are accepted",
                items.len(),
                limits.max_batch_len
            ),
        }
        .into());
    }
    Ok(body)
}

/// Reads the body, refusing more than the configured limit with 413.
pub async fn read_body(mut payload: web::Payload, limit: usize) -> Result<Bytes, HttpError> {
    let too_large = || HttpError::from(Refusal::TooLarge { limit });
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| match e {
            actix_web::error::PayloadError::Overflow => too_large(),
            other => HttpError::bad_request(format!("could not read the body: {other}")),
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The version named by `MCP-Protocol-Version`: `None` if absent, 400 if unsupported.
pub fn version_header(req: &HttpRequest) -> Result<Option<Revision>, HttpError> {
    match req.headers().get(&VERSION_NAME) {
        None => Ok(None),
        Some(v) => {
            let s = v.to_str().unwrap_or("");
            Revision::parse_session(s).map(Some).map_err(|_| {
                HttpError::bad_request(format!("Bad Request: unsupported protocol version {s:?}"))
            })
        }
    }
}

/// Refuses a GET or DELETE from a 2026-07-28 client with 405: that revision
/// has neither (its backward-compatibility section).
pub fn refuse_stateless(req: &HttpRequest) -> Result<(), HttpError> {
    let stateless = req
        .headers()
        .get(VERSION_HEADER)
        .is_some_and(|v| v.as_bytes() == switchyard_protocol::stateless::VERSION.as_bytes());
    if stateless {
        return Err(HttpError::method_not_allowed("POST"));
    }
    Ok(())
}

/// Loads the session named by `Mcp-Session-Id`: 400 when missing or malformed, 404 when
/// unknown or terminated.
pub async fn session(req: &HttpRequest, node: &Node) -> Result<Arc<SessionRecord>, HttpError> {
    let Some(raw) = req.headers().get(&SESSION_NAME) else {
        return Err(HttpError::bad_request(
            "Bad Request: Mcp-Session-Id header is required",
        ));
    };
    let id = raw.to_str().unwrap_or("");
    if !headers::is_valid_session_id(id) {
        return Err(HttpError::bad_request(
            "Bad Request: malformed Mcp-Session-Id",
        ));
    }
    let principal = principal(req);
    // Another principal's session is answered exactly as an unknown one.
    node.sessions
        .get(id)
        .await?
        .filter(|s| s.principal == principal)
        .ok_or_else(HttpError::session_not_found)
}

/// 403 when the principal lacks a scope `body` needs (`auth.method_scopes`,
/// `auth.tool_scopes`).
pub fn check_scopes(req: &HttpRequest, node: &Node, body: &Body) -> Result<(), HttpError> {
    use actix_web::HttpMessage;
    let extensions = req.extensions();
    let principal = extensions.get::<crate::auth::Principal>();
    match principal {
        Some(p) => crate::auth::scopes::check(&node.config.auth, p, body),
        None => Ok(()),
    }
}

/// The name of the principal the guard authenticated for `req` (`anonymous` when none).
pub fn principal(req: &HttpRequest) -> String {
    use actix_web::HttpMessage;
    req.extensions()
        .get::<crate::auth::Principal>()
        .map_or_else(|| crate::auth::ANONYMOUS.to_owned(), |p| p.name.clone())
}

/// An SSE response whose body is fed by `rx` (a request's answer), with keep-alive comments
/// while idle; ended by a drain once the node's requests are done ([`Ends::WithRequests`]).
pub fn sse_response(node: &Node, rx: mpsc::Receiver<Bytes>) -> HttpResponse {
    sse_stream(
        node,
        tokio_stream::wrappers::ReceiverStream::new(rx),
        Ends::WithRequests,
    )
}

/// An SSE response whose body is `body`, with keep-alive comments while idle. A draining
/// node ends it at the step `ends` names, with `retry:` (`http.sse_retry_ms`) as its last
/// field, so its client reconnects (to another node, through the balancer) and resumes with
/// `Last-Event-ID`; what the body would have written next is in the log.
pub fn sse_stream<S>(node: &Node, body: S, ends: Ends) -> HttpResponse
where
    S: Stream<Item = Bytes> + Unpin + 'static,
{
    let period = Duration::from_secs(node.config.http.keep_alive_secs);
    let drain = Drain {
        health: node.health.clone(),
        ends,
        retry: node.config.http.sse_retry_ms,
    };
    sse_builder().streaming(keep_alive(body, period, drain))
}

/// How a stream learns that the node drains.
struct Drain {
    health: Arc<Health>,
    ends: Ends,
    retry: u64,
}

/// The headers of every SSE response.
pub fn sse_builder() -> actix_web::HttpResponseBuilder {
    let mut b = HttpResponse::Ok();
    b.content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"));
    b
}

fn keep_alive<S>(
    body: S,
    period: Duration,
    drain: Drain,
) -> impl Stream<Item = Result<Bytes, Infallible>>
where
    S: Stream<Item = Bytes> + Unpin + 'static,
{
    let start = tokio::time::Instant::now() + period;
    let tick = tokio::time::interval_at(start, period);
    // `Some(drain)` until the drain ended the stream; then the stream is over.
    futures::stream::unfold(
        (body, tick, Some(drain)),
        |(mut rx, mut tick, drain)| async move {
            let d = drain?;
            // What the body has ready goes first: it is logged already, and a client that
            // gets it need not ask for it again.
            tokio::select! {
                biased;
                m = rx.next() => m.map(|b| (Ok(b), (rx, tick, Some(d)))),
                () = d.health.ended(d.ends) => {
                    let retry = switchyard_protocol::sse::retry(d.retry);
                    Some((Ok(retry), (rx, tick, None)))
                }
                _ = tick.tick() => {
                    let c = switchyard_protocol::sse::comment("keep-alive");
                    Some((Ok(c), (rx, tick, Some(d))))
                }
            }
        },
    )
}

/// `GET /livez` (and `/healthz`): `ok` while the process serves HTTP.
async fn livez() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 `{"status":"ready","warnings":[…]}` (what is wrong with the state
/// backend's setup, as found at start, e.g. a Redis that may evict keys); 503 with
/// `"draining"` once the node stops, or `"unavailable"` and the error when the last
/// background check of the state backend failed. No round trip to the state backend.
async fn readyz(node: NodeData) -> HttpResponse {
    match node.health.readiness() {
        Readiness::Ready => HttpResponse::Ok().json(serde_json::json!({
            "status": "ready",
            "warnings": node.warnings,
        })),
        Readiness::Draining => {
            HttpResponse::ServiceUnavailable().json(serde_json::json!({ "status": "draining" }))
        }
        Readiness::Unavailable(error) => HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({ "status": "unavailable", "error": error })),
    }
}

/// The node, as actix stores it.
pub type NodeData = web::Data<Arc<Node>>;
