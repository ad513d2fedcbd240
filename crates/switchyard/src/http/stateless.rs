//! `POST /mcp` in the stateless 2026-07-28 revision: per-request `_meta`, header/body
//! validation, `server/discover`, `subscriptions/listen`, and multi round-trip requests.
//!
//! Nothing here touches a session: a stateless request carries everything it needs, and any
//! node can serve it (the `requestState` of a multi round-trip request included).

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use bytes::Bytes;
use futures::StreamExt;
use serde_json::{Map, Value, json};
use switchyard_backend::{Context, SessionView};
use switchyard_protocol::jsonrpc::{Body, ErrorObject, Id, Message, Request, Response, code};
use switchyard_protocol::method::Method;
use switchyard_protocol::revision::{self, Revision};
use switchyard_protocol::sse::Event;
use switchyard_protocol::stateless::{self, RequestMeta};
use tokio::sync::mpsc;

use super::{HttpError, Refusal, VERSION_HEADER};
use crate::exchange::level_rank;
use crate::mrtr::MrtrPeer;
use crate::node::Node;
use tracing::Instrument as _;

/// Methods of the session eras that 2026-07-28 removed: 404 with `-32601`.
const REMOVED: &[Method] = &[
    Method::Initialize,
    Method::Ping,
    Method::LoggingSetLevel,
    Method::ResourcesSubscribe,
    Method::ResourcesUnsubscribe,
];

/// Methods whose results carry `ttlMs` and `cacheScope`.
const CACHEABLE: &[Method] = &[
    Method::ToolsList,
    Method::PromptsList,
    Method::ResourcesList,
    Method::ResourcesTemplatesList,
    Method::ResourcesRead,
];

/// Methods that may answer `input_required`.
const MRTR: &[Method] = &[Method::ToolsCall, Method::PromptsGet, Method::ResourcesRead];

/// Whether a POST is stateless traffic: `MCP-Protocol-Version` names no session revision,
/// or — with no session and not an `initialize` — it carries a protocol version in `_meta`.
pub fn is_stateless(req: &HttpRequest, body: &Body) -> bool {
    if let Some(v) = req.headers().get(&super::VERSION_NAME) {
        let session = v.to_str().is_ok_and(|v| Revision::parse_session(v).is_ok());
        if !session {
            return true;
        }
    }
    if req.headers().contains_key(&super::SESSION_NAME) {
        return false;
    }
    match body {
        Body::Single(Ok(Message::Request(r))) => {
            !r.is(Method::Initialize) && RequestMeta::version_of(r.params.as_ref()).is_some()
        }
        Body::Single(Ok(Message::Notification(n))) => {
            RequestMeta::version_of(n.params.as_ref()).is_some()
        }
        _ => false,
    }
}

/// Every version this node serves, newest first.
pub fn supported_versions() -> Vec<&'static str> {
    revision::ALL.iter().rev().map(|v| v.as_str()).collect()
}

fn header_str<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a [u8]> {
    req.headers().get(name).map(|v| v.as_bytes())
}

/// A refusal with the JSON-RPC error `error` (its code decides the status).
fn reject(id: &Id, error: ErrorObject) -> HttpError {
    HttpError::from(Refusal::Rpc(error)).with_id(Some(id.clone()))
}

fn mismatch(id: &Id, message: impl Into<String>) -> HttpError {
    reject(id, stateless::header_mismatch(message))
}

/// Handles a stateless POST.
pub async fn handle(
    req: &HttpRequest,
    node: &Arc<Node>,
    body: Body,
) -> Result<HttpResponse, HttpError> {
    let r = match body {
        Body::Single(Ok(Message::Request(r))) => r,
        Body::Single(Ok(Message::Notification(_))) => return Ok(HttpResponse::Accepted().finish()),
        Body::Single(Ok(Message::Response(_))) => {
            return Err(HttpError::bad_request(
                "Bad Request: clients do not send responses in 2026-07-28",
            ));
        }
        Body::Single(Err(invalid)) => {
            return Err(HttpError::bad_request(invalid.reason).with_id(invalid.id));
        }
        Body::Batch(_) => {
            return Err(HttpError::bad_request(
                "Bad Request: JSON-RPC batches are not part of 2026-07-28",
            ));
        }
    };
    let meta = validate(req, node, &r).await?;
    match r.kind() {
        Some(Method::ServerDiscover) => Ok(json_response(&Response::result(
            r.id.clone(),
            discover(node),
        ))),
        Some(Method::SubscriptionsListen) => {
            let slot = node.limits.stream()?;
            Ok(super::listen::listen(node, r, slot).await)
        }
        Some(m) if REMOVED.contains(&m) => {
            Err(reject(&r.id, ErrorObject::method_not_found(m.as_str())))
        }
        _ => {
            let span = crate::telemetry::traces::server_span(req, &r, None, stateless::VERSION);
            Ok(run(node.clone(), r, meta, super::principal(req))
                .instrument(span)
                .await)
        }
    }
}

/// The header and `_meta` rules, in the order the spec implies: required metadata,
/// header/body agreement, then version support.
async fn validate(req: &HttpRequest, node: &Node, r: &Request) -> Result<RequestMeta, HttpError> {
    let id = &r.id;
    let Some(header_version) = header_str(req, VERSION_HEADER) else {
        return Err(mismatch(id, "MCP-Protocol-Version header is required"));
    };
    let meta = RequestMeta::from_params(r.params.as_ref()).map_err(|e| reject(id, e))?;
    if header_version != meta.protocol_version.as_bytes() {
        return Err(mismatch(
            id,
            "Header mismatch: MCP-Protocol-Version does not match _meta protocolVersion",
        ));
    }
    if meta.protocol_version != stateless::VERSION {
        let e = ErrorObject::new(
            code::UNSUPPORTED_PROTOCOL_VERSION,
            "Unsupported protocol version",
        )
        .with_data(json!({
            "supported": supported_versions(),
            "requested": meta.protocol_version,
        }));
        return Err(reject(id, e));
    }
    match header_str(req, "mcp-method") {
        None => return Err(mismatch(id, "Mcp-Method header is required")),
        Some(m) if m != r.method.as_bytes() => {
            return Err(mismatch(
                id,
                "Header mismatch: Mcp-Method does not match the body",
            ));
        }
        Some(_) => {}
    }
    if let Some(expected) = stateless::expected_name(r) {
        let Some(raw) = header_str(req, "mcp-name") else {
            return Err(mismatch(id, "Mcp-Name header is required for this method"));
        };
        let name = stateless::decode_header_value(raw).map_err(|e| mismatch(id, e))?;
        if Some(name.as_str()) != expected {
            return Err(mismatch(
                id,
                "Header mismatch: Mcp-Name does not match the body",
            ));
        }
    }
    if r.is(Method::ToolsCall) {
        check_param_headers(req, node, r).await?;
    }
    Ok(meta)
}

/// `Mcp-Param-*` headers declared by the called tool's `x-mcp-header` annotations.
async fn check_param_headers(req: &HttpRequest, node: &Node, r: &Request) -> Result<(), HttpError> {
    let Some(tool) = r.param_str("name") else {
        return Ok(());
    };
    let declared = node.param_headers(tool).await;
    let args = r.params.as_ref().and_then(|p| p.get("arguments"));
    for (name, path) in declared {
        let header = header_str(req, &format!("mcp-param-{name}"));
        let value = stateless::value_at(args, &path);
        match (header, value) {
            (None, None) => {}
            (None, Some(_)) => {
                return Err(mismatch(
                    &r.id,
                    format!("Mcp-Param-{name} header is required"),
                ));
            }
            (Some(raw), value) => {
                let decoded =
                    stateless::decode_header_value(raw).map_err(|e| mismatch(&r.id, e))?;
                if !value.is_some_and(|v| stateless::header_matches_value(&decoded, v)) {
                    return Err(mismatch(
                        &r.id,
                        format!("Header mismatch: Mcp-Param-{name} does not match the body"),
                    ));
                }
            }
        }
    }
    Ok(())
}

fn discover(node: &Node) -> Value {
    let mut result = Map::new();
    result.insert("resultType".into(), json!("complete"));
    result.insert("supportedVersions".into(), json!(supported_versions()));
    result.insert("capabilities".into(), node.backend.capabilities());
    if let Some(i) = node.backend.instructions() {
        result.insert("instructions".into(), json!(i));
    }
    result.insert("ttlMs".into(), json!(node.config.stateless.list_ttl_ms));
    result.insert("cacheScope".into(), json!("public"));
    let mut meta = Map::new();
    meta.insert(
        stateless::META_SERVER_INFO.into(),
        node.backend.info().to_value(),
    );
    result.insert("_meta".into(), Value::Object(meta));
    Value::Object(result)
}

fn json_response(resp: &Response) -> HttpResponse {
    let status = match &resp.outcome {
        Err(e) => super::error::rpc_status(e.code),
        Ok(_) => StatusCode::OK,
    };
    HttpResponse::build(status)
        .content_type("application/json")
        .body(Message::Response(resp.clone()).to_json())
}

/// Runs a request through the backend and answers with JSON, or SSE once anything precedes
/// the result. Closing the connection cancels the request.
async fn run(node: Arc<Node>, r: Request, meta: RequestMeta, principal: String) -> HttpResponse {
    let (out, mut rx) = mpsc::channel(switchyard_backend::OUTBOX);
    node.tasks.spawn(
        exchange(node.clone(), r, meta, principal, out).instrument(tracing::Span::current()),
    );
    let first = match rx.recv().await {
        Some(Message::Response(resp)) => return json_response(&resp),
        Some(other) => other,
        None => return HttpResponse::Accepted().finish(),
    };
    let (http, http_rx) = mpsc::channel::<Bytes>(64);
    let response = super::sse_response(&node, http_rx);
    node.tasks.spawn(async move {
        let mut next = Some(first);
        loop {
            let m = match next.take() {
                Some(m) => m,
                None => match rx.recv().await {
                    Some(m) => m,
                    None => break,
                },
            };
            if http
                .send(Event::message(m.to_json()).to_bytes())
                .await
                .is_err()
            {
                break; // The client went: dropping `rx` cancels the exchange.
            }
        }
    });
    response
}

/// One stateless request's life: answers from `inputResponses` and `requestState`, backend
/// output filtered by the request's log level, and the result completed for the wire.
/// `requestState` is bound to `principal`: another principal's is refused as tampered.
async fn exchange(
    node: Arc<Node>,
    mut r: Request,
    meta: RequestMeta,
    principal: String,
    out: mpsc::Sender<Message>,
) {
    let id = r.id.clone();
    let mut op = crate::exchange::Timed::new(&r.method, stateless::VERSION);
    let name = stateless::expected_name(&r).flatten().map(str::to_owned);
    let answers = match take_answers(&node, &mut r, &principal, name.as_deref()) {
        Ok(a) => a,
        Err(e) => {
            op.saw_outcome(&Err(e.clone()));
            let _ = out
                .send(Message::Response(Response::error(Some(id), e)))
                .await;
            return;
        }
    };
    let method = r.method.clone();
    let peer = Arc::new(MrtrPeer::new(answers, meta.client_capabilities.clone()));
    let progress = r.meta().and_then(|m| m.get("progressToken")).cloned();
    let min_level = meta.log_level.as_deref().and_then(level_rank);
    let view = SessionView {
        id: None,
        protocol_version: stateless::VERSION.into(),
        client_capabilities: meta.client_capabilities,
        client_info: meta.client_info.unwrap_or_else(|| json!({})),
        upstreams: Default::default(),
    };
    let changes = node.changes.clone();
    let ctx_peer = peer.clone();
    let stream = switchyard_backend::serve(node.backend.clone(), r, move |outbox| {
        Context::new(view, outbox, ctx_peer, changes).with_progress_token(progress)
    });
    let mut stream = std::pin::pin!(stream);
    loop {
        tokio::select! {
            item = stream.next() => match item {
                None => break,
                Some(Message::Notification(n)) if n.is(Method::NotificationsMessage) => {
                    let level = n.params.as_ref().and_then(|p| p.get("level")).and_then(Value::as_str);
                    let keep = matches!((min_level, level.and_then(level_rank)), (Some(min), Some(l)) if l >= min);
                    if keep {
                        let _ = out.send(Message::Notification(n)).await;
                    }
                }
                Some(Message::Response(mut resp)) => {
                    op.saw_outcome(&resp.outcome);
                    if let Ok(result) = &mut resp.outcome {
                        complete(&node, &method, result);
                    }
                    let _ = out.send(Message::Response(resp)).await;
                    break;
                }
                Some(Message::Request(_)) => {} // Never on a stateless stream; MrtrPeer sends none.
                Some(other) => {
                    let _ = out.send(other).await;
                }
            },
            _ = peer.input_needed() => {
                let resp = input_required(
                    &node,
                    &principal,
                    &method,
                    name.as_deref(),
                    &peer,
                    id.clone(),
                );
                let _ = out.send(Message::Response(resp)).await;
                break;
            }
            _ = out.closed() => break,
        }
    }
}

/// The answers a retry brings: those sealed in `requestState`, then `inputResponses`.
/// Both are removed from the params the backend sees.
fn take_answers(
    node: &Node,
    r: &mut Request,
    principal: &str,
    name: Option<&str>,
) -> Result<Map<String, Value>, ErrorObject> {
    let method = r.method.clone();
    let Some(params) = r.params.as_mut() else {
        return Ok(Map::new());
    };
    let mut answers = match params.remove("requestState") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::String(s)) => node.sealer.open(&s, principal, &method, name)?,
        Some(_) => return Err(ErrorObject::invalid_params("requestState must be a string")),
    };
    match params.remove("inputResponses") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => answers.extend(m),
        Some(_) => {
            return Err(ErrorObject::invalid_params(
                "inputResponses must be an object",
            ));
        }
    }
    Ok(answers)
}

fn input_required(
    node: &Node,
    principal: &str,
    method: &str,
    name: Option<&str>,
    peer: &MrtrPeer,
    id: Id,
) -> Response {
    if !Method::parse(method).is_some_and(|m| MRTR.contains(&m)) {
        return Response::error(
            Some(id),
            ErrorObject::internal(format!("{method} cannot ask the client for input")),
        );
    }
    let mut requests = Map::new();
    for q in peer.take_asked() {
        requests.insert(q.key, json!({ "method": q.method, "params": q.params }));
    }
    let state = node.sealer.seal(principal, method, name, peer.answers());
    let mut result = json!({
        "resultType": "input_required",
        "inputRequests": requests,
        "requestState": state,
    });
    add_server_info(node, &mut result);
    Response::result(id, result)
}

/// Completes a backend result for the wire: `resultType`, caching fields, `serverInfo`.
fn complete(node: &Node, method: &str, result: &mut Value) {
    let Value::Object(obj) = result else {
        return;
    };
    obj.entry("resultType").or_insert_with(|| json!("complete"));
    let Some(method) = Method::parse(method) else {
        add_server_info(node, result);
        return;
    };
    if CACHEABLE.contains(&method) {
        let ttl = if method == Method::ResourcesRead {
            node.config.stateless.read_ttl_ms
        } else {
            node.config.stateless.list_ttl_ms
        };
        obj.entry("ttlMs").or_insert_with(|| json!(ttl));
        let scope = if method == Method::ResourcesRead {
            "private"
        } else {
            "public"
        };
        obj.entry("cacheScope").or_insert_with(|| json!(scope));
    }
    add_server_info(node, result);
}

fn add_server_info(node: &Node, result: &mut Value) {
    let Value::Object(obj) = result else {
        return;
    };
    let meta = obj.entry("_meta").or_insert_with(|| json!({}));
    if let Value::Object(m) = meta {
        m.entry(stateless::META_SERVER_INFO)
            .or_insert_with(|| node.backend.info().to_value());
    }
}
