//! The node: the configured backend and state, and the operations every transport shares.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use switchyard_backend::{Backend, Changes, Context, ListKind, NoChanges, NoPeer, SessionView};
use switchyard_protocol::event_id::StreamId;
use switchyard_protocol::headers::HostAllowList;
use switchyard_protocol::jsonrpc::{Id, Message, Request};
use switchyard_protocol::method::Method;
use switchyard_state::memory::{MemoryBus, MemoryEventLog, MemorySessionStore};
use switchyard_state::{Bus, EventLog, SessionRecord, SessionStore, StateError};

use crate::config::Config;
use crate::mrtr::StateSealer;
use switchyard_protocol::envelope::{BROADCAST, Envelope};

/// Payloads a bus subscription buffers. Each session channel with a subscriber preallocates
/// this many slots, so it is kept small: a subscriber that falls further behind gets a Gap
/// and backfills from the event log, losing nothing.
const BUS_CAPACITY: usize = 16;

/// A fresh `requestState` key: 256 bits from the OS-seeded CSPRNG, as 64 hex digits.
fn random_key() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Everything a request handler needs. One per HTTP worker ([`Node::for_worker`]): all
/// share the configuration, the backend, the state and the requests in flight; on Redis, each
/// worker's has command connections of its own.
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
    /// Mints and verifies `requestState` (2026-07-28).
    pub sealer: StateSealer,
    /// This node's name (`X-Switchyard-Node`).
    pub id: String,
    /// Requests running on this node (on any of its workers), by session and request id: a
    /// cancellation that lands here stops them at once (other nodes hear of it on the
    /// session channel).
    pub inflight: Arc<std::sync::Mutex<HashMap<(String, Id), tokio_util::sync::CancellationToken>>>,
    /// Change notices from the backend, fanned out to every node (shared by all requests).
    pub changes: Arc<dyn Changes>,
    /// The `x-mcp-header` annotations of the backend's tools, by tool name.
    tool_headers: Arc<ToolHeaders>,
    /// What is wrong with the state backend's setup, found at start (for `/readyz`).
    pub warnings: Vec<String>,
    /// Every task the node spawns (a request's work, its stream writer, relays, change
    /// notices), shared by all workers: [`crate::serve`] waits for them on shutdown.
    pub tasks: tokio_util::task::TaskTracker,
    /// Liveness, readiness and the drain's signals to streams, shared by all workers.
    pub health: Arc<crate::health::Health>,
    /// The Redis state, to give each worker a handle of its own (`None`: in memory).
    redis: Option<switchyard_redis::RedisState>,
    /// `[limits]` and their counters, shared by every worker.
    pub limits: Arc<crate::limits::Limits>,
    /// Who is asking (`auth.mode`).
    pub auth: Arc<crate::auth::Auth>,
    /// The in-memory session store, when that is the state (to count what a stop loses).
    memory: Option<Arc<MemorySessionStore>>,
}

type ParamHeaders = HashMap<String, Vec<(String, Vec<String>)>>;

/// The `Mcp-Param-*` headers each tool declares, from the backend's `tools/list`: read on
/// first use, forgotten when this node broadcasts `tools/list_changed` (its backend's own, or
/// one sent through the push API) and once `stateless.list_ttl_ms` has passed (a change only
/// another node heard of). A failed read is not kept: the next request reads again.
#[derive(Debug, Default)]
pub struct ToolHeaders {
    read: std::sync::RwLock<Option<(tokio::time::Instant, Arc<ParamHeaders>)>>,
}

impl ToolHeaders {
    fn fresh(&self, ttl: std::time::Duration) -> Option<Arc<ParamHeaders>> {
        let read = self
            .read
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (at, map) = read.as_ref()?;
        (at.elapsed() < ttl).then(|| map.clone())
    }

    fn keep(&self, map: Arc<ParamHeaders>) {
        let mut read = self
            .read
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *read = Some((tokio::time::Instant::now(), map));
    }

    /// Forgets what was read: the next request reads `tools/list` again.
    pub fn invalidate(&self) {
        let mut read = self
            .read
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *read = None;
    }
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
    /// A setting could not be used (e.g. an unreadable `redis.password_file`).
    #[error("{0}")]
    Config(String),
    /// Redis could not be reached or is not usable.
    #[error("redis: {0}")]
    Redis(#[from] switchyard_redis::ConnectError),
    /// The authenticator could not be built (e.g. an unreadable `auth.api_keys_file`).
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    /// An upstream cannot be served.
    #[error(transparent)]
    Upstream(#[from] switchyard_upstream::StartError),
}

/// The backend the configuration names: `backend` alone, or with `[[upstreams]]` the
/// gateway over them and the `gateway.builtins`.
async fn configured_backend(
    config: &Config,
    sessions: Arc<dyn SessionStore>,
) -> Result<Arc<dyn Backend>, BuildError> {
    if config.upstreams.is_empty() {
        return Ok(switchyard_backend::builtin(
            &config.backend,
            &config.demo.db_path,
        )?);
    }
    let mut builtins = Vec::new();
    for name in &config.gateway.builtins {
        builtins.push((
            name.clone(),
            switchyard_backend::builtin(name, &config.demo.db_path)?,
        ));
    }
    Ok(
        switchyard_upstream::gateway(&config.upstreams, &config.gateway, builtins, sessions)
            .await?,
    )
}

impl Node {
    /// The node the configuration describes: Redis state when `redis.url` is set, else the
    /// embedded in-memory state.
    pub async fn build(config: Config) -> Result<Arc<Node>, BuildError> {
        if config.redis.url.is_empty() {
            if config.upstreams.is_empty() {
                return Node::embedded(config);
            }
            let (sessions, log, bus) = memory_state(&config);
            let backend = configured_backend(&config, sessions.clone()).await?;
            return Node::on_memory(config, backend, sessions, log, bus);
        }
        let options = switchyard_redis::RedisOptions {
            idle_ttl: Duration::from_secs(config.session.idle_ttl_secs),
            max_len_per_stream: config.session.event_log_max_len,
            timeout: Duration::from_millis(config.redis.timeout_ms),
            bus_capacity: BUS_CAPACITY,
            session_cache: config.redis.session_cache,
            session_cache_bytes: config.limits.session_cache_bytes,
            connections: config.redis.connections,
            max_connections: config.redis.pool_size(config.http.worker_count()),
            wait_replicas: config.redis.wait_replicas,
            observer: crate::telemetry::metrics::redis_observer(),
            trace_spans: crate::telemetry::traces::enabled(),
            ..switchyard_redis::RedisOptions::default()
        };
        let password = config
            .redis
            .password()
            .map_err(|e| BuildError::Config(e.to_string()))?;
        let target = switchyard_redis::RedisTarget::parse(&config.redis.url)?
            .with_credentials(&config.redis.username, &password)?;
        let state = switchyard_redis::RedisState::connect_to(&target, options).await?;
        let warnings = eviction_warning(state.eviction_policy())
            .into_iter()
            .collect();
        // Nodes sharing a Redis share a `requestState` key without configuration: the first
        // one to start stores its random key, the others read it. An explicit key wins.
        let shared_key = if config.stateless.state_key.is_empty() {
            Some(
                state
                    .shared_state_key(&random_key())
                    .await
                    .map_err(switchyard_redis::ConnectError::State)?,
            )
        } else {
            None
        };
        let sessions: Arc<dyn SessionStore> = Arc::new(state.sessions().clone());
        let backend = configured_backend(&config, sessions.clone()).await?;
        let config_auth = config.auth.clone();
        let mut node = Node::new(
            config,
            backend,
            sessions,
            Arc::new(state.log().clone()),
            Arc::new(state.bus().clone()),
        );
        let auth = Arc::new(crate::auth::Auth::from_config(&config_auth)?);
        if let Some(n) = Arc::get_mut(&mut node) {
            n.auth = auth;
            n.warnings = warnings;
            if let Some(key) = shared_key {
                n.sealer = StateSealer::new(key.into_bytes(), n.sealer.ttl_ms());
            }
            n.redis = Some(state);
        }
        Ok(node)
    }

    /// The node one HTTP worker serves with; call it on that worker's thread (actix-web's
    /// per-worker `HttpServer::new` factory). On Redis, it has a state handle of its own
    /// ([`switchyard_redis::RedisState::worker`]): `redis.connections` command connections
    /// made, and driven, by the worker's runtime, so its calls never wake another thread
    /// and the node's connections number `(workers + 1) × redis.connections` however many
    /// threads there are. Everything else is shared. In memory, the node itself.
    pub fn for_worker(self: &Arc<Self>) -> Arc<Node> {
        let Some(redis) = &self.redis else {
            return Arc::clone(self);
        };
        let state = redis.worker();
        let log: Arc<dyn EventLog> = Arc::new(state.log().clone());
        let bus: Arc<dyn Bus> = Arc::new(state.bus().clone());
        Arc::new(Node {
            config: self.config.clone(),
            backend: Arc::clone(&self.backend),
            sessions: Arc::new(state.sessions().clone()),
            changes: Arc::new(BusChanges::new(
                Arc::clone(&bus),
                Arc::clone(&log),
                Arc::clone(&self.tool_headers),
                self.tasks.clone(),
            )),
            log,
            bus,
            hosts: self.hosts.clone(),
            origins: self.origins.clone(),
            sealer: self.sealer.clone(),
            id: self.id.clone(),
            inflight: Arc::clone(&self.inflight),
            tasks: self.tasks.clone(),
            health: Arc::clone(&self.health),
            tool_headers: Arc::clone(&self.tool_headers),
            warnings: self.warnings.clone(),
            redis: Some(state),
            limits: Arc::clone(&self.limits),
            auth: Arc::clone(&self.auth),
            memory: None,
        })
    }

    /// A node with the embedded in-memory state and the configured built-in backend.
    pub fn embedded(config: Config) -> Result<Arc<Node>, BuildError> {
        let backend = switchyard_backend::builtin(&config.backend, &config.demo.db_path)?;
        let (sessions, log, bus) = memory_state(&config);
        Node::on_memory(config, backend, sessions, log, bus)
    }

    /// A node on the in-memory state `memory_state` made: it keeps the session store to
    /// count what a stop loses.
    fn on_memory(
        config: Config,
        backend: Arc<dyn Backend>,
        sessions: Arc<MemorySessionStore>,
        log: Arc<dyn EventLog>,
        bus: Arc<dyn Bus>,
    ) -> Result<Arc<Node>, BuildError> {
        let auth = Arc::new(crate::auth::Auth::from_config(&config.auth)?);
        let mut node = Node::new(config, backend, sessions.clone(), log, bus);
        if let Some(n) = Arc::get_mut(&mut node) {
            n.auth = auth;
            n.memory = Some(sessions);
        }
        Ok(node)
    }

    /// A node from parts.
    pub fn new(
        config: Config,
        backend: Arc<dyn Backend>,
        sessions: Arc<dyn SessionStore>,
        log: Arc<dyn EventLog>,
        bus: Arc<dyn Bus>,
    ) -> Arc<Node> {
        let hosts = HostAllowList::new(config.host_policy().entries());
        let origins = HostAllowList::new(&config.http.allowed_origins);
        let keys = config.stateless.state_key.keys();
        let ttl_ms = config.stateless.state_ttl_secs * 1000;
        let sealer = match keys.split_first() {
            None => StateSealer::new(random_key().into_bytes(), ttl_ms),
            Some((first, older)) => StateSealer::new(first.as_bytes().to_vec(), ttl_ms)
                .accepting(older.iter().map(|k| k.as_bytes().to_vec()).collect()),
        };
        let id = if config.node_id.is_empty() {
            let n: u32 = rand::rng().random();
            format!("{n:08x}")
        } else {
            config.node_id.clone()
        };
        let tool_headers = Arc::new(ToolHeaders::default());
        let tasks = tokio_util::task::TaskTracker::new();
        let config_limits = config.limits.clone();
        let health = Arc::new(crate::health::Health::new(
            Duration::from_millis(config.health.check_interval_ms),
            Duration::from_millis(config.redis.timeout_ms),
        ));
        Arc::new(Node {
            health,
            id,
            inflight: Arc::default(),
            tasks: tasks.clone(),
            changes: Arc::new(BusChanges::new(
                bus.clone(),
                log.clone(),
                tool_headers.clone(),
                tasks.clone(),
            )),
            config,
            backend,
            sessions,
            log,
            bus,
            hosts,
            origins,
            sealer,
            tool_headers,
            warnings: Vec::new(),
            redis: None,
            limits: Arc::new(crate::limits::Limits::new(config_limits)),
            auth: Arc::new(crate::auth::Auth::None),
            memory: None,
        })
    }

    /// Whether the state backend answers (a Redis `PING` within `redis.timeout_ms`; in
    /// memory, always): the readiness check behind `/readyz`.
    pub async fn check_state(&self) -> Result<(), String> {
        match &self.redis {
            Some(redis) => redis.ping().await.map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }

    /// Whether the node keeps its state in memory (lost when the process ends).
    pub fn in_memory(&self) -> bool {
        self.redis.is_none()
    }

    /// The live sessions of an in-memory node built by [`Node::embedded`]: what a stop
    /// cannot hand over to another node. `None` for other state.
    pub fn memory_sessions(&self) -> Option<usize> {
        self.memory.as_ref().map(|m| m.len())
    }

    /// The `Mcp-Param-*` headers a tool declares (header name, path of its value), from the
    /// backend's `tools/list` ([`ToolHeaders`] says for how long).
    pub async fn param_headers(&self, tool: &str) -> Vec<(String, Vec<String>)> {
        let ttl = std::time::Duration::from_millis(self.config.stateless.list_ttl_ms);
        let map = match self.tool_headers.fresh(ttl) {
            Some(map) => map,
            None => match self.read_param_headers().await {
                Some(map) => {
                    let map = Arc::new(map);
                    self.tool_headers.keep(map.clone());
                    map
                }
                None => return Vec::new(),
            },
        };
        map.get(tool).cloned().unwrap_or_default()
    }

    /// The tools' headers; `None` when `tools/list` failed.
    async fn read_param_headers(&self) -> Option<ParamHeaders> {
        let list = Request::new(Id::String("sy-tools".into()), Method::ToolsList, None);
        let view = SessionView {
            protocol_version: switchyard_protocol::stateless::VERSION.into(),
            ..SessionView::default()
        };
        let (tx, _rx) = tokio::sync::mpsc::channel(1);
        let ctx = Context::new(view, tx, Arc::new(NoPeer), Arc::new(NoChanges));
        let result = match self.backend.handle(list, ctx).await {
            Ok(result) => result,
            Err(e) => {
                tracing::warn!(error = %e, "tools/list failed; Mcp-Param-* headers unchecked for now");
                return None;
            }
        };
        let tools = result
            .get("tools")
            .and_then(|t| t.as_array())
            .cloned()
            .unwrap_or_default();
        let map = tools
            .iter()
            .filter_map(|t| {
                let name = t.get("name")?.as_str()?.to_owned();
                let headers = switchyard_protocol::stateless::param_headers(t.get("inputSchema")?);
                Some((name, headers))
            })
            .collect();
        Some(map)
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
        let metrics = crate::telemetry::metrics();
        let traceparent = crate::telemetry::traces::current_traceparent();
        let payload = if metrics.is_some() || traceparent.is_some() {
            let sent_us = metrics.map(|m| {
                m.appended(1);
                crate::telemetry::metrics::unix_micros()
            });
            env.to_bytes_stamped(switchyard_protocol::envelope::Stamp {
                sent_us,
                traceparent,
            })
        } else {
            env.to_bytes()
        };
        self.bus.publish(&session.channel(), payload).await?;
        Ok((id, data))
    }

    /// A fresh token naming one connection's attachment to a standalone stream.
    pub fn new_owner() -> String {
        let n: u128 = rand::rng().random();
        format!("{n:032x}")
    }

    /// Logs a broadcast and publishes it to every node: each session's standalone stream
    /// applies it once (see `http/stream.rs`).
    pub async fn broadcast(&self, notice: Envelope) -> Result<u64, StateError> {
        broadcast(&*self.log, &*self.bus, &self.tool_headers, notice).await
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

/// The embedded in-memory state.
fn memory_state(config: &Config) -> (Arc<MemorySessionStore>, Arc<dyn EventLog>, Arc<dyn Bus>) {
    let ttl = Duration::from_secs(config.session.idle_ttl_secs);
    let sessions = Arc::new(MemorySessionStore::new(ttl));
    // The log forgets a session idle as long as the store does: nothing else tells it that
    // a session expired without a DELETE.
    let log = Arc::new(MemoryEventLog::with_idle_ttl(
        config.session.event_log_max_len,
        ttl,
    ));
    let bus = Arc::new(MemoryBus::new(BUS_CAPACITY));
    (sessions, log, bus)
}

/// Logs `notice` as a broadcast, then publishes it on [`BROADCAST`] with its number; a
/// `tools/list_changed` also makes this node read the tools' headers again.
async fn broadcast(
    log: &dyn EventLog,
    bus: &dyn Bus,
    tools: &ToolHeaders,
    notice: Envelope,
) -> Result<u64, StateError> {
    if matches!(&notice, Envelope::ListChanged { kind } if kind == "tools") {
        tools.invalidate();
    }
    let seq = log
        .broadcast(&String::from_utf8_lossy(&notice.to_bytes()))
        .await?;
    let env = Envelope::Broadcast {
        seq,
        notice: Box::new(notice),
    };
    bus.publish(BROADCAST, env.to_bytes()).await?;
    Ok(seq)
}

/// The warning for a Redis whose `maxmemory-policy` may evict Switchyard's keys.
fn eviction_warning(policy: Option<&str>) -> Option<String> {
    match policy {
        Some("noeviction") => None,
        Some(p) => {
            let w = format!(
                "Redis maxmemory-policy is {p}: under memory pressure Redis may evict sessions and event logs (clients are told with 404/410, but messages are lost); set it to noeviction"
            );
            tracing::error!("{w}");
            Some(w)
        }
        None => {
            tracing::warn!(
                "could not read Redis' maxmemory-policy (CONFIG is disabled); it must be noeviction"
            );
            None
        }
    }
}

/// Fans change notices out to every node through the broadcast log.
#[derive(Clone)]
pub struct BusChanges {
    bus: Arc<dyn Bus>,
    log: Arc<dyn EventLog>,
    tools: Arc<ToolHeaders>,
    tasks: tokio_util::task::TaskTracker,
}

impl BusChanges {
    /// Wraps the node's bus and log, its cache of the tools' headers and its task tracker.
    pub fn new(
        bus: Arc<dyn Bus>,
        log: Arc<dyn EventLog>,
        tools: Arc<ToolHeaders>,
        tasks: tokio_util::task::TaskTracker,
    ) -> Self {
        Self {
            bus,
            log,
            tools,
            tasks,
        }
    }

    fn publish(&self, env: Envelope) {
        let (bus, log, tools) = (self.bus.clone(), self.log.clone(), self.tools.clone());
        self.tasks.spawn(async move {
            if let Err(e) = broadcast(&*log, &*bus, &tools, env).await {
                tracing::warn!(error = %e, "could not broadcast a change notice");
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

#[cfg(test)]
mod tests;
