//! The context a backend handles a request in.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use switchyard_protocol::jsonrpc::{ErrorObject, Message, Notification};
use switchyard_protocol::method::Method;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// What a backend may know about the client's session.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionView {
    /// The session id, when the client has one (legacy eras).
    pub id: Option<String>,
    /// The protocol version in use.
    pub protocol_version: String,
    /// The client's `capabilities`.
    pub client_capabilities: Value,
    /// The client's `clientInfo`.
    pub client_info: Value,
    /// The sessions the gateway holds with upstream servers for this client, by upstream
    /// name, as stored in the session record: opaque to the node, read by
    /// `switchyard-upstream` (empty for built-ins and the stateless revision).
    pub upstreams: Map<String, Value>,
}

/// One request to the client: what the 2026-07-28 revision calls an *input request*.
#[derive(Debug, Clone, PartialEq)]
pub struct InputRequest {
    /// A key unique within the handling of one client request, stable across executions
    /// (the same handler asking the same question uses the same key).
    pub key: String,
    /// `elicitation/create`, `sampling/createMessage` or `roots/list`.
    pub method: String,
    /// Its params.
    pub params: Value,
}

/// Sends requests to the client and awaits their responses. Implemented by the node, per era:
///
/// - session eras: each request goes out on the stream of the current request, and the
///   response may come back through any node;
/// - the stateless 2026-07-28 revision (multi round-trip requests): an answer the client
///   already gave (in `inputResponses`, or carried in `requestState`) is returned at once;
///   otherwise the node ends this execution of the handler and answers the client with
///   `input_required` listing every outstanding request. The client retries with the
///   answers and the handler runs again from the start — so a handler must ask the same
///   questions with the same keys, and do nothing irreversible before its last question.
#[async_trait]
pub trait Peer: Send + Sync + 'static {
    /// Sends one request to the client through `outbox` and awaits the result.
    async fn request(
        &self,
        request: InputRequest,
        outbox: &mpsc::Sender<Message>,
    ) -> Result<Value, ErrorObject>;

    /// Sends several requests at once; results in the same order. The default sends them
    /// concurrently through [`Peer::request`].
    async fn request_all(
        &self,
        requests: Vec<InputRequest>,
        outbox: &mpsc::Sender<Message>,
    ) -> Vec<Result<Value, ErrorObject>> {
        futures::future::join_all(requests.into_iter().map(|r| self.request(r, outbox))).await
    }
}

/// A [`Peer`] for contexts where the client cannot be asked anything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPeer;

#[async_trait]
impl Peer for NoPeer {
    async fn request(
        &self,
        request: InputRequest,
        _outbox: &mpsc::Sender<Message>,
    ) -> Result<Value, ErrorObject> {
        Err(ErrorObject::internal(format!(
            "cannot send {} to this client",
            request.method
        )))
    }
}

/// Which list changed, for `notifications/*/list_changed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// `notifications/tools/list_changed`.
    Tools,
    /// `notifications/prompts/list_changed`.
    Prompts,
    /// `notifications/resources/list_changed`.
    Resources,
}

/// Changes that concern other clients than the one asking: the node fans them out to every
/// subscribed session, on every node.
pub trait Changes: Send + Sync + 'static {
    /// A resource's content changed (`notifications/resources/updated` to its subscribers).
    fn resource_updated(&self, uri: &str);
    /// A list changed (`notifications/*/list_changed` to every session).
    fn list_changed(&self, kind: ListKind);
}

/// A [`Changes`] that drops everything (unit tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoChanges;

impl Changes for NoChanges {
    fn resource_updated(&self, _uri: &str) {}
    fn list_changed(&self, _kind: ListKind) {}
}

/// The context of one request.
#[derive(Clone)]
pub struct Context {
    /// The client's session, as far as the backend may know it.
    pub session: SessionView,
    /// Fires when the client cancels the request or goes away for good.
    pub cancel: CancellationToken,
    /// `params._meta.progressToken` of the request, if any.
    pub progress_token: Option<Value>,
    outbox: mpsc::Sender<Message>,
    peer: Arc<dyn Peer>,
    changes: Arc<dyn Changes>,
    stream: Option<Arc<dyn StreamControl>>,
}

/// Control over the SSE stream a request is answered on. Implemented by the node.
pub trait StreamControl: Send + Sync + 'static {
    /// Closes the response stream now, without ending the request (the 2025-11-25 polling
    /// behaviour): the client reconnects with `Last-Event-ID` and receives the rest.
    fn close_stream(&self);
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("session", &self.session)
            .field("progress_token", &self.progress_token)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// Builds a context.
    pub fn new(
        session: SessionView,
        outbox: mpsc::Sender<Message>,
        peer: Arc<dyn Peer>,
        changes: Arc<dyn Changes>,
    ) -> Self {
        Self {
            session,
            cancel: CancellationToken::new(),
            progress_token: None,
            outbox,
            peer,
            changes,
            stream: None,
        }
    }

    /// Sets the stream control hook.
    pub fn with_stream_control(mut self, control: Arc<dyn StreamControl>) -> Self {
        self.stream = Some(control);
        self
    }

    /// Asks the transport to close the response stream early (the client resumes it with
    /// `Last-Event-ID`). A no-op where the stream cannot be resumed (JSON responses, clients
    /// older than 2025-11-25).
    pub fn close_stream(&self) {
        if let Some(s) = &self.stream {
            s.close_stream();
        }
    }

    /// Sets the cancellation token.
    pub fn with_cancel(mut self, cancel: CancellationToken) -> Self {
        self.cancel = cancel;
        self
    }

    /// Sets the progress token.
    pub fn with_progress_token(mut self, token: Option<Value>) -> Self {
        self.progress_token = token;
        self
    }

    /// Sends a notification related to this request (it precedes the result on the wire).
    /// Waits while the way to the client is full (the outbox is bounded: a backend that
    /// sends faster than the client reads is slowed, not buffered without limit).
    pub async fn notify(&self, method: &str, params: Value) {
        let params = match params {
            Value::Object(m) => Some(m),
            Value::Null => None,
            other => {
                let mut m = Map::new();
                m.insert("value".into(), other);
                Some(m)
            }
        };
        let _ = self
            .outbox
            .send(Message::Notification(Notification::new(method, params)))
            .await;
    }

    /// Sends `notifications/progress`, if the request asked for progress.
    pub async fn progress(&self, progress: f64, total: Option<f64>, message: Option<&str>) {
        let Some(token) = &self.progress_token else {
            return;
        };
        let mut p = json!({ "progressToken": token, "progress": progress });
        if let Some(t) = total {
            p["total"] = json!(t);
        }
        if let Some(m) = message {
            p["message"] = json!(m);
        }
        self.notify(Method::NotificationsProgress.as_str(), p).await;
    }

    /// Sends `notifications/message` at `level` (the node drops it if the client's level is
    /// higher).
    pub async fn log(&self, level: &str, logger: Option<&str>, data: Value) {
        let mut p = json!({ "level": level, "data": data });
        if let Some(l) = logger {
            p["logger"] = json!(l);
        }
        self.notify(Method::NotificationsMessage.as_str(), p).await;
    }

    /// Sends a request to the client (sampling, elicitation, roots) and awaits its result.
    /// The key is the method name: use [`Context::request_keyed`] to ask twice.
    pub async fn request(&self, method: &str, params: Value) -> Result<Value, ErrorObject> {
        self.request_keyed(method, method, params).await
    }

    /// Sends a request under a key of the handler's choosing (see [`Peer`]).
    pub async fn request_keyed(
        &self,
        key: &str,
        method: &str,
        params: Value,
    ) -> Result<Value, ErrorObject> {
        let request = InputRequest {
            key: key.to_owned(),
            method: method.to_owned(),
            params,
        };
        self.peer.request(request, &self.outbox).await
    }

    /// Sends several keyed requests at once (one round trip in the stateless revision).
    pub async fn request_all(
        &self,
        requests: Vec<InputRequest>,
    ) -> Vec<Result<Value, ErrorObject>> {
        self.peer.request_all(requests, &self.outbox).await
    }

    /// Whether the client declared a capability (e.g. `"sampling"`, `"elicitation"`).
    pub fn client_supports(&self, capability: &str) -> bool {
        self.session
            .client_capabilities
            .get(capability)
            .is_some_and(|v| !v.is_null())
    }

    /// Announces that a resource changed, to every subscriber on every node.
    pub fn resource_updated(&self, uri: &str) {
        self.changes.resource_updated(uri);
    }

    /// Announces that a list changed, to every session on every node.
    pub fn list_changed(&self, kind: ListKind) {
        self.changes.list_changed(kind);
    }
}
