//! The HTTP surface: routes per era, the checks every request passes, and SSE bodies.
//!
//! # Layout
//!
//! - [`admin`]: the push API (`/admin/v1/…`) for applications behind the gateway.
//! - [`error`]: failures → HTTP status + JSON-RPC error body (the only place).
//! - [`post`]: `POST /mcp` in a session (Streamable HTTP, 2025-03-26 … 2025-11-25).
//! - [`stream`]: `GET /mcp` (standalone stream, `Last-Event-ID` resumption) and `DELETE /mcp`.
//! - [`http_sse`]: `GET /sse` and `POST /messages` (the 2024-11-05 HTTP+SSE transport).
//! - [`stateless`]: `POST /mcp` in the stateless 2026-07-28 revision.
//! - [`listen`]: its `subscriptions/listen` streams.

pub mod admin;
pub mod error;
mod follow;
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
use switchyard_protocol::revision::Revision;
use switchyard_state::SessionRecord;
use tokio::sync::mpsc;

pub use error::{HttpError, Refusal};

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
    .service(web::resource("/healthz").route(web::get().to(|| async { "ok" })))
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
    node.sessions
        .get(id)
        .await?
        .ok_or_else(HttpError::session_not_found)
}

/// An SSE response whose body is fed by `rx`, with keep-alive comments while idle.
pub fn sse_response(node: &Node, rx: mpsc::Receiver<Bytes>) -> HttpResponse {
    sse_stream(node, tokio_stream::wrappers::ReceiverStream::new(rx))
}

/// An SSE response whose body is `body`, with keep-alive comments while idle.
pub fn sse_stream<S>(node: &Node, body: S) -> HttpResponse
where
    S: Stream<Item = Bytes> + Unpin + 'static,
{
    let period = Duration::from_secs(node.config.http.keep_alive_secs);
    sse_builder().streaming(keep_alive(body, period))
}

/// The headers of every SSE response.
pub fn sse_builder() -> actix_web::HttpResponseBuilder {
    let mut b = HttpResponse::Ok();
    b.content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"));
    b
}

fn keep_alive<S>(body: S, period: Duration) -> impl Stream<Item = Result<Bytes, Infallible>>
where
    S: Stream<Item = Bytes> + Unpin + 'static,
{
    let start = tokio::time::Instant::now() + period;
    let tick = tokio::time::interval_at(start, period);
    futures::stream::unfold((body, tick), |(mut rx, mut tick)| async move {
        tokio::select! {
            biased;
            m = rx.next() => m.map(|b| (Ok(b), (rx, tick))),
            _ = tick.tick() => {
                let c = switchyard_protocol::sse::comment("keep-alive");
                Some((Ok(c), (rx, tick)))
            }
        }
    })
}

/// `GET /readyz`: 200 with what is wrong with the state backend's setup, as found at start
/// (e.g. a Redis that may evict keys). No round trip to the state backend.
async fn readyz(node: NodeData) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "status": "ready",
        "warnings": node.warnings,
    }))
}

/// The node, as actix stores it.
pub type NodeData = web::Data<Arc<Node>>;
