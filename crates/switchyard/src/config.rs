//! Node configuration: defaults < `switchyard.toml` < `SWITCHYARD__*` environment < flags.
//!
//! Every field has a default, so `switchyard serve` runs with no configuration at all:
//! in-memory state and the `demo` backend on `127.0.0.1:8080`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The whole configuration of a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on. Default `127.0.0.1:8080`.
    pub bind: String,
    /// Built-in backend to serve: `demo` or `everything`. Default `demo`.
    pub backend: String,
    /// This node's name, sent in the `X-Switchyard-Node` header of every answer (to tell
    /// nodes apart behind a balancer). Empty (the default): a random name per process.
    pub node_id: String,
    /// The `demo` backend.
    pub demo: DemoConfig,
    /// HTTP behaviour.
    pub http: HttpConfig,
    /// Session lifetimes and event retention.
    pub session: SessionConfig,
    /// The stateless 2026-07-28 revision.
    pub stateless: StatelessConfig,
    /// The push API for applications behind the gateway.
    pub admin: AdminConfig,
    /// Shared state in Redis (several nodes behind one balancer).
    pub redis: RedisConfig,
    /// Prometheus metrics (`/metrics`).
    pub metrics: MetricsConfig,
    /// Log lines.
    pub log: LogConfig,
    /// OpenTelemetry traces.
    pub otel: OtelConfig,
}

/// OpenTelemetry traces (see `telemetry::traces`). Off by default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OtelConfig {
    /// Base URL of an OTLP/HTTP collector, e.g. `http://otel-collector:4318`; spans go to
    /// `<endpoint>/v1/traces` as protobuf. Empty (the default): the standard
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT` if set, else
    /// tracing is off.
    pub endpoint: String,
}

/// Prometheus metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Record metrics and serve them at `GET /metrics` (OpenMetrics text). Default `true`;
    /// `false` records nothing and `/metrics` answers 404.
    pub enabled: bool,
    /// Serve `/metrics` on this address only (e.g. `0.0.0.0:9464`, so it is not public
    /// beside `/mcp`); the main listener then answers 404 there. Empty (the default): on the
    /// main listener.
    pub bind: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            bind: String::new(),
        }
    }
}

/// How log lines are written (to stderr; levels from `RUST_LOG`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (coloured at a terminal).
    Text,
    /// One JSON object per line, for a log collector.
    Json,
}

/// Log lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` (the default) or `json` (`SWITCHYARD__LOG__FORMAT`).
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
        }
    }
}

/// Shared state in Redis. With no URL (the default) the node keeps its state in memory:
/// fine for one node, lost on restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://[user:password@]host[:port][/db]` for one server, or
    /// `redis+cluster://host1:port1,host2:port2,…` for a Redis Cluster (`--redis-url`,
    /// `SWITCHYARD__REDIS__URL`). Empty: in-memory state.
    pub url: String,
    /// Milliseconds any one Redis operation may take before the request that needs it gets
    /// 503 with `Retry-After`. Default 2000.
    pub timeout_ms: u64,
    /// Decoded session records a node keeps (each checked against Redis on every read, so
    /// it saves decoding, never the round trip); 0 turns the cache off. Default 10000.
    pub session_cache: usize,
    /// Multiplexed command connections each HTTP worker keeps, shared by all of that
    /// worker's concurrent requests and driven by its own runtime (the main thread keeps as
    /// many, for what runs at start). One is enough for a worker's whole load on the
    /// bench; more spread a worker's commands over several sockets. 1 to 16. Default 1.
    pub connections: usize,
    /// The most command connections a node may hold. The node holds exactly
    /// `(workers + 1) × connections` (`workers` as it runs them: `http.workers`, or one per
    /// core when that is 0) and refuses to start when that exceeds this; the bus's one
    /// subscriber connection comes on top. On a Redis Cluster each is a cluster connection,
    /// with one socket per master. Mind Redis' `maxclients` (10000 by default) across all
    /// nodes. Default 1024.
    pub max_connections: usize,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            timeout_ms: 2000,
            session_cache: 10_000,
            connections: 1,
            max_connections: 1024,
        }
    }
}

impl RedisConfig {
    /// The command connections a node with `workers` HTTP workers holds: `connections` per
    /// worker, and as many for the main thread.
    pub fn pool_size(&self, workers: usize) -> usize {
        (workers + 1) * self.connections
    }
}

/// The push API (`/admin/v1/…`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// Bearer token required by every `/admin/v1/…` request
    /// (`SWITCHYARD__ADMIN__TOKEN`). Empty (the default) disables the API: 404.
    pub token: String,
}

/// Settings of the stateless (2026-07-28) revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatelessConfig {
    /// Secret that integrity-protects `requestState` (HMAC-SHA256). Every node behind one
    /// balancer needs the same value, or a retry landing on another node is refused. Empty
    /// (the default) means a random key per process — fine for a single node.
    pub state_key: String,
    /// Seconds a minted `requestState` stays valid. Default 600.
    pub state_ttl_secs: u64,
    /// `ttlMs` put on list results (tools, prompts, resources, templates) and discover.
    /// Default 60000.
    pub list_ttl_ms: u64,
    /// `ttlMs` put on `resources/read` results. Default 0 (immediately stale).
    pub read_ttl_ms: u64,
}

impl Default for StatelessConfig {
    fn default() -> Self {
        Self {
            state_key: String::new(),
            state_ttl_secs: 600,
            list_ttl_ms: 60_000,
            read_ttl_ms: 0,
        }
    }
}

/// Settings of the `demo` backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DemoConfig {
    /// SQLite database file, created and seeded on first run; `:memory:` for a throwaway one.
    /// Default `switchyard-demo.db` in the working directory.
    pub db_path: PathBuf,
}

/// How a request that the backend answers with nothing but its result is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResponseMode {
    /// `application/json` when the result is the backend's first message; an SSE stream as
    /// soon as anything (progress, a log message, a request to the client) precedes it.
    Json,
    /// Always an SSE stream (resumable with `Last-Event-ID`).
    Sse,
}

/// HTTP settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Worker threads serving HTTP; 0 (the default) means one per CPU core. At most 512.
    pub workers: usize,
    /// Largest accepted POST body in bytes; larger bodies get 413. Default 4 MiB.
    pub max_body_bytes: usize,
    /// See [`ResponseMode`]. Default `json`.
    pub response_mode: ResponseMode,
    /// Seconds between keep-alive comments on idle SSE streams. Default 15.
    pub keep_alive_secs: u64,
    /// The `retry:` (ms) sent before the server closes a stream early. Default 1000.
    pub sse_retry_ms: u64,
    /// Hosts accepted in the `Host` header (names or IP literals, any port); `*` for any
    /// (`SWITCHYARD__HTTP__ALLOWED_HOSTS`, comma-separated). Unset (the default): see
    /// [`Config::host_policy`] — the loopback names `localhost`, `127.0.0.1`, `[::1]` when
    /// [`Config::bind`] is a loopback address, any host otherwise.
    pub allowed_hosts: Option<Vec<String>>,
    /// Hosts accepted in a present `Origin` header; `*` for any. A present, disallowed
    /// `Origin` gets 403. Default: the loopback names.
    pub allowed_origins: Vec<String>,
}

/// Which `Host` headers a node accepts, and why (see [`Config::host_policy`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPolicy {
    /// `http.allowed_hosts` was set: exactly these (`*` in it allows any).
    Configured(Vec<String>),
    /// Unset, and the node binds a loopback address: the loopback names only. A server
    /// reachable only from this machine is what DNS rebinding attacks, so its `Host` is
    /// checked.
    Loopback,
    /// Unset, and the node binds another address (e.g. `0.0.0.0` behind a balancer): any
    /// `Host`. Such a node is reached under names the configuration cannot guess; set
    /// `http.allowed_hosts` to restrict them.
    Any,
}

impl HostPolicy {
    /// The allow-list entries this policy stands for.
    pub fn entries(&self) -> Vec<String> {
        match self {
            HostPolicy::Configured(hosts) => hosts.clone(),
            HostPolicy::Loopback => loopback(),
            HostPolicy::Any => vec!["*".to_owned()],
        }
    }
}

/// Session settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// Seconds of inactivity after which a session expires. Default 3600.
    pub idle_ttl_secs: u64,
    /// Events kept per stream for resumption. Default 1024.
    pub event_log_max_len: usize,
    /// Seconds a request to the client (sampling, elicitation) waits for its answer.
    /// Default 300.
    pub client_request_timeout_secs: u64,
    /// Milliseconds a node's claim on a request stream it produces lasts without renewal
    /// (it renews every third of it). A stream whose producer's lease lapsed (its node died)
    /// is ended with a JSON-RPC error for its request by whichever node a client resumes it
    /// on. Default 10000.
    pub producer_lease_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            backend: "demo".into(),
            node_id: String::new(),
            demo: DemoConfig::default(),
            http: HttpConfig::default(),
            session: SessionConfig::default(),
            stateless: StatelessConfig::default(),
            admin: AdminConfig::default(),
            redis: RedisConfig::default(),
            metrics: MetricsConfig::default(),
            log: LogConfig::default(),
            otel: OtelConfig::default(),
        }
    }
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            db_path: PathBuf::from("switchyard-demo.db"),
        }
    }
}

fn loopback() -> Vec<String> {
    vec!["localhost".into(), "127.0.0.1".into(), "[::1]".into()]
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            workers: 0,
            max_body_bytes: 4 * 1024 * 1024,
            response_mode: ResponseMode::Json,
            keep_alive_secs: 15,
            sse_retry_ms: 1000,
            allowed_hosts: None,
            allowed_origins: loopback(),
        }
    }
}

impl HttpConfig {
    /// The workers a node runs: `workers`, or when 0 one per core as actix-web counts them
    /// (`std::thread::available_parallelism`, 2 when unknown, at most 512).
    pub fn worker_count(&self) -> usize {
        match self.workers {
            0 => std::thread::available_parallelism()
                .map_or(2, std::num::NonZeroUsize::get)
                .min(MAX_WORKERS),
            n => n,
        }
    }
}

/// actix-web's limit on worker threads.
const MAX_WORKERS: usize = 512;

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            idle_ttl_secs: 3600,
            event_log_max_len: 1024,
            client_request_timeout_secs: 300,
            producer_lease_ms: 10_000,
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A source could not be read or did not match the schema.
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    /// A value is out of range.
    #[error("configuration: {0}")]
    Invalid(String),
}

/// Values given on the command line; they override every other source.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--bind`.
    pub bind: Option<String>,
    /// `--backend`.
    pub backend: Option<String>,
    /// `--demo-db`.
    pub demo_db: Option<PathBuf>,
    /// `--redis-url`.
    pub redis_url: Option<String>,
}

impl Config {
    /// Loads the layered configuration. `file` defaults to `switchyard.toml` (optional).
    pub fn load(
        file: Option<&std::path::Path>,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let defaults = config::Config::try_from(&Config::default())?;
        let mut builder = config::Config::builder().add_source(defaults);
        builder = match file {
            Some(path) => builder.add_source(config::File::from(path).required(true)),
            None => builder.add_source(config::File::with_name("switchyard.toml").required(false)),
        };
        builder = builder.add_source(
            config::Environment::with_prefix("SWITCHYARD")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("http.allowed_hosts")
                .with_list_parse_key("http.allowed_origins"),
        );
        if let Some(b) = &overrides.bind {
            builder = builder.set_override("bind", b.as_str())?;
        }
        if let Some(b) = &overrides.backend {
            builder = builder.set_override("backend", b.as_str())?;
        }
        if let Some(u) = &overrides.redis_url {
            builder = builder.set_override("redis.url", u.as_str())?;
        }
        if let Some(p) = &overrides.demo_db {
            builder = builder.set_override("demo.db_path", p.to_string_lossy().as_ref())?;
        }
        let cfg: Config = builder.build()?.try_deserialize()?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The `Host` allow-list in force: `http.allowed_hosts` when set; otherwise the loopback
    /// names for a loopback [`Config::bind`], and any host for any other bind address.
    pub fn host_policy(&self) -> HostPolicy {
        if let Some(hosts) = &self.http.allowed_hosts {
            return HostPolicy::Configured(hosts.clone());
        }
        match self.bind.parse::<std::net::SocketAddr>() {
            Ok(addr) if addr.ip().is_loopback() => HostPolicy::Loopback,
            Ok(_) => HostPolicy::Any,
            // `validate` refuses such a bind; stay strict if asked anyway.
            Err(_) => HostPolicy::Loopback,
        }
    }

    /// What the node derives from this configuration beyond the values themselves, one
    /// sentence each: printed by `switchyard config check` and logged at start.
    pub fn notes(&self) -> Vec<String> {
        let hosts = match self.host_policy() {
            HostPolicy::Configured(hosts) => format!(
                "http.allowed_hosts is set: the Host header must name one of {}",
                hosts.join(", ")
            ),
            HostPolicy::Loopback => format!(
                "http.allowed_hosts is not set and bind {} is a loopback address: the Host \
                 header must name localhost, 127.0.0.1 or [::1] (set http.allowed_hosts, \
                 SWITCHYARD__HTTP__ALLOWED_HOSTS, to allow other names)",
                self.bind
            ),
            HostPolicy::Any => format!(
                "http.allowed_hosts is not set and bind {} is not a loopback address: any \
                 Host header is accepted (set http.allowed_hosts, \
                 SWITCHYARD__HTTP__ALLOWED_HOSTS, to restrict it)",
                self.bind
            ),
        };
        let key = if !self.stateless.state_key.is_empty() {
            "stateless.state_key is set: requestState is sealed with it (every node needs the \
             same value)"
        } else if !self.redis.url.is_empty() {
            "stateless.state_key is not set: nodes on this Redis share the key stored in \
             sy:state_key (created by the first node to start)"
        } else {
            "stateless.state_key is not set and state is in memory: a random key for this \
             process (fine for one node)"
        };
        vec![hosts, key.to_owned()]
    }

    /// Checks ranges and names after loading.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_owned()));
        if !matches!(self.backend.as_str(), "demo" | "everything") {
            return bad("backend must be \"demo\" or \"everything\"");
        }
        if self.http.max_body_bytes < 1024 {
            return bad("http.max_body_bytes must be at least 1024");
        }
        if self.http.keep_alive_secs == 0 {
            return bad("http.keep_alive_secs must be at least 1");
        }
        if self.session.idle_ttl_secs == 0 || self.session.event_log_max_len == 0 {
            return bad("session.idle_ttl_secs and session.event_log_max_len must be positive");
        }
        if self.session.producer_lease_ms < 300 {
            return bad("session.producer_lease_ms must be at least 300");
        }
        if self.http.workers > MAX_WORKERS {
            return bad("http.workers must be at most 512");
        }
        if !(1..=16).contains(&self.redis.connections) {
            return bad("redis.connections must be between 1 and 16");
        }
        let pool = self.redis.pool_size(self.http.worker_count());
        if !self.redis.url.is_empty() && pool > self.redis.max_connections {
            return Err(ConfigError::Invalid(format!(
                "{} HTTP workers with redis.connections = {} hold {pool} Redis connections \
                 ((workers + 1) × connections), more than redis.max_connections = {}: lower \
                 http.workers or redis.connections, or raise redis.max_connections",
                self.http.worker_count(),
                self.redis.connections,
                self.redis.max_connections
            )));
        }
        if self.bind.parse::<std::net::SocketAddr>().is_err() {
            return bad("bind must be an address such as 127.0.0.1:8080");
        }
        if !self.metrics.bind.is_empty()
            && self.metrics.bind.parse::<std::net::SocketAddr>().is_err()
        {
            return bad("metrics.bind must be empty or an address such as 0.0.0.0:9464");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_flags_win() {
        let cfg = Config::load(
            None,
            &Overrides {
                bind: Some("127.0.0.1:0".into()),
                backend: Some("everything".into()),
                demo_db: None,
                redis_url: None,
            },
        )
        .expect("load");
        assert_eq!(cfg.bind, "127.0.0.1:0");
        assert_eq!(cfg.backend, "everything");
        assert_eq!(cfg.http.max_body_bytes, 4 * 1024 * 1024);
        assert_eq!(cfg.redis.session_cache, 10_000);
    }

    #[test]
    fn the_host_allow_list_follows_the_bind_address_unless_set() {
        let mut cfg = Config::default();
        assert_eq!(cfg.host_policy(), HostPolicy::Loopback);
        cfg.bind = "[::1]:0".into();
        assert_eq!(cfg.host_policy(), HostPolicy::Loopback);
        cfg.bind = "0.0.0.0:8080".into();
        assert_eq!(cfg.host_policy(), HostPolicy::Any);
        assert_eq!(cfg.host_policy().entries(), ["*"]);
        cfg.http.allowed_hosts = Some(vec!["mcp.example.com".into()]);
        assert_eq!(
            cfg.host_policy(),
            HostPolicy::Configured(vec!["mcp.example.com".into()])
        );
        assert!(
            cfg.notes()[0].contains("mcp.example.com"),
            "{:?}",
            cfg.notes()
        );
    }

    #[test]
    fn file_values_are_read_and_validated() {
        let dir = std::env::temp_dir().join(format!("sy-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("switchyard.toml");
        std::fs::write(
            &path,
            "backend = \"everything\"\n[http]\nresponse_mode = \"sse\"\n[redis]\nsession_cache = 5\n",
        )
        .expect("write");
        let cfg = Config::load(Some(&path), &Overrides::default()).expect("load");
        assert_eq!(cfg.http.response_mode, ResponseMode::Sse);
        assert_eq!(cfg.redis.session_cache, 5);
        std::fs::write(&path, "[http]\nallowed_hosts = [\"a.example\"]\n").expect("write");
        let cfg = Config::load(Some(&path), &Overrides::default()).expect("load");
        assert_eq!(cfg.http.allowed_hosts, Some(vec!["a.example".to_owned()]));
        std::fs::write(&path, "backend = \"nope\"\n").expect("write");
        assert!(Config::load(Some(&path), &Overrides::default()).is_err());
        std::fs::write(&path, "[http]\nno_such_key = 1\n").expect("write");
        assert!(Config::load(Some(&path), &Overrides::default()).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn redis_connections_are_bounded_at_load() {
        let mut cfg = Config::default();
        cfg.redis.url = "redis://127.0.0.1:1".into();
        cfg.http.workers = 96;
        assert_eq!(cfg.http.worker_count(), 96);
        assert_eq!(cfg.redis.pool_size(cfg.http.worker_count()), 97);
        cfg.validate()
            .expect("97 connections are within the default 1024");
        cfg.redis.connections = 16;
        let err = cfg
            .validate()
            .expect_err("1552 connections are over the bound");
        assert!(err.to_string().contains("1552"), "{err}");
        cfg.redis.max_connections = 97 * 16;
        cfg.validate().expect("raised bound");
        cfg.redis.connections = 0;
        assert!(cfg.validate().is_err(), "at least one connection");
        cfg.redis.connections = 1;
        cfg.http.workers = 513;
        assert!(
            cfg.validate().is_err(),
            "actix-web runs at most 512 workers"
        );
        // In memory, the Redis bound does not apply.
        cfg.redis.url.clear();
        cfg.http.workers = 512;
        cfg.redis.max_connections = 1;
        cfg.validate().expect("no Redis, no bound");
        cfg.http.workers = 0;
        assert!(cfg.http.worker_count() >= 1);
    }
}
