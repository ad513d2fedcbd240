//! `GET /mcp` (the standalone stream, and `Last-Event-ID` resumption of any stream) and
//! `DELETE /mcp`.
//!
//! A resumption finds its events in the [`switchyard_state::EventLog`] and follows the live
//! ones on the session's bus channel, so it works on any node, whichever node produces them.

use std::collections::VecDeque;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use bytes::Bytes;
use futures::StreamExt;
use serde_json::json;
use switchyard_protocol::event_id::{EventId, StreamId};
use switchyard_protocol::jsonrpc::{Message, Notification, code};
use switchyard_protocol::sse::Event;
use switchyard_protocol::version::ProtocolVersion;
use switchyard_state::{Delivery, ReplayError, SessionPatch, SessionRecord, Subscription};

use super::{HttpError, NodeData};
use crate::envelope::{BROADCAST, Envelope};
use crate::node::Node;

/// Handles `GET /mcp`.
pub async fn get(req: HttpRequest, node: NodeData) -> Result<HttpResponse, HttpError> {
    super::check_origin(&req, &node)?;
    super::modern_client(&req)?;
    if !super::accepts(&req).event_stream {
        return Err(HttpError::new(
            StatusCode::NOT_ACCEPTABLE,
            code::INVALID_REQUEST,
            "Not Acceptable: Accept must list text/event-stream",
        ));
    }
    super::version_header(&req)?;
    let session = super::session(&req, &node).await?;
    let node = node.get_ref().clone();
    let last = req
        .headers()
        .get("last-event-id")
        .map(|v| v.to_str().unwrap_or("").parse::<EventId>());
    let (stream, after) = match last {
        Some(Err(_)) => {
            return Err(HttpError::bad_request(
                "Bad Request: Last-Event-ID was not issued by this server",
            ));
        }
        Some(Ok(id)) => {
            let standalone = session.get_stream.as_deref() == Some(&id.stream.to_string());
            if standalone {
                let patch = SessionPatch::TakeGetStream(id.stream.to_string());
                node.sessions.update(&session.id, patch).await?;
            }
            (id.stream, Some(id))
        }
        None => (claim(&node, &session).await?, None),
    };
    let standalone = session.get_stream.as_deref() == Some(&stream.to_string()) || after.is_none();
    // Subscribe before reading the log, so nothing falls between the two.
    let sub = node.bus.subscribe(&session.channel()).await?;
    let changes = if standalone {
        Some(node.bus.subscribe(BROADCAST).await?)
    } else {
        None
    };
    let (replay, closed) = match &after {
        Some(id) => match node.log.read_after(&session.id, id).await {
            Ok(r) => (r.events, r.closed),
            // A priming id of this epoch names a stream before its first event: the log
            // has not seen it yet, and everything is still to come.
            Err(ReplayError::Gone) if id.seq == 0 && id.epoch == node.log.epoch().await? => {
                (Vec::new(), false)
            }
            Err(ReplayError::Gone) => {
                if standalone {
                    release(&node, &session, stream).await;
                }
                return Err(HttpError::new(
                    StatusCode::GONE,
                    code::INVALID_REQUEST,
                    "Gone: the events after this Last-Event-ID are no longer available",
                ));
            }
            Err(ReplayError::State(e)) => return Err(e.into()),
        },
        None => (Vec::new(), false),
    };
    let primes = session
        .protocol_version
        .parse::<ProtocolVersion>()
        .is_ok_and(ProtocolVersion::primes_streams);
    let first_seq = after.as_ref().map_or(0, |a| a.seq);
    let mut opening = Vec::new();
    if after.is_none() && primes {
        let epoch = node.log.epoch().await?;
        let id = EventId::new(epoch, stream, 0).to_string();
        opening.push(Event::message("").with_id(id).to_bytes());
    }
    let follow = Follow {
        node: node.clone(),
        session,
        stream,
        last_seq: first_seq,
        standalone,
        retry_at: None,
        out: VecDeque::new(),
    };
    let on_end = if standalone {
        OnEnd::Release
    } else {
        OnEnd::Nothing
    };
    let body = follow.into_body(opening, replay, closed, sub, changes, on_end);
    Ok(super::sse_stream(&node, Box::pin(body)))
}

/// Opens a new standalone stream for the session: 409 if one is attached already.
async fn claim(node: &Node, session: &SessionRecord) -> Result<StreamId, HttpError> {
    let stream = Node::new_stream();
    let name = stream.to_string();
    node.sessions
        .update(&session.id, SessionPatch::ClaimGetStream(name.clone()))
        .await?;
    let now = node.sessions.get(&session.id).await?;
    match now {
        Some(s) if s.get_stream.as_deref() == Some(&name) => Ok(stream),
        Some(_) => Err(HttpError::new(
            StatusCode::CONFLICT,
            code::INVALID_REQUEST,
            "Conflict: this session already has a standalone SSE stream",
        )),
        None => Err(HttpError::session_not_found()),
    }
}

async fn release(node: &Node, session: &SessionRecord, stream: StreamId) {
    let patch = SessionPatch::ReleaseGetStream(stream.to_string());
    if let Err(e) = node.sessions.update(&session.id, patch).await {
        tracing::warn!(error = %e, "could not release a GET stream");
    }
}

/// Handles `DELETE /mcp`: ends the session on every node.
pub async fn delete(req: HttpRequest, node: NodeData) -> Result<HttpResponse, HttpError> {
    super::check_origin(&req, &node)?;
    super::modern_client(&req)?;
    super::version_header(&req)?;
    let session = super::session(&req, &node).await?;
    end_session(&node, &session).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Deletes a session and tells every node to close its streams.
pub async fn end_session(node: &Node, session: &SessionRecord) -> Result<(), HttpError> {
    node.sessions.delete(&session.id).await?;
    node.bus
        .publish(&session.channel(), Envelope::Close.to_bytes())
        .await?;
    node.log.remove_session(&session.id).await?;
    Ok(())
}

/// What happens when a followed stream ends, its client gone or the stream over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnEnd {
    /// Nothing (a POST stream resumed with `Last-Event-ID`).
    Nothing,
    /// The session's standalone GET stream is released, so the client may open another.
    Release,
    /// The session ends with its stream (HTTP+SSE has no resumption).
    EndSession,
}

/// Runs the [`OnEnd`] of a stream when its body is dropped: by actix-web when the client
/// goes, or after the last event. The work is async, so it is spawned.
struct EndGuard {
    node: Arc<Node>,
    session: Arc<SessionRecord>,
    stream: StreamId,
    on_end: OnEnd,
}

impl Drop for EndGuard {
    fn drop(&mut self) {
        let on_end = self.on_end;
        if on_end == OnEnd::Nothing {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (node, session, stream) = (self.node.clone(), self.session.clone(), self.stream);
        runtime.spawn(async move {
            match on_end {
                OnEnd::Nothing => {}
                OnEnd::Release => release(&node, &session, stream).await,
                OnEnd::EndSession => {
                    if let Err(e) = end_session(&node, &session).await {
                        tracing::warn!(error = %e, "could not end an HTTP+SSE session");
                    }
                }
            }
        });
    }
}

/// Follows one stream for one client connection: the replay, then live events.
///
/// It is the response body itself (no task of its own, no channel in between): actix-web
/// polls it while the client reads, and drops it when the client goes. That keeps an idle
/// stream to the connection, the subscriptions and this state.
pub(crate) struct Follow {
    pub(crate) node: Arc<Node>,
    pub(crate) session: Arc<SessionRecord>,
    pub(crate) stream: StreamId,
    pub(crate) last_seq: u64,
    /// The session's standalone stream: also delivers change notices.
    pub(crate) standalone: bool,
    /// When to read the log again after a backfill failed.
    pub(crate) retry_at: Option<tokio::time::Instant>,
    /// Written but not yet handed to actix-web.
    pub(crate) out: VecDeque<Bytes>,
}

/// How long a stream waits before it reads the log again after a failed backfill.
const BACKFILL_RETRY: std::time::Duration = std::time::Duration::from_millis(100);

/// A [`Follow`] with its inputs, as the state of the body stream.
struct Followed {
    follow: Follow,
    sub: Subscription,
    changes: Option<Subscription>,
    done: bool,
    _end: EndGuard,
}

impl Follow {
    /// The stream's body: `opening`, then `replay`, then live events until the stream is
    /// over (`closed` when it already is) or the client goes; then `on_end`.
    pub(crate) fn into_body(
        mut self,
        opening: Vec<Bytes>,
        replay: Vec<(EventId, String)>,
        closed: bool,
        sub: Subscription,
        changes: Option<Subscription>,
        on_end: OnEnd,
    ) -> impl futures::Stream<Item = Bytes> + 'static {
        self.out.extend(opening);
        self.write(replay);
        let end = EndGuard {
            node: self.node.clone(),
            session: self.session.clone(),
            stream: self.stream,
            on_end,
        };
        let state = Followed {
            follow: self,
            sub,
            changes,
            done: closed,
            _end: end,
        };
        futures::stream::unfold(state, |mut st| async move {
            loop {
                if let Some(b) = st.follow.out.pop_front() {
                    return Some((b, st));
                }
                if st.done {
                    return None;
                }
                st.step().await;
            }
        })
    }

    fn write(&mut self, events: Vec<(EventId, String)>) {
        for (id, data) in events {
            if id.seq <= self.last_seq {
                continue;
            }
            self.last_seq = id.seq;
            self.out
                .push_back(Event::message(data).with_id(id.to_string()).to_bytes());
        }
    }

    /// Re-reads the log after the last written event; `true` when the stream is over. When
    /// the log cannot be read (Redis just came back, this thread's connection is being
    /// replaced), it tries again after [`BACKFILL_RETRY`] until it can: a gap is never left
    /// unfilled.
    async fn backfill(&mut self) -> bool {
        self.retry_at = None;
        let read = async {
            let epoch = self.node.log.epoch().await.map_err(ReplayError::State)?;
            let after = EventId::new(epoch, self.stream, self.last_seq);
            self.node.log.read_after(&self.session.id, &after).await
        };
        match read.await {
            Ok(r) => {
                self.write(r.events);
                r.closed
            }
            Err(ReplayError::Gone) => true,
            Err(ReplayError::State(e)) => {
                tracing::debug!(error = %e, "backfill failed; retrying");
                self.retry_at = Some(tokio::time::Instant::now() + BACKFILL_RETRY);
                false
            }
        }
    }

    async fn on_session(&mut self, payload: &[u8]) -> bool {
        let mine = self.stream.to_string();
        match Envelope::parse(payload) {
            Some(Envelope::Event { stream, id, data }) if stream == mine => {
                let Ok(id) = id.parse::<EventId>() else {
                    return false;
                };
                if id.seq > self.last_seq + 1 {
                    // Something was missed on the bus: take it from the log.
                    return self.backfill().await;
                }
                self.write(vec![(id, data)]);
                false
            }
            Some(Envelope::Closed { stream }) if stream == mine => {
                self.backfill().await;
                true
            }
            Some(Envelope::Close) => true,
            Some(Envelope::Deliver { data }) if self.standalone => {
                self.deliver(&data).await;
                false
            }
            _ => false,
        }
    }

    /// Logs a message published raw on the bus, and so sends it on this stream.
    async fn deliver(&self, data: &str) {
        let parsed = serde_json::from_str(data)
            .ok()
            .and_then(|v| Message::from_value(v).ok());
        let Some(message) = parsed else {
            tracing::warn!("dropped a published message that is not JSON-RPC");
            return;
        };
        if let Err(e) = self.node.emit(&self.session, self.stream, &message).await {
            tracing::warn!(error = %e, "could not deliver a published message");
        }
    }

    async fn on_change(&self, payload: &[u8]) {
        let notification = match Envelope::parse(payload) {
            Some(Envelope::ResourceUpdated { uri }) => {
                let Ok(Some(now)) = self.node.sessions.get(&self.session.id).await else {
                    return;
                };
                if !now.subscriptions.contains(&uri) {
                    return;
                }
                Notification::new(
                    "notifications/resources/updated",
                    json!({ "uri": uri }).as_object().cloned(),
                )
            }
            Some(Envelope::ListChanged { kind }) => {
                Notification::new(format!("notifications/{kind}/list_changed"), None)
            }
            Some(Envelope::Deliver { data }) => return self.deliver(&data).await,
            _ => return,
        };
        let message = Message::Notification(notification);
        if let Err(e) = self.node.emit(&self.session, self.stream, &message).await {
            tracing::warn!(error = %e, "could not deliver a change notice");
        }
    }
}

impl Followed {
    /// Waits for the next thing to do and does it (writing to `follow.out`, or ending).
    async fn step(&mut self) {
        let retry_at = self.follow.retry_at;
        let retry = async {
            match retry_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = retry => self.done = self.follow.backfill().await,
            d = self.sub.next() => match d {
                Some(Delivery::Message(p)) => self.done = self.follow.on_session(&p).await,
                Some(Delivery::Gap) => self.done = self.follow.backfill().await,
                None => self.done = true,
            },
            d = crate::node::next_delivery(&mut self.changes) => match d {
                Some(Delivery::Message(p)) => self.follow.on_change(&p).await,
                Some(Delivery::Gap) => {}
                None => self.changes = None,
            },
        }
    }
}
