//! [`Follow`]: one connection following one stream of a session — the replay, then the live
//! events — as the response body itself.
//!
//! What keeps "every message once" true here:
//! - Positions: an event at or before the last one written is dropped; a jump means the bus
//!   lost something, and the rest is read from the log. An event of another epoch means the
//!   session's log was lost: the stream ends, and the client's resumption gets 410.
//! - Ownership (standalone streams): only the owner appends what arrives for every
//!   connection (raw deliveries, broadcasts), with a fenced append; a superseded connection
//!   ends when it hears of its successor or when the log says it is no longer the owner.
//! - Broadcasts: each has a number; the owner applies each number once per session (the
//!   cursor moves atomically with the append) and reads missed ones from the broadcast log.
//! - A periodic check ([`Follow::check`]) refreshes the session's idle TTL (listening keeps a
//!   session alive), re-reads the log (filling gaps the bus did not report, seeing a lost
//!   ownership), catches up on broadcasts, and ends a request stream whose producer's lease
//!   lapsed with a JSON-RPC error for every request it had not answered.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use serde_json::{Value, json};
use switchyard_protocol::event_id::{EventId, StreamId};
use switchyard_protocol::jsonrpc::{Message, Notification};
use switchyard_protocol::method::Method;
use switchyard_protocol::sse::Event;
use switchyard_state::{Delivery, Owned, ReplayError, SessionRecord, Subscription};
use tokio::time::Instant;

use super::stream::end_session;
use crate::node::Node;
use crate::telemetry::metrics::{OpenStream, StreamKind};
use switchyard_protocol::envelope::Envelope;

/// What happens when a followed stream ends, its client gone or the stream over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnEnd {
    /// Nothing (a Streamable HTTP stream: the client may resume it).
    Nothing,
    /// The session ends with its stream (HTTP+SSE has no resumption).
    EndSession,
}

/// A connection's ownership of the session's standalone stream.
#[derive(Debug, Clone)]
pub(crate) struct Owner {
    /// The connection's token.
    pub(crate) token: String,
    /// The epoch of the session's log when it attached.
    pub(crate) epoch: String,
    /// The last broadcast applied to the session.
    pub(crate) cursor: u64,
}

/// The message of the error that ends a request whose producer died.
const ORPHANED: &str = "the node running this request stopped before it answered; retry it";

/// How long a stream waits before it reads the log again after a failed read.
const RETRY: Duration = Duration::from_millis(100);

/// Runs the [`OnEnd`] of a stream when its body is dropped: by actix-web when the client
/// goes, or after the last event. The work is async, so it is spawned.
struct EndGuard {
    node: Arc<Node>,
    session: Arc<SessionRecord>,
    on_end: OnEnd,
}

impl Drop for EndGuard {
    fn drop(&mut self) {
        if self.on_end == OnEnd::Nothing {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (node, session) = (self.node.clone(), self.session.clone());
        let end = async move {
            if let Err(e) = end_session(&node, &session).await {
                tracing::warn!(error = %e, "could not end an HTTP+SSE session");
            }
        };
        self.node.tasks.spawn_on(end, &runtime);
    }
}

/// Follows one stream for one client connection: the replay, then live events.
///
/// It is the response body itself (no task of its own, no channel in between): actix-web
/// polls it while the client reads, and drops it when the client goes. That keeps an idle
/// stream to the connection, the subscriptions and this state.
pub(crate) struct Follow {
    node: Arc<Node>,
    session: Arc<SessionRecord>,
    stream: StreamId,
    /// The epoch of the session's log this stream's ids are under (empty until known).
    epoch: String,
    last_seq: u64,
    /// Set for the session's standalone stream: this connection's ownership.
    owner: Option<Owner>,
    /// When to run [`Follow::check`] next.
    check_at: Instant,
    /// Written but not yet handed to actix-web.
    out: VecDeque<Bytes>,
    done: bool,
    /// Broadcasts made while no connection owned the stream are still to be applied.
    behind: bool,
    /// Whether this owner has seen its own `Attached` on the session channel. The channel
    /// orders it among the raw `deliver`s: one published before it was the superseded
    /// owner's to append (fenced, it appends at most once), so only later ones are this
    /// connection's. Without this, a connection that took over on the node of the one it
    /// superseded appended the same `deliver` again.
    echoed: bool,
}

/// A [`Follow`] with its inputs, as the state of the body stream.
struct Followed {
    follow: Follow,
    sub: Subscription,
    changes: Option<Subscription>,
    _end: EndGuard,
    _open: OpenStream,
}

impl Follow {
    /// Follows `stream` from after `after` (from its start when `None`).
    pub(crate) fn new(
        node: Arc<Node>,
        session: Arc<SessionRecord>,
        stream: StreamId,
        after: Option<EventId>,
    ) -> Self {
        let (epoch, last_seq) = after.map_or((String::new(), 0), |id| (id.epoch, id.seq));
        let mut f = Self {
            node,
            session,
            stream,
            epoch,
            last_seq,
            owner: None,
            check_at: Instant::now(),
            out: VecDeque::new(),
            done: false,
            behind: false,
            echoed: false,
        };
        f.check_at = Instant::now() + f.check_period();
        f
    }

    /// Makes this the session's standalone stream, owned by this connection.
    pub(crate) fn own(&mut self, owner: Owner) {
        if self.epoch.is_empty() {
            self.epoch = owner.epoch.clone();
        }
        self.owner = Some(owner);
        self.behind = true;
        self.check_at = Instant::now() + self.check_period();
    }

    /// How often [`Follow::check`] runs: often enough to keep the session (a quarter of
    /// its idle TTL), and for a request stream to notice a lapsed lease within about half
    /// of it.
    fn check_period(&self) -> Duration {
        let cfg = &self.node.config.session;
        let ttl = Duration::from_secs(cfg.idle_ttl_secs) / 4;
        // A Streamable HTTP standalone stream only keeps its session; a request stream, and
        // an HTTP+SSE stream (which answers for requests whose node died), watch leases too.
        let period = match (&self.owner, self.stream) {
            (Some(_), StreamId::Request(_)) => ttl,
            _ => ttl.min(Duration::from_millis(cfg.producer_lease_ms) / 2),
        };
        period.max(Duration::from_millis(100))
    }

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
        self.done |= closed;
        let kind = match (on_end, &self.owner) {
            (OnEnd::EndSession, _) => StreamKind::HttpSse,
            (OnEnd::Nothing, Some(_)) => StreamKind::Standalone,
            (OnEnd::Nothing, None) => StreamKind::Resumed,
        };
        let end = EndGuard {
            node: self.node.clone(),
            session: self.session.clone(),
            on_end,
        };
        let state = Followed {
            follow: self,
            sub,
            changes,
            _end: end,
            _open: OpenStream::new(kind),
        };
        futures::stream::unfold(state, |mut st| async move {
            loop {
                if let Some(b) = st.follow.out.pop_front() {
                    return Some((b, st));
                }
                if st.follow.done {
                    return None;
                }
                if st.follow.behind {
                    st.follow.behind = false;
                    st.follow.catch_up().await;
                    continue;
                }
                st.step().await;
            }
        })
    }

    fn write(&mut self, events: Vec<(EventId, String)>) {
        for (id, data) in events {
            if self.epoch.is_empty() {
                self.epoch = id.epoch.clone();
            }
            if id.epoch != self.epoch {
                // The session's log was lost and started again: what this connection has
                // not seen of the old one is gone. End it; its resumption gets 410.
                self.done = true;
                return;
            }
            if id.seq <= self.last_seq {
                continue;
            }
            self.last_seq = id.seq;
            self.out
                .push_back(Event::message(data).with_id(id.to_string()).to_bytes());
        }
    }

    /// The id after which the log is read next.
    fn cursor_id(&self) -> EventId {
        EventId::new(self.epoch.as_str(), self.stream, self.last_seq)
    }

    /// Re-reads the log after the last written event, and ends the stream when it is over,
    /// gone, or (standalone) no longer ours. A read that fails is retried soon.
    async fn backfill(&mut self) -> Option<bool> {
        if self.epoch.is_empty() {
            return Some(false);
        }
        match self
            .node
            .log
            .read_after(&self.session.id, &self.cursor_id())
            .await
        {
            Ok(r) => {
                self.write(r.events);
                let mine = self.owner.as_ref().map(|o| &o.token);
                if r.closed || (mine.is_some() && r.owner.as_ref() != mine) {
                    self.done = true;
                }
                Some(r.orphaned)
            }
            Err(ReplayError::Gone) => {
                self.done = true;
                None
            }
            Err(ReplayError::State(e)) => {
                tracing::debug!(error = %e, "a stream could not read the log; retrying");
                self.check_at = self.check_at.min(Instant::now() + RETRY);
                None
            }
        }
    }

    /// The periodic check (see the module docs).
    async fn check(&mut self) {
        self.check_at = Instant::now() + self.check_period();
        match self.node.sessions.get(&self.session.id).await {
            Ok(None) => {
                self.done = true;
                return;
            }
            Ok(Some(_)) => {}
            Err(e) => tracing::debug!(error = %e, "a stream could not refresh its session"),
        }
        let orphaned = self.backfill().await;
        if self.done {
            return;
        }
        if self.owner.is_some() {
            self.catch_up().await;
            if self.stream == StreamId::Get {
                self.answer_orphans().await;
            }
        } else if orphaned == Some(true) {
            self.reap().await;
            self.backfill().await;
        }
    }

    /// Ends a request stream whose producer died: one JSON-RPC error for each of its
    /// requests that has no response in the stream yet.
    async fn reap(&mut self) {
        let log = &self.node.log;
        let id = &self.session.id;
        let requests = match log.leased_requests(id, self.stream).await {
            Ok(Some(r)) => serde_json::from_str::<Vec<Value>>(&r).unwrap_or_default(),
            Ok(None) => return,
            Err(e) => {
                tracing::debug!(error = %e, "could not read a lease");
                return;
            }
        };
        let start = EventId::new(self.epoch.as_str(), self.stream, 0);
        let answered: HashSet<String> = match log.read_after(id, &start).await {
            Ok(r) => r
                .events
                .iter()
                .filter_map(|(_, d)| serde_json::from_str::<Value>(d).ok())
                .filter(|v| v.get("method").is_none())
                .filter_map(|v| v.get("id").map(Value::to_string))
                .collect(),
            Err(_) => return,
        };
        let finals: Vec<String> = requests
            .iter()
            .filter(|r| !answered.contains(&r.to_string()))
            .map(|r| {
                json!({
                    "jsonrpc": "2.0",
                    "id": r,
                    "error": { "code": -32603, "message": ORPHANED }
                })
                .to_string()
            })
            .collect();
        match log.reap(id, self.stream, &finals).await {
            Ok(true) => {
                tracing::info!(session = %id, stream = %self.stream, "ended a stream whose producer died")
            }
            Ok(false) => {}
            Err(e) => tracing::debug!(error = %e, "could not end an orphaned stream"),
        }
    }

    /// HTTP+SSE: answers, on this stream, every request whose node died before it answered
    /// (its relay's lease lapsed). `reap` decides once which node answers.
    async fn answer_orphans(&mut self) {
        let (log, id) = (self.node.log.clone(), self.session.id.clone());
        let orphans = match log.orphans(&id).await {
            Ok(o) => o,
            Err(e) => {
                tracing::debug!(error = %e, "could not list orphaned requests");
                return;
            }
        };
        for (stream, requests) in orphans {
            if !matches!(log.reap(&id, stream, &[]).await, Ok(true)) {
                continue;
            }
            for r in serde_json::from_str::<Vec<Value>>(&requests).unwrap_or_default() {
                let error = json!({
                    "jsonrpc": "2.0",
                    "id": r,
                    "error": { "code": -32603, "message": ORPHANED }
                });
                self.append(None, Message::from_value(error).ok()).await;
            }
        }
    }

    async fn on_session(&mut self, payload: &[u8]) {
        let mine = self.stream.to_string();
        let Some((envelope, stamp)) = Envelope::parse_stamped(payload) else {
            return;
        };
        match Some(envelope) {
            Some(Envelope::Event { stream, id, data }) if stream == mine => {
                if let (Some(m), Some(sent)) = (crate::telemetry::metrics(), stamp.sent_us) {
                    m.delivered(sent);
                }
                let span = match &stamp.traceparent {
                    Some(tp) => crate::telemetry::traces::deliver_span(
                        &self.node.id,
                        &self.session.id,
                        &mine,
                        tp,
                    ),
                    None => tracing::Span::none(),
                };
                let Ok(id) = id.parse::<EventId>() else {
                    return;
                };
                if id.epoch == self.epoch && id.seq > self.last_seq + 1 {
                    // Something was missed on the bus: take it from the log.
                    self.backfill().await;
                    return;
                }
                span.in_scope(|| self.write(vec![(id, data)]));
            }
            Some(Envelope::Closed { stream }) if stream == mine => {
                self.backfill().await;
                self.done = true;
            }
            Some(Envelope::Close) => self.done = true,
            Some(Envelope::Attached { owner, .. }) => match &self.owner {
                Some(o) if o.token == owner => self.echoed = true,
                Some(_) => self.done = true,
                None => {}
            },
            Some(Envelope::Deliver { data }) if self.owner.is_some() && self.echoed => {
                self.append(None, parse_message(&data)).await;
            }
            _ => {}
        }
    }

    /// Appends a message as the stream's owner (for a broadcast, once per session), and
    /// writes it. `false` when it could not be logged.
    async fn append(&mut self, broadcast: Option<u64>, message: Option<Message>) -> bool {
        let Some(owner) = self.owner.as_ref() else {
            return true;
        };
        if message.is_none() && broadcast.is_none() {
            return true;
        }
        let data = message.map(|m| m.to_json());
        let appended = self
            .node
            .log
            .append_owned(
                &self.session.id,
                self.stream,
                &owner.token,
                broadcast,
                data.as_deref(),
            )
            .await;
        match appended {
            Ok(Owned::Appended(id)) => {
                if let Some(m) = crate::telemetry::metrics() {
                    m.appended(1);
                }
                if let Some(o) = self.owner.as_mut() {
                    o.cursor = o.cursor.max(broadcast.unwrap_or(0));
                }
                if id.epoch == self.epoch && id.seq > self.last_seq + 1 {
                    // Another producer appended in between and its event is still on the
                    // bus: write both in log order.
                    self.backfill().await;
                } else if let Some(data) = data {
                    self.write(vec![(id, data)]);
                }
                true
            }
            Ok(Owned::Skipped) => {
                if let Some(o) = self.owner.as_mut() {
                    o.cursor = o.cursor.max(broadcast.unwrap_or(0));
                }
                true
            }
            Ok(Owned::NotOwner) => {
                self.done = true;
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not log a message for a standalone stream");
                false
            }
        }
    }

    /// What a broadcast notice means for this session, if anything.
    async fn notification(&self, notice: Envelope) -> Option<Message> {
        let n = match notice {
            Envelope::ResourceUpdated { uri } => {
                let now = self.node.sessions.get(&self.session.id).await.ok()??;
                if !now.subscriptions.contains(&uri) {
                    return None;
                }
                Notification::new(
                    Method::NotificationsResourcesUpdated,
                    json!({ "uri": uri }).as_object().cloned(),
                )
            }
            Envelope::ListChanged { kind } => Notification::new(Method::list_changed(&kind)?, None),
            Envelope::Deliver { data } => return parse_message(&data),
            _ => return None,
        };
        Some(Message::Notification(n))
    }

    /// Applies one logged broadcast; `false` when it must be tried again.
    async fn apply(&mut self, seq: u64, notice: Envelope) -> bool {
        let message = self.notification(notice).await;
        self.append(Some(seq), message).await
    }

    /// Applies, in order, every retained broadcast after the session's cursor.
    async fn catch_up(&mut self) {
        while let Some(cursor) = self.owner.as_ref().map(|o| o.cursor) {
            let batch = match self.node.log.broadcasts_after(cursor).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::debug!(error = %e, "could not read broadcasts; retrying");
                    self.check_at = self.check_at.min(Instant::now() + RETRY);
                    return;
                }
            };
            let Some(&(first, _)) = batch.first() else {
                return;
            };
            if first > cursor + 1 && cursor != 0 {
                tracing::warn!(
                    missed = first - cursor - 1,
                    "broadcasts older than the broadcast log's window were not delivered to a session"
                );
            }
            for (seq, data) in batch {
                let Some(notice) = Envelope::parse(data.as_bytes()) else {
                    continue;
                };
                if !self.apply(seq, notice).await {
                    self.check_at = self.check_at.min(Instant::now() + RETRY);
                    return;
                }
                if self.done {
                    return;
                }
            }
        }
    }

    async fn on_change(&mut self, payload: &[u8]) {
        match Envelope::parse(payload) {
            Some(Envelope::Broadcast { seq, notice }) => {
                let Some(cursor) = self.owner.as_ref().map(|o| o.cursor) else {
                    return;
                };
                if seq <= cursor {
                    return;
                }
                if seq > cursor + 1 {
                    self.catch_up().await;
                } else if !self.apply(seq, *notice).await {
                    self.check_at = self.check_at.min(Instant::now() + RETRY);
                }
            }
            // Published raw by an application: not logged, applied once by the owner.
            Some(notice) => {
                let message = self.notification(notice).await;
                if message.is_some() {
                    self.append(None, message).await;
                }
            }
            None => {}
        }
    }
}

fn parse_message(data: &str) -> Option<Message> {
    let parsed = serde_json::from_str(data)
        .ok()
        .and_then(|v| Message::from_value(v).ok());
    if parsed.is_none() {
        tracing::warn!("dropped a published message that is not JSON-RPC");
    }
    parsed
}

impl Followed {
    /// Waits for the next thing to do and does it (writing to `follow.out`, or ending).
    async fn step(&mut self) {
        let check = tokio::time::sleep_until(self.follow.check_at);
        tokio::select! {
            () = check => self.follow.check().await,
            d = self.sub.next() => match d {
                Some(Delivery::Message(p)) => self.follow.on_session(&p).await,
                Some(Delivery::Gap) => {
                    // The echo of our own `Attached` may be what was lost.
                    self.follow.echoed = true;
                    self.follow.backfill().await;
                }
                None => self.follow.done = true,
            },
            d = crate::node::next_delivery(&mut self.changes) => match d {
                Some(Delivery::Message(p)) => self.follow.on_change(&p).await,
                Some(Delivery::Gap) => self.follow.catch_up().await,
                None => self.changes = None,
            },
        }
    }
}
