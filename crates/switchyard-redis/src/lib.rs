//! Redis implementations of the Switchyard state contracts: [`RedisSessionStore`],
//! [`RedisEventLog`] and [`RedisBus`], for one `redis-server` or a Redis Cluster. With them,
//! any node of a cluster of Switchyard nodes can serve any request of any session.
//!
//! ```no_run
//! # async fn run() -> Result<(), switchyard_redis::ConnectError> {
//! use switchyard_redis::{RedisOptions, RedisState};
//!
//! let state = RedisState::connect("redis://127.0.0.1:6379", RedisOptions::default()).await?;
//! let (sessions, log, bus) = state.into_parts();
//! # Ok(()) }
//! ```
//!
//! # Connecting
//!
//! [`RedisState::connect`] takes a URL ([`RedisTarget`] parses it):
//!
//! - `redis://[user:password@]host[:port][/db]` (or `redis+unix:///path.sock`): one server;
//!   plain `PUBLISH`/`SUBSCRIBE`.
//! - `redis+cluster://[user:password@]host1:port1,host2:port2,…`: a Redis Cluster, through
//!   these seed nodes; sharded `SPUBLISH`/`SSUBSCRIBE`.
//!
//! The three types share one deadpool pool of multiplexed command connections. Each
//! [`RedisState::worker`] handle (one per HTTP worker, made on that worker's thread) keeps
//! [`RedisOptions::connections`] of them checked out and shared by every caller on that
//! worker: no connection setup, no pool check and no cross-thread wake-up on the hot path, and
//! a number of connections that follows the configuration, not the host's cores. One
//! subscriber connection per node serves the bus. Every operation is bounded by
//! [`RedisOptions::timeout`]: while Redis is down, each fails with
//! [`switchyard_state::StateError::Unavailable`] within it (at once when the connection is
//! refused), never hangs.
//!
//! # Faults
//!
//! - Redis down (connection refused): every operation fails with `Unavailable` at once
//!   (about a millisecond); a hung Redis (e.g. `SIGSTOP`): after [`RedisOptions::timeout`].
//!   A command connection that failed or timed out is replaced on its next use.
//! - The subscriber connection is watched through disconnection pushes and a heartbeat
//!   ([`RedisOptions::heartbeat`]); once lost, it is reconnected with exponential backoff
//!   ([`RedisOptions::reconnect_min`] to [`RedisOptions::reconnect_max`]), every channel is
//!   subscribed again, and every live subscription receives
//!   [`switchyard_state::Delivery::Gap`] before any later payload (the consumer then re-reads
//!   the event log). Subscriptions never end because of a fault.
//! - A Redis that comes back empty (or that evicted a session's log meta hash) has no epoch
//!   for that session's log: the next append mints a new one, and every id of the lost log is
//!   `Gone`; no id is issued twice. Run Redis with `maxmemory-policy noeviction`
//!   ([`RedisState::eviction_policy`] reports it).
//!
//! # Key schema
//!
//! Everything is namespaced `sy:`. The braces are Redis Cluster hash tags: all keys of one
//! session live in one slot, so every script touches one slot only.
//!
//! | key | type | what |
//! |---|---|---|
//! | `sy:s:{<session>}` | hash | the session record (upstream sessions in fields `up:<name>`); expires after the idle TTL, refreshed by `get` and `update` |
//! | `sy:l:{<session>}` | hash | the session's event log meta: `e` = the log's epoch (12 random alphanumerics, minted with the hash), `n:<stream>` = last position, `c:<stream>` = `1` once closed, `q:<stream>` = a leased stream's request ids, `os`/`oo` = the standalone stream and its owner's token, `bc` = the last broadcast applied |
//! | `sy:l:{<session>}:<stream>` | stream | the events of one SSE stream (`g`, `r<n>`): entry id `<position>-0`, one field `d` = the event's data; `XADD … MAXLEN ~ max_len` |
//! | `sy:l:{<session>}:p:<stream>` | string | a request stream's producer lease (`SET … PX`) |
//! | `sy:{b}` / `sy:{b}:n` | stream / string | the broadcast log (entry id `<n>-0`, field `d`) and its counter |
//! | `sy:c:<channel>` | pub/sub channel | a bus channel: `sy:c:<principal>:<session>` per session, `sy:c:sy:broadcast` for all nodes |
//! | `sy:state_key` | string | the `requestState` key nodes share when none is configured: set once by the first node (`SET NX`), read by every node at start ([`RedisState::shared_state_key`]); no expiry |
//!
//! Session hash fields: `principal`, `transport` (`streamable_http` / `http_sse`),
//! `protocol_version`, `client_info` and `client_capabilities` (JSON), `initialized`
//! (`0`/`1`), `log_level` (absent: none), `created_at_ms`, `get_stream` (absent: none),
//! and one `sub:<uri>` = `1` per subscribed resource URI.
//!
//! The log meta hash and the streams of a session expire with the same idle TTL, refreshed
//! by every append, close and read of any of them. Event ids are
//! `<epoch>_<stream>_<position>`; an id whose epoch is not the session log's (the log was
//! lost since) is answered `Gone`, as is a position older than what the stream retains.
//!
//! ## Publishing from outside
//!
//! A bus payload is opaque to this crate: the node defines the envelope (a JSON object
//! tagged by `t`; see `switchyard_protocol::envelope`). Another program can reach
//! a session's open streams with the raw command, e.g. from a Rails app:
//! `PUBLISH sy:c:<principal>:<session> '{"t":"client",…}'` (`SPUBLISH` on a cluster), or all
//! nodes with `PUBLISH sy:c:sy:broadcast '{"t":"resource_updated","uri":"…"}'`.
//!
//! # Layout
//!
//! - [`RedisState`] (here): connects, and hands out the three implementations.
//! - `options`: [`RedisOptions`], [`RedisTarget`] (the URL forms), [`ConnectError`].
//! - `session`: [`RedisSessionStore`] and its Lua scripts.
//! - `log`: [`RedisEventLog`] and its Lua scripts.
//! - `bus`: [`RedisBus`], the local fan-out; `bus/subscriber`: the subscriber connection
//!   and the task that reconnects and resubscribes it.
//! - `conn`: the pool and each handle's multiplexed lanes; `keys`: key names; `core`: what
//!   the three types of one handle share.

mod bus;
mod conn;
mod core;
mod keys;
mod log;
mod options;
mod session;

use std::sync::Arc;

pub use bus::RedisBus;
pub use log::RedisEventLog;
pub use options::{ConnectError, ObserveFn, Observer, RedisOptions, RedisTarget};
pub use session::RedisSessionStore;

use crate::conn::Connections;
use crate::core::Core;
use switchyard_state::StateError;

/// One node's connection to Redis, with the three state implementations on it.
///
/// A clone shares everything, command connections included; [`RedisState::worker`] shares
/// everything but those. The bus (and its subscriber connection) lives until the last
/// [`RedisBus`] handle, here or handed out, is dropped.
#[derive(Clone)]
pub struct RedisState {
    core: Arc<Core>,
    sessions: RedisSessionStore,
    log: RedisEventLog,
    bus: RedisBus,
    policy: Option<String>,
}

impl std::fmt::Debug for RedisState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisState")
            .field("sessions", &self.sessions)
            .field("log", &self.log)
            .field("bus", &self.bus)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl RedisState {
    /// Connects to Redis at `url` (see the crate docs for the forms): checks the URL, reads
    /// the eviction policy, and opens the bus's subscriber connection. Fails with
    /// [`ConnectError::State`] if Redis cannot be reached within [`RedisOptions::timeout`].
    pub async fn connect(url: &str, options: RedisOptions) -> Result<Self, ConnectError> {
        Self::connect_to(&RedisTarget::parse(url)?, options).await
    }

    /// Like [`RedisState::connect`], with an already parsed target.
    pub async fn connect_to(
        target: &RedisTarget,
        options: RedisOptions,
    ) -> Result<Self, ConnectError> {
        let core = Arc::new(Core {
            conns: Connections::new(target, &options)?,
            clustered: target.is_cluster(),
            options: options.clone(),
        });
        let policy = core.eviction_policy().await?;
        let bus = RedisBus::start(Arc::clone(&core), target, &options).await?;
        Ok(Self {
            sessions: RedisSessionStore::new(Arc::clone(&core)),
            log: RedisEventLog::new(Arc::clone(&core)),
            bus,
            policy,
            core,
        })
    }

    /// Another handle on the same state (pool, session cache, bus and its subscriber), with
    /// [`RedisOptions::connections`] command connections of its own. They are made on its
    /// first calls, so they run on the runtime that makes them: create one per thread that
    /// serves requests, where it runs (in actix-web, inside the `HttpServer::new` factory,
    /// which runs once on each worker), and use it there. Its connections are closed when
    /// the last clone of it (and of the implementations it hands out) is dropped.
    ///
    /// The pool is shared: every handle in use at once counts against
    /// [`RedisOptions::max_connections`] (a warning is logged when their connections
    /// outnumber it).
    pub fn worker(&self) -> RedisState {
        let core = Arc::new(self.core.sibling());
        Self {
            sessions: self.sessions.on(Arc::clone(&core)),
            log: RedisEventLog::new(Arc::clone(&core)),
            bus: self.bus.on(Arc::clone(&core)),
            policy: self.policy.clone(),
            core,
        }
    }

    /// Redis' `maxmemory-policy` as read when connecting (`None` when the server does not
    /// say, e.g. `CONFIG` is disabled). Anything but `noeviction` lets Redis drop session
    /// records and logs under memory pressure: clients are then told (404, 410), but
    /// messages are lost.
    pub fn eviction_policy(&self) -> Option<&str> {
        self.policy.as_deref()
    }

    /// `PING` over this handle's command connections, bounded by [`RedisOptions::timeout`]
    /// like every operation: what a node's readiness check asks (on a cluster, the node
    /// that answers).
    pub async fn ping(&self) -> Result<(), StateError> {
        self.core
            .run("ping", |mut c| async move {
                redis::cmd("PING").query_async::<()>(&mut c).await
            })
            .await
    }

    /// The session store.
    pub fn sessions(&self) -> &RedisSessionStore {
        &self.sessions
    }

    /// The event log.
    pub fn log(&self) -> &RedisEventLog {
        &self.log
    }

    /// The bus.
    pub fn bus(&self) -> &RedisBus {
        &self.bus
    }

    /// The `requestState` key every node on this Redis shares when none is configured:
    /// `candidate` is stored under `sy:state_key` unless a key is there already (`SET NX`),
    /// and the stored key is returned — so the first node to start picks it and every other
    /// node, now or later, reads the same one. The key has no expiry: with AOF and
    /// `noeviction` it lives as long as the data. A Redis that lost it gets a new one from
    /// the next node to start; nodes started before keep theirs until restarted (set
    /// `stateless.state_key` to rule that out).
    pub async fn shared_state_key(&self, candidate: &str) -> Result<String, StateError> {
        let candidate = candidate.to_owned();
        self.core
            .run("read the shared requestState key", |mut c| async move {
                let (_, key): (Option<String>, Option<String>) = redis::pipe()
                    .cmd("SET")
                    .arg(keys::STATE_KEY)
                    .arg(&candidate)
                    .arg("NX")
                    .cmd("GET")
                    .arg(keys::STATE_KEY)
                    .query_async(&mut c)
                    .await?;
                Ok(key.unwrap_or(candidate))
            })
            .await
    }

    /// The three implementations, by value.
    pub fn into_parts(self) -> (RedisSessionStore, RedisEventLog, RedisBus) {
        (self.sessions, self.log, self.bus)
    }
}
