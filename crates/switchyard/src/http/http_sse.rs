//! The 2024-11-05 HTTP+SSE transport: `GET /sse` opens a session and its only stream (the
//! first event, `endpoint`, names where to POST); `POST /messages?sessionId=…` answers 202
//! and every response travels on the `/sse` stream — through the bus, so the POST may land
//! on any node.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use switchyard_protocol::event_id::StreamId;
use switchyard_protocol::jsonrpc::{self, Body, Message, Response};
use switchyard_protocol::method::Method;
use switchyard_protocol::revision::Revision;
use switchyard_protocol::sse::Event;
use switchyard_state::{SessionPatch, SessionRecord, Transport};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::follow::{Follow, OnEnd};
use super::{HttpError, NodeData, Refusal};
use crate::dispatch::{self, dispatch};
use crate::exchange::Out;
use crate::node::Node;
use switchyard_protocol::envelope::BROADCAST;

/// Handles `GET /sse`.
pub async fn sse(req: HttpRequest, node: NodeData) -> Result<HttpResponse, HttpError> {
    super::check_origin(&req, &node)?;
    if req.headers().contains_key("accept") && !super::accepts(&req).event_stream {
        return Err(
            Refusal::NotAcceptable("Not Acceptable: Accept must list text/event-stream").into(),
        );
    }
    let slot = node.limits.stream()?;
    let node = node.get_ref().clone();
    let id = Node::new_session_id();
    let mut record = dispatch::new_record(
        id.clone(),
        Transport::HttpSse,
        Revision::V2024_11_05,
        &jsonrpc::Request::new(jsonrpc::Id::Number(0), Method::Initialize, None),
    );
    record.get_stream = Some(StreamId::Get.to_string());
    record.principal = super::principal(&req);
    node.sessions.create(record.clone()).await?;
    if let Some(m) = crate::telemetry::metrics() {
        m.session_opened(crate::telemetry::metrics::HTTP_SSE);
    }
    let sub = node.bus.subscribe(&record.channel()).await?;
    let changes = node.bus.subscribe(BROADCAST).await?;
    let owner = super::stream::attach(&node, &record, StreamId::Get).await?;
    let endpoint = Event::message(format!("/messages?sessionId={id}")).with_event("endpoint");
    let mut follow = Follow::new(node.clone(), Arc::new(record), StreamId::Get, None);
    follow.own(owner);
    // HTTP+SSE has no resumption: the session ends with its stream.
    let body = follow.into_body(
        vec![endpoint.to_bytes()],
        Vec::new(),
        false,
        sub,
        Some(changes),
        OnEnd::EndSession,
    );
    let response = super::sse_stream(
        &node,
        crate::limits::hold(Box::pin(body), slot),
        crate::health::Ends::WithRequests,
    );
    Ok(response)
}

/// The query of `POST /messages`.
#[derive(Debug, Deserialize)]
pub struct MessagesQuery {
    #[serde(rename = "sessionId")]
    session_id: Option<String>,
}

/// Handles `POST /messages?sessionId=…`.
pub async fn messages(
    req: HttpRequest,
    query: web::Query<MessagesQuery>,
    payload: web::Payload,
    node: NodeData,
) -> Result<HttpResponse, HttpError> {
    super::check_origin(&req, &node)?;
    super::check_json_body(&req)?;
    let Some(id) = query.into_inner().session_id else {
        return Err(HttpError::bad_request("Bad Request: sessionId is required"));
    };
    let body = super::read_message(payload, &node).await?;
    super::check_scopes(&req, &node, &body)?;
    let session = node
        .sessions
        .get(&id)
        .await?
        .filter(|s| s.transport == Transport::HttpSse && s.principal == super::principal(&req))
        .ok_or_else(HttpError::session_not_found)?;
    let messages = match body {
        Body::Single(m) => vec![m],
        Body::Batch(items) => items,
    };
    let node = node.get_ref().clone();
    let requests: Vec<jsonrpc::Id> = messages
        .iter()
        .filter_map(|m| match m {
            Ok(Message::Request(r)) => Some(r.id.clone()),
            _ => None,
        })
        .collect();
    let (out, rx) = mpsc::channel(messages.len() + switchyard_backend::OUTBOX);
    node.tasks
        .spawn(relay(node.clone(), session.clone(), rx, requests));
    for m in messages {
        match m {
            Ok(Message::Request(r)) if r.is(Method::Initialize) => {
                let outcome = match dispatch::initialize_result(&node, &r) {
                    Ok(_) if dispatch::client_data_too_large(&node, &r).is_some() => {
                        let message = dispatch::client_data_too_large(&node, &r);
                        Err(dispatch::limit_error(
                            "limits.max_client_data_bytes",
                            &message.unwrap_or_default(),
                        ))
                    }
                    Ok((version, result)) => {
                        let patch = SessionPatch::Negotiated {
                            protocol_version: version.as_str().into(),
                            client_info: param(&r, "clientInfo"),
                            client_capabilities: param(&r, "capabilities"),
                        };
                        node.sessions.update(&session.id, patch).await?;
                        Ok(result)
                    }
                    Err(e) => Err(e),
                };
                let resp = Response {
                    id: Some(r.id),
                    outcome,
                };
                let _ = out.send(Out::Message(Message::Response(resp))).await;
            }
            Ok(m) => {
                // Requests see the session as it is now (initialize may have just changed it).
                let now = node
                    .sessions
                    .get(&session.id)
                    .await?
                    .unwrap_or(session.clone());
                if let Some(work) = dispatch(&node, &now, m, &out).await? {
                    node.tasks.spawn(work);
                }
            }
            Err(invalid) => {
                let resp = Response::error(invalid.id.clone(), invalid.to_error());
                let _ = out.send(Out::Message(Message::Response(resp))).await;
            }
        }
    }
    Ok(HttpResponse::Accepted().body("Accepted"))
}

fn param(r: &jsonrpc::Request, key: &str) -> serde_json::Value {
    r.params
        .as_ref()
        .and_then(|p| p.get(key))
        .cloned()
        .unwrap_or_else(|| serde_json::json!({}))
}

/// Sends everything a POST produced to the session's `/sse` stream, wherever it is held.
///
/// While the POST's requests run, the relay holds a producer lease on a stream of its own
/// (it carries no events; `/sse` does): if this node dies, the lease lapses and the node
/// holding `/sse` answers each request with a JSON-RPC error (see `http/follow.rs`).
async fn relay(
    node: Arc<Node>,
    session: Arc<SessionRecord>,
    mut rx: mpsc::Receiver<Out>,
    requests: Vec<jsonrpc::Id>,
) {
    let lease = Duration::from_millis(node.config.session.producer_lease_ms);
    let tracker = (!requests.is_empty()).then(Node::new_stream);
    let requests = serde_json::to_string(&requests).unwrap_or_default();
    let renew = || async {
        if let Some(t) = tracker
            && let Err(e) = node.log.lease(&session.id, t, &requests, lease).await
        {
            tracing::warn!(error = %e, "could not renew an HTTP+SSE request's lease");
        }
    };
    renew().await;
    let mut tick = tokio::time::interval_at(Instant::now() + lease / 3, lease / 3);
    loop {
        tokio::select! {
            item = rx.recv() => match item {
                Some(Out::Message(m)) => {
                    if let Err(e) = node.emit(&session, StreamId::Get, &m).await {
                        tracing::warn!(error = %e, "could not relay a message to an HTTP+SSE stream");
                    }
                }
                Some(Out::CloseStream) => {}
                None => break,
            },
            _ = tick.tick(), if tracker.is_some() => renew().await,
        }
    }
    if let Some(t) = tracker
        && let Err(e) = node.log.close(&session.id, t).await
    {
        tracing::warn!(error = %e, "could not release an HTTP+SSE request's lease");
    }
}
