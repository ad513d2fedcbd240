//! One request's life on a node: the backend's output stream, plus the session channel for
//! the client's answers to server requests and for cancellation.
//!
//! [`run`] writes every message the request produces to an [`Out`] channel; the transport
//! decides where they go (a JSON body, a POST's SSE stream, the HTTP+SSE stream). The work
//! goes on when the client's connection drops: the transport keeps logging what it is given.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use rand::Rng;
use serde_json::Value;
use switchyard_backend::{Context, InputRequest, Peer, SessionView, StreamControl};
use switchyard_protocol::jsonrpc::{ErrorObject, Id, Message, Request};
use switchyard_protocol::method::Method;
use switchyard_state::{Delivery, SessionRecord};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::node::Node;
use switchyard_protocol::envelope::Envelope;

/// What a request hands its transport.
#[derive(Debug)]
pub enum Out {
    /// A message to send, in order.
    Message(Message),
    /// The backend asked to close the response stream early (2025-11-25 polling).
    CloseStream,
}

/// How long a request runs before it listens for cancellations from other nodes.
const SUBSCRIBE_AFTER: Duration = Duration::from_millis(20);

type Answer = oneshot::Sender<Result<Value, ErrorObject>>;

/// The session channel subscription, as the peer sees it.
const SUB_NONE: u8 = 0;
const SUB_STANDING: u8 = 1;
const SUB_FAILED: u8 = 2;

/// What one request shares with its backend handler, in one allocation: the [`Peer`] (sends
/// requests on the request's stream and takes the answers any node publishes on the session
/// channel) and the [`StreamControl`].
struct Shared {
    pending: Mutex<HashMap<Id, Answer>>,
    /// `SUB_*`: whether the session channel subscription stands.
    subscription: AtomicU8,
    /// Signalled when `subscription` leaves `SUB_NONE`.
    settled: Notify,
    /// Asks the exchange to subscribe now.
    wanted: Notify,
    timeout: Duration,
    out: mpsc::Sender<Out>,
}

impl Shared {
    fn settle(&self, state: u8) {
        self.subscription.store(state, Ordering::Release);
        self.settled.notify_waiters();
    }

    /// Waits until the subscription stands (`true`) or has failed (`false`).
    async fn standing(&self) -> bool {
        loop {
            let settled = self.settled.notified();
            let mut settled = std::pin::pin!(settled);
            settled.as_mut().enable();
            match self.subscription.load(Ordering::Acquire) {
                SUB_STANDING => return true,
                SUB_FAILED => return false,
                _ => settled.await,
            }
        }
    }
}

#[async_trait]
impl Peer for Shared {
    async fn request(
        &self,
        request: InputRequest,
        outbox: &mpsc::Sender<Message>,
    ) -> Result<Value, ErrorObject> {
        let InputRequest { method, params, .. } = request;
        let method = method.as_str();
        self.wanted.notify_one();
        let standing = tokio::time::timeout(self.timeout, self.standing()).await;
        if !matches!(standing, Ok(true)) {
            return Err(ErrorObject::internal(
                "cannot reach the client: the session channel is unavailable",
            ));
        }
        let n: u64 = rand::rng().random();
        let id = Id::String(format!("sy-{n:016x}"));
        let (tx, rx) = oneshot::channel();
        lock(&self.pending).insert(id.clone(), tx);
        let params = match params {
            Value::Object(m) => Some(m),
            _ => None,
        };
        let sent = outbox
            .send(Message::Request(Request::new(id.clone(), method, params)))
            .await;
        if sent.is_err() {
            lock(&self.pending).remove(&id);
            return Err(ErrorObject::internal("the request stream is gone"));
        }
        let answer = tokio::time::timeout(self.timeout, rx).await;
        lock(&self.pending).remove(&id);
        match answer {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err(ErrorObject::internal("the session ended")),
            Err(_) => Err(ErrorObject::internal(format!(
                "the client did not answer {method} in time"
            ))),
        }
    }
}

impl StreamControl for Shared {
    /// A hint: dropped when the way to the writer is full (the stream then stays open).
    fn close_stream(&self) {
        let _ = self.out.try_send(Out::CloseStream);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The severity order of `notifications/message` levels.
const LEVELS: [&str; 8] = [
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
];

/// The rank of a log level, or `None` if it is not one.
pub fn level_rank(level: &str) -> Option<usize> {
    LEVELS.iter().position(|l| *l == level)
}

fn passes_level(message: &Message, min: Option<usize>) -> bool {
    let (Some(min), Message::Notification(n)) = (min, message) else {
        return true;
    };
    if !n.is(Method::NotificationsMessage) {
        return true;
    }
    let level = n
        .params
        .as_ref()
        .and_then(|p| p.get("level"))
        .and_then(Value::as_str);
    level.and_then(level_rank).is_none_or(|r| r >= min)
}

/// The session as a backend may see it.
pub fn view(session: &SessionRecord) -> SessionView {
    SessionView {
        id: Some(session.id.clone()),
        protocol_version: session.protocol_version.clone(),
        client_capabilities: session.client_capabilities.clone(),
        client_info: session.client_info.clone(),
        upstreams: session
            .upstreams
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), serde_json::to_value(v).ok()?)))
            .collect(),
    }
}

/// Runs `request` through the backend, writing everything it produces to `out`.
///
/// Nearly every request is done the first time its handler is polled; such a request costs
/// one context and nothing else. Only one still running after that first poll is entered in
/// the node's in-flight map (so a `notifications/cancelled` on this node stops it) and, after
/// [`SUBSCRIBE_AFTER`] or as soon as it asks the client something, listens on the session
/// channel (answers from the client, cancellations on other nodes). A cancellation that
/// races the first poll is missed, as one from another node in the first
/// [`SUBSCRIBE_AFTER`] is: the spec makes cancellation best effort.
pub async fn run(
    node: Arc<Node>,
    session: Arc<SessionRecord>,
    request: Request,
    out: mpsc::Sender<Out>,
) {
    let id = request.id.clone();
    let mut op = Timed::new(&request.method, &session.protocol_version);
    let min_level = session.log_level.as_deref().and_then(level_rank);
    let shared = Arc::new(Shared {
        pending: Mutex::default(),
        subscription: AtomicU8::new(SUB_NONE),
        settled: Notify::new(),
        wanted: Notify::new(),
        timeout: Duration::from_secs(node.config.session.client_request_timeout_secs),
        out,
    });
    let progress = request.meta().and_then(|m| m.get("progressToken")).cloned();
    let mut cancel = None;
    let stream = switchyard_backend::serve(node.backend.clone(), request, |outbox| {
        let ctx = Context::new(view(&session), outbox, shared.clone(), node.changes.clone())
            .with_progress_token(progress)
            .with_stream_control(shared.clone());
        cancel = Some(ctx.cancel.clone());
        ctx
    });
    let cancel = cancel.unwrap_or_default();
    let mut stream = std::pin::pin!(stream);
    // The first poll forwards what fits; a message that does not (the writer is behind) is
    // held and sent, waiting, on the slow path below.
    let mut held = None;
    let done = std::future::poll_fn(|cx| {
        loop {
            match stream.as_mut().poll_next_unpin(cx) {
                Poll::Ready(Some(m)) if passes_level(&m, min_level) => {
                    op.saw(&m);
                    if let Err(mpsc::error::TrySendError::Full(out)) =
                        shared.out.try_send(Out::Message(m))
                    {
                        held = Some(out);
                        return Poll::Ready(false);
                    }
                }
                Poll::Ready(Some(_)) => {}
                Poll::Ready(None) => return Poll::Ready(true),
                Poll::Pending => return Poll::Ready(false),
            }
        }
    })
    .await;
    if done {
        return;
    }

    let key = (session.id.clone(), id.clone());
    lock(&node.inflight).insert(key.clone(), cancel.clone());
    let _registered = Inflight { node: &node, key };
    if let Some(out) = held.take() {
        let _ = shared.out.send(out).await;
    }
    // Named only if the exchange subscribes.
    let channel = std::cell::OnceCell::new();
    let mut subscribing = None;
    let mut started = false;
    let delay = tokio::time::sleep(SUBSCRIBE_AFTER);
    let mut delay = std::pin::pin!(delay);
    let mut sub = None;
    loop {
        tokio::select! {
            item = stream.next() => match item {
                // Waits while the writer is behind: the backend is slowed, nothing piles up.
                Some(m) if passes_level(&m, min_level) => {
                    op.saw(&m);
                    let _ = shared.out.send(Out::Message(m)).await;
                }
                Some(_) => {}
                None => break,
            },
            _ = &mut delay, if !started => {
                started = true;
                subscribing = Some(node.bus.subscribe(channel.get_or_init(|| session.channel())));
            }
            _ = shared.wanted.notified(), if !started => {
                started = true;
                subscribing = Some(node.bus.subscribe(channel.get_or_init(|| session.channel())));
            }
            result = async {
                match subscribing.as_mut() {
                    Some(f) => f.await,
                    None => std::future::pending().await,
                }
            } => {
                subscribing = None;
                match result {
                    Ok(s) => {
                        sub = Some(s);
                        shared.settle(SUB_STANDING);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "no session channel: answers and cancellations from other nodes will not arrive");
                        shared.settle(SUB_FAILED);
                    }
                }
            }
            delivery = crate::node::next_delivery(&mut sub) => match delivery {
                Some(Delivery::Message(p)) => on_envelope(&p, &id, &shared.pending, &cancel),
                Some(Delivery::Gap) => {}
                None => sub = None,
            },
        }
    }
}

/// Times a request for `mcp.server.operation.duration`: recorded when the exchange ends
/// (also when it is dropped, cancelled), with the `error.type` of its response.
pub(crate) struct Timed {
    op: Option<crate::telemetry::metrics::Operation>,
    error_type: &'static str,
}

impl Timed {
    pub(crate) fn new(method: &str, version: &str) -> Self {
        Self {
            op: crate::telemetry::metrics::Operation::start(method, version),
            error_type: "",
        }
    }

    /// Notes the response among the messages the request produces.
    fn saw(&mut self, m: &Message) {
        if let Message::Response(r) = m {
            self.saw_outcome(&r.outcome);
        }
    }

    /// Notes the request's outcome.
    pub(crate) fn saw_outcome(&mut self, outcome: &Result<Value, ErrorObject>) {
        if self.op.is_some() {
            self.error_type = crate::telemetry::metrics::error_type(outcome);
        }
        crate::telemetry::traces::record_outcome(outcome);
    }
}

impl Drop for Timed {
    fn drop(&mut self) {
        if let Some(op) = self.op.take() {
            op.finish(self.error_type);
        }
    }
}

/// Removes a request from the node's in-flight map however the exchange ends.
struct Inflight<'a> {
    node: &'a Node,
    key: (String, Id),
}

impl Drop for Inflight<'_> {
    fn drop(&mut self) {
        lock(&self.node.inflight).remove(&self.key);
    }
}

/// Cancels a request running on this node, if it is here.
pub fn cancel_local(node: &Node, session: &str, params: Option<&serde_json::Map<String, Value>>) {
    let target = params.and_then(|p| p.get("requestId"));
    let Some(id) = target.and_then(|v| serde_json::from_value::<Id>(v.clone()).ok()) else {
        return;
    };
    if let Some(token) = lock(&node.inflight).get(&(session.to_owned(), id)) {
        token.cancel();
    }
}

fn on_envelope(
    payload: &[u8],
    request: &Id,
    pending: &Mutex<HashMap<Id, Answer>>,
    cancel: &CancellationToken,
) {
    match Envelope::parse(payload) {
        Some(Envelope::Client { data }) => {
            let Ok(value) = serde_json::from_str::<Value>(&data) else {
                return;
            };
            match Message::from_value(value) {
                Ok(Message::Response(r)) => {
                    let Some(rid) = r.id else { return };
                    if let Some(tx) = lock(pending).remove(&rid) {
                        let _ = tx.send(r.outcome);
                    }
                }
                Ok(Message::Notification(n)) if n.is(Method::NotificationsCancelled) => {
                    let target = n.params.as_ref().and_then(|p| p.get("requestId"));
                    let target = target.and_then(|v| serde_json::from_value::<Id>(v.clone()).ok());
                    if target.as_ref() == Some(request) {
                        cancel.cancel();
                    }
                }
                _ => {}
            }
        }
        Some(Envelope::Close) => cancel.cancel(),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
