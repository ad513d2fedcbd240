//! What a node does with each client message inside a session, whatever the transport.
//!
//! Lifecycle and session-level methods are answered here; everything else goes to the
//! backend through [`crate::exchange::run`]. Answers and backend output are written to the
//! request's [`Out`] channel, in order.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use switchyard_protocol::jsonrpc::{ErrorObject, Message, Notification, Request, Response};
use switchyard_protocol::method::Method;
use switchyard_protocol::revision::Revision;
use switchyard_state::{SessionPatch, SessionRecord, StateError};
use tokio::sync::mpsc;

use crate::exchange::{self, Out, level_rank};
use crate::node::Node;
use switchyard_protocol::envelope::Envelope;

/// The work of a request the backend handles: run it (or spawn it); it writes to `out`.
pub type Work = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Handles one message of a session. Requests the node answers itself answer on `out` at
/// once; for a request the backend handles, the returned [`Work`] writes to `out` as it
/// runs — the caller drives it (inline, or spawned). Notifications and responses write
/// nothing.
pub async fn dispatch(
    node: &Arc<Node>,
    session: &Arc<SessionRecord>,
    message: Message,
    out: &mpsc::Sender<Out>,
) -> Result<Option<Work>, StateError> {
    match message {
        Message::Request(req) => {
            let op =
                crate::telemetry::metrics::Operation::start(&req.method, &session.protocol_version);
            if let Some(answer) = session_method(node, session, &req).await? {
                if let Some(op) = op {
                    op.finish(crate::telemetry::metrics::error_type(&answer));
                }
                crate::telemetry::traces::record_outcome(&answer);
                let resp = Response {
                    id: Some(req.id),
                    outcome: answer,
                };
                let _ = out.send(Out::Message(Message::Response(resp))).await;
                Ok(None)
            } else {
                let work = exchange::run(node.clone(), session.clone(), req, out.clone());
                Ok(Some(Box::pin(work)))
            }
        }
        Message::Notification(n) => notification(node, session, n).await.map(|()| None),
        Message::Response(r) => {
            let env = Envelope::Client {
                data: Message::Response(r).to_json(),
            };
            node.bus
                .publish(&session.channel(), env.to_bytes())
                .await
                .map(|()| None)
        }
    }
}

/// Whether the node answers `req` itself (at once, without the backend).
pub fn answered_by_node(req: &Request) -> bool {
    matches!(
        req.kind(),
        Some(
            Method::Initialize
                | Method::Ping
                | Method::LoggingSetLevel
                | Method::ResourcesSubscribe
                | Method::ResourcesUnsubscribe
        )
    )
}

/// Answers the methods the node owns; `None` for those the backend handles.
async fn session_method(
    node: &Arc<Node>,
    session: &SessionRecord,
    req: &Request,
) -> Result<Option<Result<Value, ErrorObject>>, StateError> {
    let Some(method) = req.kind() else {
        return Ok(None);
    };
    let answer = match method {
        Method::Initialize => Err(ErrorObject::new(
            switchyard_protocol::jsonrpc::code::INVALID_REQUEST,
            "the session is already initialized",
        )),
        Method::Ping => Ok(json!({})),
        Method::LoggingSetLevel => match req.param_str("level") {
            Some(level) if level_rank(level).is_some() => {
                node.sessions
                    .update(&session.id, SessionPatch::LogLevel(level.to_owned()))
                    .await?;
                Ok(json!({}))
            }
            _ => Err(ErrorObject::invalid_params(
                "params.level must be a logging level (debug … emergency)",
            )),
        },
        Method::ResourcesSubscribe | Method::ResourcesUnsubscribe => match req.param_str("uri") {
            // Checked against the record as this request read it: requests running at once
            // may pass the limit by their own subscriptions, which `limits.max_batch_len` and
            // `limits.max_inflight_per_session` bound.
            Some(uri)
                if method == Method::ResourcesSubscribe
                    && !session.subscriptions.contains(uri)
                    && session.subscriptions.len() >= node.limits.config.max_subscriptions =>
            {
                Err(limit_error(
                    "limits.max_subscriptions",
                    &format!(
                        "the session holds its limit of {} subscriptions",
                        node.limits.config.max_subscriptions
                    ),
                ))
            }
            Some(uri) => {
                let patch = if method == Method::ResourcesSubscribe {
                    SessionPatch::Subscribe(uri.to_owned())
                } else {
                    SessionPatch::Unsubscribe(uri.to_owned())
                };
                node.sessions.update(&session.id, patch).await?;
                Ok(json!({}))
            }
            None => Err(ErrorObject::invalid_params("params.uri is required")),
        },
        _ => return Ok(None),
    };
    Ok(Some(answer))
}

async fn notification(
    node: &Arc<Node>,
    session: &SessionRecord,
    n: Notification,
) -> Result<(), StateError> {
    match n.kind() {
        Some(Method::NotificationsInitialized) => {
            node.sessions
                .update(&session.id, SessionPatch::Initialized)
                .await?;
        }
        Some(Method::NotificationsCancelled) => {
            exchange::cancel_local(node, &session.id, n.params.as_ref());
            // The request may run on another node: tell them all.
            let env = Envelope::Client {
                data: Message::Notification(n).to_json(),
            };
            node.bus.publish(&session.channel(), env.to_bytes()).await?;
        }
        _ => {
            let tasks = node.tasks.clone();
            let node = node.clone();
            let session = session.clone();
            tasks.spawn(async move {
                // Nobody reads what a notification's handler sends.
                let (tx, _rx) = mpsc::channel(1);
                let ctx = switchyard_backend::Context::new(
                    exchange::view(&session),
                    tx,
                    Arc::new(switchyard_backend::NoPeer),
                    node.changes.clone(),
                );
                node.backend.notification(n, ctx).await;
            });
        }
    }
    Ok(())
}

/// The `initialize` result, and the revision negotiated for `requested`.
///
/// A session revision the client asks for is echoed, on either transport: early Streamable
/// HTTP clients (Python SDK 1.8, TypeScript SDK 1.10) ask for 2024-11-05 on `/mcp` and accept
/// nothing else back; such a session is served under the 2025-03-26 rules (batches, no
/// priming event), as the official SDK servers do.
pub fn initialize_result(node: &Node, req: &Request) -> Result<(Revision, Value), ErrorObject> {
    let Some(requested) = req.param_str("protocolVersion") else {
        return Err(ErrorObject::invalid_params(
            "params.protocolVersion is required",
        ));
    };
    let version = Revision::negotiate(requested);
    let mut result = Map::new();
    result.insert("protocolVersion".into(), json!(version.as_str()));
    result.insert("capabilities".into(), node.backend.capabilities());
    result.insert("serverInfo".into(), node.backend.info().to_value());
    if let Some(i) = node.backend.instructions() {
        result.insert("instructions".into(), json!(i));
    }
    Ok((version, Value::Object(result)))
}

/// A JSON-RPC error for a limit reached inside a session (the answer to one request, not
/// a refusal of the POST), naming the setting as [`crate::http::Refusal`]'s limits do.
pub fn limit_error(setting: &str, message: &str) -> ErrorObject {
    let env = format!("SWITCHYARD__{}", setting.replace('.', "__").to_uppercase());
    ErrorObject::new(
        switchyard_protocol::jsonrpc::code::LIMIT_EXCEEDED,
        format!("{message} (limit: {setting}, {env})"),
    )
    .with_data(json!({ "limit": setting }))
}

/// Why an `initialize` may not be stored: its `clientInfo` and `capabilities` take more than
/// `limits.max_client_data_bytes` as JSON. `None` when they fit.
pub fn client_data_too_large(node: &Node, req: &Request) -> Option<String> {
    let max = node.limits.config.max_client_data_bytes;
    let size: usize = ["clientInfo", "capabilities"]
        .iter()
        .filter_map(|k| req.params.as_ref()?.get(*k))
        .map(|v| serde_json::to_vec(v).map_or(0, |b| b.len()))
        .sum();
    (size > max).then(|| {
        format!(
            "initialize's clientInfo and capabilities take {size} bytes; at most {max} are stored"
        )
    })
}

/// A new session record from an `initialize` request.
pub fn new_record(
    id: String,
    transport: switchyard_state::Transport,
    version: Revision,
    req: &Request,
) -> SessionRecord {
    let param = |k: &str| {
        req.params
            .as_ref()
            .and_then(|p| p.get(k))
            .cloned()
            .unwrap_or_else(|| json!({}))
    };
    SessionRecord {
        id,
        principal: "anonymous".into(),
        transport,
        protocol_version: version.as_str().into(),
        client_info: param("clientInfo"),
        client_capabilities: param("capabilities"),
        initialized: false,
        log_level: None,
        subscriptions: Default::default(),
        created_at_ms: switchyard_state::now_ms(),
        get_stream: None,
        upstreams: Default::default(),
    }
}
