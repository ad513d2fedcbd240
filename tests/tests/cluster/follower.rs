//! A client that follows a session's GET stream through the balancer and, whenever the
//! connection breaks, reconnects through the balancer with `Last-Event-ID`, as a real
//! client would.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, bail};
use reqwest::{Response, StatusCode};
use switchyard_tests::SseReader;
use tokio::time::Instant;

use crate::admin::number_of;
use crate::support::{Session, get_stream, node_of};

/// Everything the follower saw, in arrival order.
#[derive(Debug, Default)]
pub(crate) struct Received {
    /// `(event id, number)` of every numbered event.
    pub(crate) events: Vec<(String, u64)>,
    /// One line per reconnection: why, after which id, on which node.
    pub(crate) reconnects: Vec<String>,
    /// The node serving the stream now.
    pub(crate) node: String,
}

/// Follows the stream opened by `first` until an event numbered `sentinel` arrives.
pub(crate) async fn follow(
    http: reqwest::Client,
    mcp_url: String,
    session: Session,
    first: Response,
    sentinel: u64,
    deadline: Instant,
    out: Arc<Mutex<Received>>,
) -> anyhow::Result<()> {
    let mut last_id: Option<String> = None;
    let mut reader = SseReader::new(first);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let cause = match reader.next(left).await {
            Ok(Some(event)) => {
                let Some(id) = event.id.clone() else {
                    bail!("an event without an id: {event:?}");
                };
                last_id = Some(id.clone());
                if event.data.is_empty() {
                    continue; // the priming event
                }
                let n = number_of(&event.data)
                    .with_context(|| format!("not a numbered push: {:?}", event.data))?;
                out.lock().expect("lock").events.push((id, n));
                if n == sentinel {
                    return Ok(());
                }
                continue;
            }
            Ok(None) => "the stream ended".to_owned(),
            Err(e) if Instant::now() >= deadline => return Err(e.context("following the stream")),
            Err(e) => format!("{e:#}"),
        };
        let response = reconnect(&http, &mcp_url, &session, last_id.as_deref(), deadline).await?;
        let node = node_of(&response);
        let mut o = out.lock().expect("lock");
        o.reconnects
            .push(format!("{cause}; resumed after {last_id:?} on {node}"));
        o.node = node;
        reader = SseReader::new(response);
    }
}

/// GET with `Last-Event-ID` through the balancer until a 200 (a node that just died may
/// answer 502 through nginx for a moment).
async fn reconnect(
    http: &reqwest::Client,
    mcp_url: &str,
    session: &Session,
    last_id: Option<&str>,
    deadline: Instant,
) -> anyhow::Result<Response> {
    let mut failures = Vec::new();
    loop {
        match get_stream(http, mcp_url, session, last_id).await {
            Ok(r) if r.status() == StatusCode::OK => return Ok(r),
            Ok(r) => {
                let status = r.status();
                let body = r.text().await.unwrap_or_default();
                failures.push(format!("{status} {body}"));
                if status.is_client_error() {
                    bail!("resuming after {last_id:?} was refused: {failures:?}");
                }
            }
            Err(e) => failures.push(format!("{e:#}")),
        }
        if Instant::now() >= deadline {
            bail!("could not resume after {last_id:?}: {failures:?}");
        }
        // Polling a condition (a node answers) with a deadline, not waiting for time.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
