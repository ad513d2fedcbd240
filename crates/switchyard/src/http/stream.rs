//! `GET /mcp` (the standalone stream, and `Last-Event-ID` resumption of any stream) and
//! `DELETE /mcp`.
//!
//! A resumption finds its events in the [`switchyard_state::EventLog`] and follows the live
//! ones on the session's bus channel, so it works on any node, whichever node produces them.
//!
//! A session has one standalone stream, followed by at most one connection: every GET of
//! it — a new one without `Last-Event-ID`, or a resumption — *attaches* with a fresh owner
//! token ([`switchyard_state::EventLog::attach`]) and supersedes the connection before it,
//! which ends as soon as it hears of it (on the bus, or at its next check of the log). So a
//! dropped connection that the server has not noticed yet never blocks a reconnect (no
//! 409), and never receives, or appends, what belongs to its successor.

use actix_web::{HttpRequest, HttpResponse};
use switchyard_protocol::event_id::{EventId, StreamId};
use switchyard_protocol::revision::Revision;
use switchyard_protocol::sse::Event;
use switchyard_state::{ReplayError, SessionPatch, SessionRecord};

use super::follow::{Follow, OnEnd, Owner};
use super::{HttpError, NodeData, Refusal};
use crate::node::Node;
use switchyard_protocol::envelope::{BROADCAST, Envelope};

/// Handles `GET /mcp`.
pub async fn get(req: HttpRequest, node: NodeData) -> Result<HttpResponse, HttpError> {
    super::check_origin(&req, &node)?;
    super::refuse_stateless(&req)?;
    if !super::accepts(&req).event_stream {
        return Err(
            Refusal::NotAcceptable("Not Acceptable: Accept must list text/event-stream").into(),
        );
    }
    super::version_header(&req)?;
    let session = super::session(&req, &node).await?;
    let slot = node.limits.stream()?;
    let node = node.get_ref().clone();
    let after = match req.headers().get("last-event-id") {
        None => None,
        Some(v) => match v.to_str().unwrap_or("").parse::<EventId>() {
            Ok(id) => Some(id),
            Err(_) => {
                return Err(HttpError::bad_request(
                    "Bad Request: Last-Event-ID was not issued by this server",
                ));
            }
        },
    };
    let stream = after.as_ref().map_or_else(Node::new_stream, |id| id.stream);
    let standalone = after.is_none() || session.get_stream.as_deref() == Some(&stream.to_string());
    // Subscribe before reading the log or attaching, so nothing falls between.
    let sub = node.bus.subscribe(&session.channel()).await?;
    let changes = if standalone {
        Some(node.bus.subscribe(BROADCAST).await?)
    } else {
        None
    };
    let (replay, closed) = match &after {
        Some(id) => match node.log.read_after(&session.id, id).await {
            Ok(r) => {
                if let Some(m) = crate::telemetry::metrics() {
                    m.resumed(Some(r.events.len()));
                }
                (r.events, r.closed)
            }
            Err(ReplayError::Gone) => {
                if let Some(m) = crate::telemetry::metrics() {
                    m.resumed(None);
                }
                return Err(gone());
            }
            Err(ReplayError::State(e)) => return Err(e.into()),
        },
        None => (Vec::new(), false),
    };
    let mut follow = Follow::new(node.clone(), session.clone(), stream, after.clone());
    let mut opening = Vec::new();
    if standalone {
        let owner = attach(&node, &session, stream).await?;
        if after.as_ref().is_some_and(|id| id.epoch != owner.epoch) {
            // The session's log was lost between the read and the attach.
            return Err(gone());
        }
        let primes =
            Revision::parse_session(&session.protocol_version).is_ok_and(Revision::primes_streams);
        if after.is_none() && primes {
            let id = EventId::new(owner.epoch.as_str(), stream, 0).to_string();
            opening.push(Event::message("").with_id(id).to_bytes());
        }
        follow.own(owner);
    }
    let body = follow.into_body(opening, replay, closed, sub, changes, OnEnd::Nothing);
    Ok(super::sse_stream(
        &node,
        crate::limits::hold(Box::pin(body), slot),
        crate::health::Ends::WithIdle,
    ))
}

/// 410: the events after the client's `Last-Event-ID` are gone.
fn gone() -> HttpError {
    Refusal::Gone.into()
}

/// Makes a new connection the owner of the session's standalone stream `stream`: in the log
/// (atomically: from now on only it appends), in the session record (where producers find
/// the stream), and on the bus (so the connection it supersedes ends at once).
pub(crate) async fn attach(
    node: &Node,
    session: &SessionRecord,
    stream: StreamId,
) -> Result<Owner, HttpError> {
    let token = Node::new_owner();
    let head = node.log.broadcast_head().await?;
    let at = node.log.attach(&session.id, stream, &token, head).await?;
    let name = stream.to_string();
    if session.get_stream.as_deref() != Some(&name)
        && !node
            .sessions
            .update(&session.id, SessionPatch::GetStream(name.clone()))
            .await?
    {
        return Err(HttpError::session_not_found());
    }
    let env = Envelope::Attached {
        stream: name,
        owner: token.clone(),
    };
    node.bus.publish(&session.channel(), env.to_bytes()).await?;
    Ok(Owner {
        token,
        epoch: at.epoch,
        cursor: at.cursor,
    })
}

/// Handles `DELETE /mcp`: ends the session on every node.
pub async fn delete(req: HttpRequest, node: NodeData) -> Result<HttpResponse, HttpError> {
    super::check_origin(&req, &node)?;
    super::refuse_stateless(&req)?;
    super::version_header(&req)?;
    let session = super::session(&req, &node).await?;
    end_session(&node, &session).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Deletes a session and tells every node to close its streams.
pub async fn end_session(node: &Node, session: &SessionRecord) -> Result<(), HttpError> {
    if !session.upstreams.is_empty() {
        node.backend
            .session_closed(&crate::exchange::view(session))
            .await;
    }
    node.sessions.delete(&session.id).await?;
    if let Some(m) = crate::telemetry::metrics() {
        let era = match session.transport {
            switchyard_state::Transport::HttpSse => crate::telemetry::metrics::HTTP_SSE,
            _ => crate::telemetry::metrics::STREAMABLE_HTTP,
        };
        let now = crate::telemetry::metrics::unix_micros() / 1000;
        let age = std::time::Duration::from_millis(now.saturating_sub(session.created_at_ms));
        m.session_ended(era, age);
    }
    node.bus
        .publish(&session.channel(), Envelope::Close.to_bytes())
        .await?;
    node.log.remove_session(&session.id).await?;
    Ok(())
}
