//! The node: the configured backend and state, and the operations every transport shares.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use switchyard_backend::{Backend, Changes, ListKind};
use switchyard_protocol::event_id::StreamId;
use switchyard_protocol::headers::HostAllowList;
use switchyard_protocol::jsonrpc::Message;
use switchyard_state::memory::{MemoryBus, MemoryEventLog, MemorySessionStore};
use switchyard_state::{Bus, EventLog, SessionRecord, SessionStore, StateError};

use crate::config::Config;
use crate::envelope::{BROADCAST, Envelope};

/// Everything a request handler needs, shared by all workers of a node.
pub struct Node {
    /// The configuration the node was started with.
    pub config: Config,
    /// The MCP server behind the gateway.
    pub backend: Arc<dyn Backend>,
    /// Sessions.
    pub sessions: Arc<dyn SessionStore>,
    /// Resumable event logs.
    pub log: Arc<dyn EventLog>,
    /// Pub/sub between nodes.
    pub bus: Arc<dyn Bus>,
    /// `Host` allow-list.
    pub hosts: HostAllowList,
    /// `Origin` allow-list.
    pub origins: HostAllowList,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Why a node could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The backend failed to start.
    #[error(transparent)]
    Backend(#[from] switchyard_backend::BuiltinError),
}

impl Node {
    /// A node with the embedded in-memory state and the configured built-in backend.
    pub fn embedded(config: Config) -> Result<Arc<Node>, BuildError> {
        let backend = switchyard_backend::builtin(&config.backend, &config.demo.db_path)?;
        let ttl = Duration::from_secs(config.session.idle_ttl_secs);
        let sessions = Arc::new(MemorySessionStore::new(ttl));
        // The log forgets a session idle as long as the store does: nothing else tells it
        // that a session expired without a DELETE.
        let log = Arc::new(MemoryEventLog::with_idle_ttl(
            config.session.event_log_max_len,
            ttl,
        ));
        // Each channel with a subscriber preallocates this many slots; a subscriber that
        // falls further behind gets a Gap and backfills from the log.
        let bus = Arc::new(MemoryBus::new(128));
        Ok(Node::new(config, backend, sessions, log, bus))
    }

    /// A node from parts.
    pub fn new(
        config: Config,
        backend: Arc<dyn Backend>,
        sessions: Arc<dyn SessionStore>,
        log: Arc<dyn EventLog>,
        bus: Arc<dyn Bus>,
    ) -> Arc<Node> {
        let hosts = HostAllowList::new(&config.http.allowed_hosts);
        let origins = HostAllowList::new(&config.http.allowed_origins);
        Arc::new(Node {
            config,
            backend,
            sessions,
            log,
            bus,
            hosts,
            origins,
        })
    }

    /// A fresh session id: 128 bits from the OS-seeded CSPRNG, as 32 hex digits.
    pub fn new_session_id() -> String {
        let bytes: [u8; 16] = rand::rng().random();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A fresh stream name, unique within the session with overwhelming probability.
    pub fn new_stream() -> StreamId {
        StreamId::Request(rand::rng().random_range(1..u64::MAX / 2))
    }

    /// Appends `message` to `stream` of the session and publishes it for whoever holds the
    /// stream. Returns the event id and the serialized message.
    pub async fn emit(
        &self,
        session: &SessionRecord,
        stream: StreamId,
        message: &Message,
    ) -> Result<(String, String), StateError> {
        let data = message.to_json();
        let id = self
            .log
            .append(&session.id, stream, &data)
            .await?
            .to_string();
        let env = Envelope::Event {
            stream: stream.to_string(),
            id: id.clone(),
            data: data.clone(),
        };
        self.bus.publish(&session.channel(), env.to_bytes()).await?;
        Ok((id, data))
    }

    /// Sends a server-initiated message to the session's standalone stream (the GET stream,
    /// or the `/sse` stream of HTTP+SSE). Dropped when the session never opened one.
    pub async fn deliver(
        &self,
        session: &SessionRecord,
        message: &Message,
    ) -> Result<(), StateError> {
        let Some(stream) = session.get_stream.as_deref() else {
            return Ok(());
        };
        let Ok(stream) = stream.parse::<StreamId>() else {
            return Ok(());
        };
        self.emit(session, stream, message).await.map(drop)
    }

    /// Marks a stream finished, in the log and for resumers.
    pub async fn finish(
        &self,
        session: &SessionRecord,
        stream: StreamId,
    ) -> Result<(), StateError> {
        self.log.close(&session.id, stream).await?;
        let env = Envelope::Closed {
            stream: stream.to_string(),
        };
        self.bus.publish(&session.channel(), env.to_bytes()).await
    }
}

/// Fans change notices out to every node over the broadcast channel.
#[derive(Clone)]
pub struct BusChanges {
    bus: Arc<dyn Bus>,
}

impl BusChanges {
    /// Wraps the node's bus.
    pub fn new(bus: Arc<dyn Bus>) -> Self {
        Self { bus }
    }

    fn publish(&self, env: Envelope) {
        let bus = self.bus.clone();
        tokio::spawn(async move {
            if let Err(e) = bus.publish(BROADCAST, env.to_bytes()).await {
                tracing::warn!(error = %e, "could not publish a change notice");
            }
        });
    }
}

impl Changes for BusChanges {
    fn resource_updated(&self, uri: &str) {
        self.publish(Envelope::ResourceUpdated {
            uri: uri.to_owned(),
        });
    }

    fn list_changed(&self, kind: ListKind) {
        let kind = match kind {
            ListKind::Tools => "tools",
            ListKind::Prompts => "prompts",
            ListKind::Resources => "resources",
        };
        self.publish(Envelope::ListChanged { kind: kind.into() });
    }
}

/// The next delivery of an optional subscription; pending forever when there is none.
pub(crate) async fn next_delivery(
    sub: &mut Option<switchyard_state::Subscription>,
) -> Option<switchyard_state::Delivery> {
    use futures::StreamExt;
    match sub {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}
