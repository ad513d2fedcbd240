//! `POST /mcp`: Streamable HTTP requests, notifications and responses.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use switchyard_protocol::event_id::{EventId, StreamId};
use switchyard_protocol::jsonrpc::{Body, Id, Message, Request, Response};
use switchyard_protocol::method::Method;
use switchyard_protocol::revision::Revision;
use switchyard_protocol::sse::Event;
use switchyard_state::{SessionRecord, Transport};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{HttpError, NodeData, Refusal, SESSION_HEADER};
use crate::config::ResponseMode;
use crate::dispatch::{self, dispatch};
use crate::exchange::Out;
use crate::node::Node;
use crate::telemetry::traces;
use tracing::Instrument as _;

/// Handles `POST /mcp`.
pub async fn handle(
    req: HttpRequest,
    payload: web::Payload,
    node: NodeData,
) -> Result<HttpResponse, HttpError> {
    super::check_origin(&req, &node)?;
    let accepts = super::accepts(&req);
    if !(accepts.json && accepts.event_stream) {
        return Err(Refusal::NotAcceptable(
            "Not Acceptable: Accept must list both application/json and text/event-stream",
        )
        .into());
    }
    super::check_json_body(&req)?;
    let body = super::read_message(payload, &node).await?;
    super::check_scopes(&req, &node, &body)?;
    if super::stateless::is_stateless(&req, &body) {
        return super::stateless::handle(&req, &node, body).await;
    }
    let header_version = super::version_header(&req)?;
    let (messages, batch) = match body {
        Body::Single(Ok(Message::Request(r))) if r.is(Method::Initialize) => {
            let version = r.param_str("protocolVersion").unwrap_or("").to_owned();
            let span = traces::server_span(&req, &r, None, &version);
            return initialize(&req, &node, r).instrument(span).await;
        }
        Body::Single(Err(invalid)) => {
            return Err(HttpError::bad_request(invalid.reason).with_id(invalid.id));
        }
        Body::Single(Ok(m)) => (vec![Ok(m)], false),
        Body::Batch(items) => (items, true),
    };
    let session = super::session(&req, &node).await?;
    let version = Revision::parse_session(&session.protocol_version)
        .ok()
        .or(header_version)
        .unwrap_or(Revision::ASSUMED_WITHOUT_HEADER);
    if batch {
        if !version.allows_batches() {
            return Err(HttpError::bad_request(format!(
                "Bad Request: JSON-RPC batches are not allowed in protocol version {version}"
            )));
        }
        let has_initialize = messages
            .iter()
            .any(|m| matches!(m, Ok(Message::Request(r)) if r.is(Method::Initialize)));
        if has_initialize {
            return Err(HttpError::bad_request(
                "Bad Request: initialize must not be part of a batch",
            ));
        }
    }
    // Room for every answer the node gives itself before the writer reads (a batch), plus
    // what the backend may send ahead of the writer.
    let (out, rx) = mpsc::channel(messages.len() + switchyard_backend::OUTBOX);
    // Every request of the POST that the backend runs takes one of the session's in-flight
    // slots on this node, or the POST is refused whole (429) before anything is
    // acknowledged. What the node answers itself (`ping`, …) is done before the POST is.
    let count = messages
        .iter()
        .filter(|m| matches!(m, Ok(Message::Request(r)) if !dispatch::answered_by_node(r)))
        .count();
    let mut slots = node.limits.inflight(&session.id, count)?;
    let mut works: Vec<crate::dispatch::Work> = Vec::new();
    let mut answers = false;
    let mut requests = Vec::new();
    // The (last) request's span: its stream's writer runs in it, so the events it publishes
    // carry its trace context.
    let mut request_span = tracing::Span::none();
    for m in messages {
        match m {
            Ok(m) => {
                let span = match &m {
                    Message::Request(r) => {
                        answers = true;
                        requests.push(r.id.clone());
                        traces::server_span(&req, r, Some(&session.id), &session.protocol_version)
                    }
                    _ => tracing::Span::none(),
                };
                if !span.is_none() {
                    request_span = span.clone();
                }
                let work = dispatch(&node, &session, m, &out)
                    .instrument(span.clone())
                    .await?;
                if let Some(work) = work {
                    let slot = slots.pop();
                    works.push(Box::pin(
                        async move {
                            work.await;
                            drop(slot);
                        }
                        .instrument(span),
                    ));
                }
            }
            Err(invalid) => {
                answers = true;
                let resp = Response::error(invalid.id.clone(), invalid.to_error());
                let _ = out.send(Out::Message(Message::Response(resp))).await;
            }
        }
    }
    drop(out);
    if !answers {
        for work in works {
            node.tasks.spawn(work);
        }
        return Ok(HttpResponse::Accepted().finish());
    }
    respond(
        node.get_ref().clone(),
        session,
        version,
        rx,
        batch,
        works,
        requests,
    )
    .instrument(request_span)
    .await
}

async fn initialize(req: &HttpRequest, node: &Node, r: Request) -> Result<HttpResponse, HttpError> {
    if req.headers().contains_key(SESSION_HEADER) {
        return Err(HttpError::bad_request(
            "Bad Request: initialize opens a new session and must not carry Mcp-Session-Id",
        )
        .with_id(Some(r.id)));
    }
    let op = crate::telemetry::metrics::Operation::start(&r.method, "");
    let json = |m: Message| {
        HttpResponse::Ok()
            .content_type("application/json")
            .body(m.to_json())
    };
    let (version, result) = match dispatch::initialize_result(node, &r) {
        Ok(ok) => ok,
        Err(e) => {
            if let Some(op) = op {
                op.finish(crate::telemetry::metrics::code_label(e.code));
            }
            return Ok(json(Message::Response(Response::error(Some(r.id), e))));
        }
    };
    if let Some(message) = dispatch::client_data_too_large(node, &r) {
        return Err(HttpError::from(Refusal::OverLimit {
            setting: "limits.max_client_data_bytes",
            message,
        })
        .with_id(Some(r.id)));
    }
    let id = Node::new_session_id();
    let mut record = dispatch::new_record(id.clone(), Transport::StreamableHttp, version, &r);
    record.principal = super::principal(req);
    node.sessions.create(record).await?;
    if let Some(m) = crate::telemetry::metrics() {
        m.session_opened(crate::telemetry::metrics::STREAMABLE_HTTP);
    }
    if let Some(op) = op {
        op.finish_as(version.as_str(), "");
    }
    let mut resp = json(Message::Response(Response::result(r.id, result)));
    resp.headers_mut().insert(
        actix_web::http::header::HeaderName::from_static("mcp-session-id"),
        actix_web::http::header::HeaderValue::from_str(&id)
            .map_err(|_| HttpError::bad_request("session id"))?,
    );
    Ok(resp)
}

/// Answers with JSON when the first thing the request produced is its response (and the
/// node prefers JSON), else with an SSE stream of everything it produces. `requests` are
/// the POST's request ids, for the stream's producer lease.
///
/// A single request's work runs inline until its first message: the common case — a result
/// with nothing before it — never pays for a spawned task. Once the answer turns out to be a
/// stream, the work moves to a task of its own and outlives the connection.
async fn respond(
    node: Arc<Node>,
    session: Arc<SessionRecord>,
    version: Revision,
    mut rx: mpsc::Receiver<Out>,
    batch: bool,
    mut works: Vec<crate::dispatch::Work>,
    requests: Vec<Id>,
) -> Result<HttpResponse, HttpError> {
    let mut first = None;
    if node.config.http.response_mode == ResponseMode::Json && !batch && works.len() <= 1 {
        let mut work = works.pop();
        let item = match work.as_mut() {
            None => rx.recv().await,
            Some(w) => {
                tokio::select! {
                    biased;
                    item = rx.recv() => item,
                    () = w => {
                        work = None;
                        rx.recv().await
                    }
                }
            }
        };
        match item {
            Some(Out::Message(m @ Message::Response(_))) => {
                if let Some(w) = work {
                    // It has answered; what is left is its own tidying up, done at once.
                    w.await;
                }
                return Ok(HttpResponse::Ok()
                    .content_type("application/json")
                    .body(m.to_json()));
            }
            Some(other) => first = Some(other),
            // Cancelled before it answered: nothing will follow.
            None => return Ok(HttpResponse::Accepted().finish()),
        }
        works.extend(work);
    }
    for work in works {
        node.tasks.spawn(work);
    }
    let (http, http_rx) = mpsc::channel(64);
    let stream = Node::new_stream();
    let primes = version.primes_streams();
    let response = super::sse_response(&node, http_rx);
    let tasks = node.tasks.clone();
    let writer = Writer {
        node,
        session,
        stream,
        primes,
        requests: serde_json::to_string(&requests).unwrap_or_default(),
    };
    tasks.spawn(
        writer
            .run(first, rx, http)
            .instrument(tracing::Span::current()),
    );
    Ok(response)
}

/// The producer of one POST's response stream.
struct Writer {
    node: Arc<Node>,
    session: Arc<SessionRecord>,
    stream: StreamId,
    primes: bool,
    /// The POST's request ids (JSON), kept with the lease.
    requests: String,
}

impl Writer {
    /// Logs and publishes every message of the stream, and writes it to the client while the
    /// client is there. Keeps going when the client has gone, so that a resumption (on any
    /// node) finds everything in the log.
    ///
    /// While it runs it holds the stream's producer lease, renewed every third of
    /// `session.producer_lease_ms`: if this node dies, the lease lapses and a resumption on
    /// another node ends the stream with an error instead of waiting forever. The lease also
    /// gives the epoch of the priming event (2025-11-25), sent first.
    async fn run(self, mut next: Option<Out>, mut rx: mpsc::Receiver<Out>, http: Sender) {
        let _open =
            crate::telemetry::metrics::OpenStream::new(crate::telemetry::metrics::StreamKind::Post);
        let mut http = Some(http);
        let lease = Duration::from_millis(self.node.config.session.producer_lease_ms);
        if let Some(epoch) = self.renew(lease).await
            && self.primes
        {
            let priming = EventId::new(epoch, self.stream, 0);
            let priming = Event::message("").with_id(priming.to_string());
            send(&mut http, priming.to_bytes()).await;
        }
        let mut renew = tokio::time::interval_at(Instant::now() + lease / 3, lease / 3);
        loop {
            let item = match next.take() {
                Some(item) => item,
                None => tokio::select! {
                    item = rx.recv() => match item {
                        Some(item) => item,
                        None => break,
                    },
                    _ = renew.tick() => {
                        self.renew(lease).await;
                        continue;
                    }
                },
            };
            match item {
                Out::Message(m) => {
                    let node = &self.node;
                    let event = match node.emit(&self.session, self.stream, &m).await {
                        Ok((id, data)) => Event::message(data).with_id(id),
                        Err(e) => {
                            tracing::warn!(error = %e, "event not logged; sent without an id");
                            Event::message(m.to_json())
                        }
                    };
                    send(&mut http, event.to_bytes()).await;
                }
                Out::CloseStream if self.primes => {
                    if let Some(tx) = http.take() {
                        let retry = format!("retry: {}\n\n", self.node.config.http.sse_retry_ms);
                        let _ = tx.send(Bytes::from(retry)).await;
                    }
                }
                Out::CloseStream => {}
            }
        }
        if let Err(e) = self.node.finish(&self.session, self.stream).await {
            tracing::warn!(error = %e, "could not mark a stream finished");
        }
    }

    /// Takes or renews the lease; the log's epoch, when it could.
    async fn renew(&self, lease: Duration) -> Option<String> {
        let log = &self.node.log;
        match log
            .lease(&self.session.id, self.stream, &self.requests, lease)
            .await
        {
            Ok(epoch) => Some(epoch),
            Err(e) => {
                tracing::warn!(error = %e, "could not renew a stream's producer lease");
                None
            }
        }
    }
}

type Sender = mpsc::Sender<Bytes>;

/// Writes to the client while it is there.
pub(crate) async fn send(http: &mut Option<mpsc::Sender<Bytes>>, bytes: Bytes) {
    if let Some(tx) = http
        && tx.send(bytes).await.is_err()
    {
        *http = None;
    }
}
