//! What a Switchyard node serves MCP *through*: the [`Backend`] trait, and the built-in
//! backends.
//!
//! A backend sees JSON-RPC requests and a [`Context`]; it never sees HTTP, sessions stores,
//! Redis or eras. Everything it sends besides its result — progress, log messages, requests
//! to the client (sampling, elicitation), change notices — goes through the context, and
//! [`serve`] turns one request into the ordered stream of messages the transport writes.
//!
//! # Layout
//!
//! - [`context`]: [`Context`], the [`Peer`] and [`Changes`] hooks the node implements.
//! - [`demo`]: the seed application — clients and bookings on SQLite.
//! - [`everything`]: the fixture the MCP conformance suite expects.

use std::sync::Arc;

use async_trait::async_trait;
use futures::Stream;
use serde_json::Value;
use switchyard_protocol::jsonrpc::{ErrorObject, Message, Notification, Request, Response};
use tokio::sync::mpsc;

pub mod context;
pub mod demo;
pub mod everything;
mod util;

pub use context::{
    Changes, Context, InputRequest, ListKind, NoChanges, NoPeer, Peer, SessionView, StreamControl,
};

/// `serverInfo` as sent in the `initialize` result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    /// Programmatic name.
    pub name: String,
    /// Version string.
    pub version: String,
    /// Human-readable title.
    pub title: Option<String>,
}

impl ServerInfo {
    /// The `Implementation` JSON object.
    pub fn to_value(&self) -> Value {
        let mut v = serde_json::json!({ "name": self.name, "version": self.version });
        if let Some(t) = &self.title {
            v["title"] = Value::from(t.clone());
        }
        v
    }
}

/// An MCP server behind the gateway.
///
/// The node handles the lifecycle (`initialize`, `ping`, `logging/setLevel`,
/// `resources/subscribe`/`unsubscribe`, `notifications/cancelled`) itself; everything else
/// reaches [`Backend::handle`]. A handler must:
/// - answer with a result object or a JSON-RPC error, never panic;
/// - send related messages only through `ctx` (they precede the result on the wire);
/// - stop promptly when `ctx.cancel` fires (the node drops the future anyway);
/// - keep no per-client state: a session's next request may reach another node.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// `serverInfo`.
    fn info(&self) -> ServerInfo;
    /// The `capabilities` object advertised to clients.
    fn capabilities(&self) -> Value;
    /// Optional `instructions` for the client.
    fn instructions(&self) -> Option<String> {
        None
    }
    /// Handles one request.
    async fn handle(&self, request: Request, ctx: Context) -> Result<Value, ErrorObject>;
    /// Receives a client notification the node does not handle itself. Default: ignore.
    async fn notification(&self, _notification: Notification, _ctx: Context) {}
    /// The client's session is ending (DELETE): release what the backend holds for it
    /// elsewhere (an upstream's sessions). Called before the record is deleted. Default:
    /// nothing.
    async fn session_closed(&self, _session: &SessionView) {}
}

/// How many messages a handler may send ahead of the node writing them: past that, its next
/// `notify` waits (backpressure, not memory).
pub const OUTBOX: usize = 32;

/// Runs one request through a backend and yields, in order, every message related to it and
/// then its response.
///
/// `make_ctx` receives the outbox the context must send through. When `cancel` fires before
/// the result, the stream ends without a response (the spec's rule for cancelled requests).
pub fn serve(
    backend: Arc<dyn Backend>,
    request: Request,
    make_ctx: impl FnOnce(mpsc::Sender<Message>) -> Context,
) -> impl Stream<Item = Message> + Send + 'static {
    let (tx, mut rx) = mpsc::channel(OUTBOX);
    let ctx = make_ctx(tx.clone());
    let cancel = ctx.cancel.clone();
    let id = request.id.clone();
    let fut = async move {
        let outcome = backend.handle(request, ctx).await;
        // The response goes through the same channel so that it follows every message the
        // handler sent before returning.
        let _ = tx
            .send(Message::Response(Response {
                id: Some(id),
                outcome,
            }))
            .await;
    };
    let driver = async move {
        tokio::select! {
            biased;
            _ = cancel.cancelled() => {}
            _ = fut => {}
        }
    };
    let mut driver = Box::pin(driver);
    let mut driving = true;
    futures::stream::poll_fn(move |cx| {
        use std::task::Poll;
        if driving && driver.as_mut().poll(cx).is_ready() {
            driving = false;
        }
        match rx.poll_recv(cx) {
            Poll::Ready(Some(m)) => Poll::Ready(Some(m)),
            Poll::Ready(None) => Poll::Ready(None),
            // The handler is done and everything it sent has been yielded.
            Poll::Pending if !driving => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    })
}

/// Picks a built-in backend by name: `demo` or `everything`.
pub fn builtin(name: &str, demo_db: &std::path::Path) -> Result<Arc<dyn Backend>, BuiltinError> {
    match name {
        "demo" => Ok(Arc::new(demo::Demo::open(demo_db)?)),
        "everything" => Ok(Arc::new(everything::Everything::new())),
        other => Err(BuiltinError::Unknown(other.to_owned())),
    }
}

/// Why a built-in backend could not be started.
#[derive(Debug, thiserror::Error)]
pub enum BuiltinError {
    /// No built-in of that name.
    #[error("unknown backend {0:?} (expected demo or everything)")]
    Unknown(String),
    /// The demo database could not be opened or seeded.
    #[error("demo database: {0}")]
    Database(#[from] rusqlite::Error),
}
