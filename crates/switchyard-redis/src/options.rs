//! What [`crate::RedisState::connect`] takes: the URL forms, the tuning knobs, and the
//! errors of connecting.

use std::sync::Arc;
use std::time::Duration;

use redis::IntoConnectionInfo;
use switchyard_state::StateError;

/// Tuning of a [`crate::RedisState`]. `Default` gives production values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisOptions {
    /// Sessions and event logs expire after this long without use (a session: `get` or
    /// `update`; a session's log: an append, close or read of any of its streams).
    pub idle_ttl: Duration,
    /// Each stream keeps about its last `max_len_per_stream` events (`XADD … MAXLEN ~`, so
    /// Redis may keep up to a hundred or so more); 0 is treated as 1.
    pub max_len_per_stream: usize,
    /// Undelivered payloads each local subscription buffers before it lags and receives
    /// [`switchyard_state::Delivery::Gap`]; 0 is treated as 1.
    pub bus_capacity: usize,
    /// The longest any single operation waits for Redis before it fails with
    /// [`StateError::Unavailable`] (including waiting for a connection).
    pub timeout: Duration,
    /// Multiplexed command connections ("lanes") each handle keeps: the one
    /// [`crate::RedisState::connect`] returns, and each made by [`crate::RedisState::worker`].
    /// Each is a pooled connection kept checked out and shared by every concurrent caller of
    /// that handle, made on the handle's first calls by the runtime that makes them; 0 is
    /// treated as 1. For a cluster, each is a cluster connection with one socket per master.
    pub connections: usize,
    /// The most command connections open at once, over every handle (the pool's size); 0 is
    /// treated as 1. Size it for `connections` × the handles in use at once (a node: one per
    /// HTTP worker, plus the one `connect` returns): a handle whose lanes find the pool full
    /// waits for a slot, and fails with [`StateError::Unavailable`] after `timeout`. The
    /// subscriber connection of the bus is not counted.
    pub max_connections: usize,
    /// The first delay before the subscriber connection retries after a loss; it doubles
    /// up to `reconnect_max`.
    pub reconnect_min: Duration,
    /// The longest delay between two reconnection attempts of the subscriber connection.
    pub reconnect_max: Duration,
    /// How often the subscriber connection is checked (`CLIENT ID` on a single server: a
    /// changed id means the connection was replaced and its subscriptions lost; `PING` on a
    /// cluster).
    pub heartbeat: Duration,
    /// Broadcasts kept (about: `MAXLEN ~`) for standalone streams that fell behind.
    pub broadcast_log_max_len: usize,
    /// Decoded session records a node keeps, each checked against the stored version on
    /// every read (see [`crate::RedisSessionStore`]); 0 turns the cache off.
    pub session_cache: usize,
    /// About how many bytes of records that cache holds (each weighs its stored fields'
    /// bytes); it evicts past either bound.
    pub session_cache_bytes: u64,
    /// Replicas that must have each appended event and broadcast before the write counts
    /// as done (`WAIT n timeout` right after it, on the same connection, bounded by half of
    /// [`RedisOptions::timeout`]); 0 (the default) does not wait. Fewer acknowledgements
    /// make the write fail with [`StateError::Unavailable`] — it is on the primary, but
    /// may not survive a failover.
    pub wait_replicas: usize,
    /// Told of every command operation (for metrics); none by default.
    pub observer: Observer,
    /// Runs every command operation in an `info` span `redis` (OpenTelemetry CLIENT kind,
    /// `db.system.name = redis`, `db.operation.name` its fixed name), a child of the caller's
    /// span: for a node that exports traces. Off by default (no span is made).
    pub trace_spans: bool,
}

/// What an [`Observer`] calls: the operation's fixed name (`"read a session"`, `"publish"`…),
/// how long it took (waiting for a connection included), and its error if it failed.
pub type ObserveFn = dyn Fn(&'static str, Duration, Option<&StateError>) + Send + Sync;

/// A hook called after every command operation (one command, pipeline or script), e.g. to
/// record its duration. The names are a fixed set, fit for metric labels. Two observers
/// are equal when they are the same hook.
#[derive(Clone, Default)]
pub struct Observer(Option<Arc<ObserveFn>>);

impl Observer {
    /// An observer calling `f`.
    pub fn new(
        f: impl Fn(&'static str, Duration, Option<&StateError>) + Send + Sync + 'static,
    ) -> Self {
        Observer(Some(Arc::new(f)))
    }

    /// Whether there is a hook to call.
    pub(crate) fn is_set(&self) -> bool {
        self.0.is_some()
    }

    pub(crate) fn observe(&self, what: &'static str, took: Duration, error: Option<&StateError>) {
        if let Some(f) = &self.0 {
            f(what, took, error);
        }
    }
}

impl PartialEq for Observer {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for Observer {}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_set() {
            "Observer(set)"
        } else {
            "Observer(none)"
        })
    }
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            idle_ttl: Duration::from_secs(3600),
            max_len_per_stream: 1024,
            bus_capacity: 128,
            timeout: Duration::from_secs(2),
            connections: 1,
            max_connections: 64,
            reconnect_min: Duration::from_millis(50),
            reconnect_max: Duration::from_secs(1),
            heartbeat: Duration::from_secs(1),
            broadcast_log_max_len: 10_000,
            session_cache: 10_000,
            session_cache_bytes: 64 * 1024 * 1024,
            wait_replicas: 0,
            observer: Observer::default(),
            trace_spans: false,
        }
    }
}

/// Where Redis is: one server, or the seed nodes of a cluster.
///
/// - `redis://[user:password@]host[:port][/db]` (and `redis+unix:///path`, `unix:///path`):
///   one server, plain pub/sub.
/// - `redis+cluster://[user:password@]host1:port1,host2:port2,…`: a Redis Cluster reached
///   through these seed nodes (any reachable subset of the masters will do); sharded
///   pub/sub. The user and password apply to every node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisTarget {
    /// One server, by its URL.
    Single(String),
    /// A cluster, by the URLs (`redis://…`) of its seed nodes.
    Cluster(Vec<String>),
}

/// The scheme of a cluster URL.
const CLUSTER_SCHEME: &str = "redis+cluster://";

impl RedisTarget {
    /// Parses and checks a URL of one of the forms above.
    pub fn parse(url: &str) -> Result<Self, ConnectError> {
        let url = url.trim();
        let target = match url.strip_prefix(CLUSTER_SCHEME) {
            Some(rest) => {
                let (auth, hosts) = match rest.rsplit_once('@') {
                    Some((auth, hosts)) => (format!("{auth}@"), hosts),
                    None => (String::new(), rest),
                };
                let hosts = hosts.trim_end_matches('/');
                let nodes: Vec<String> = hosts
                    .split(',')
                    .map(str::trim)
                    .filter(|h| !h.is_empty())
                    .map(|h| format!("redis://{auth}{h}"))
                    .collect();
                if nodes.is_empty() {
                    return Err(ConnectError::InvalidUrl(format!(
                        "{CLUSTER_SCHEME} needs at least one host:port"
                    )));
                }
                RedisTarget::Cluster(nodes)
            }
            None => RedisTarget::Single(url.to_owned()),
        };
        for node in target.nodes() {
            node.as_str()
                .into_connection_info()
                .map_err(|e| ConnectError::InvalidUrl(format!("{}: {e}", redact(node))))?;
        }
        Ok(target)
    }

    /// The same target, every node authenticating as `username` (empty: the URL's own, or
    /// Redis' `default` user) with `password` (empty: the URL's own, or none): credentials
    /// kept out of the URL — from the environment or a file — so they never appear on a
    /// command line. Only `redis://` and `rediss://` URLs carry credentials this way.
    pub fn with_credentials(self, username: &str, password: &str) -> Result<Self, ConnectError> {
        if username.is_empty() && password.is_empty() {
            return Ok(self);
        }
        let set = |node: String| -> Result<String, ConnectError> {
            let bad = |why: &str| ConnectError::InvalidUrl(format!("{}: {why}", redact(&node)));
            let mut url = url::Url::parse(&node).map_err(|e| bad(&e.to_string()))?;
            if !matches!(url.scheme(), "redis" | "rediss") {
                return Err(bad(
                    "credentials from the configuration need a redis:// URL",
                ));
            }
            if !username.is_empty() {
                url.set_username(username)
                    .map_err(|()| bad("cannot carry a user name"))?;
            }
            if !password.is_empty() {
                url.set_password(Some(password))
                    .map_err(|()| bad("cannot carry a password"))?;
            }
            Ok(url.to_string())
        };
        Ok(match self {
            RedisTarget::Single(url) => RedisTarget::Single(set(url)?),
            RedisTarget::Cluster(nodes) => {
                RedisTarget::Cluster(nodes.into_iter().map(set).collect::<Result<_, _>>()?)
            }
        })
    }

    /// The URLs this target connects to.
    pub fn nodes(&self) -> &[String] {
        match self {
            RedisTarget::Single(url) => std::slice::from_ref(url),
            RedisTarget::Cluster(nodes) => nodes,
        }
    }

    /// Whether this is a cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self, RedisTarget::Cluster(_))
    }
}

/// A URL without its password, for messages.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

/// Why [`crate::RedisState::connect`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    /// The URL is not one of the accepted forms (a configuration error: retrying won't help).
    #[error("invalid Redis URL: {0}")]
    InvalidUrl(String),
    /// Redis could not be reached or answered with an error (retryable).
    #[error(transparent)]
    State(#[from] StateError),
}

impl From<ConnectError> for StateError {
    fn from(e: ConnectError) -> Self {
        match e {
            ConnectError::InvalidUrl(m) => {
                StateError::unavailable(format!("invalid Redis URL: {m}"))
            }
            ConnectError::State(e) => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_urls_pass_through() {
        assert_eq!(
            RedisTarget::parse("redis://127.0.0.1:6380/2"),
            Ok(RedisTarget::Single("redis://127.0.0.1:6380/2".into()))
        );
    }

    #[test]
    fn cluster_urls_list_seed_nodes_and_share_credentials() {
        assert_eq!(
            RedisTarget::parse("redis+cluster://u:p@10.0.0.1:7000, 10.0.0.2:7001/"),
            Ok(RedisTarget::Cluster(vec![
                "redis://u:p@10.0.0.1:7000".into(),
                "redis://u:p@10.0.0.2:7001".into()
            ]))
        );
        assert!(RedisTarget::parse("redis+cluster://").is_err());
    }

    #[test]
    fn credentials_are_put_into_every_node_url_encoded() {
        let single = RedisTarget::parse("redis://10.0.0.1:6379/2")
            .and_then(|t| t.with_credentials("switchyard", "p@ss:w/rd"))
            .expect("credentials");
        assert_eq!(
            single,
            RedisTarget::Single("redis://switchyard:p%40ss%3Aw%2Frd@10.0.0.1:6379/2".into())
        );
        let single = single.nodes()[0]
            .as_str()
            .into_connection_info()
            .expect("info");
        assert_eq!(single.redis_settings().password(), Some("p@ss:w/rd"));
        assert_eq!(single.redis_settings().username(), Some("switchyard"));
        let cluster = RedisTarget::parse("redis+cluster://u:old@h1:7000,h2:7001")
            .and_then(|t| t.with_credentials("", "new"))
            .expect("credentials");
        assert_eq!(
            cluster,
            RedisTarget::Cluster(vec![
                "redis://u:new@h1:7000".into(),
                "redis://u:new@h2:7001".into()
            ])
        );
        let unchanged = RedisTarget::parse("redis://h:1").and_then(|t| t.with_credentials("", ""));
        assert_eq!(unchanged, Ok(RedisTarget::Single("redis://h:1".into())));
        let unix = RedisTarget::parse("unix:///run/redis.sock")
            .and_then(|t| t.with_credentials("u", "secret"));
        assert!(
            matches!(unix, Err(ConnectError::InvalidUrl(ref m)) if !m.contains("secret")),
            "{unix:?}"
        );
    }

    #[test]
    fn bad_urls_are_rejected_without_leaking_passwords() {
        let err = RedisTarget::parse("http://user:secret@host:1").unwrap_err();
        assert!(matches!(err, ConnectError::InvalidUrl(_)), "{err:?}");
        assert!(!err.to_string().contains("secret"), "{err}");
    }
}
