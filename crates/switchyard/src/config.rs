//! Node configuration: defaults < `switchyard.toml` < `SWITCHYARD__*` environment < flags.
//!
//! Every field has a default, so `switchyard serve` runs with no configuration at all:
//! in-memory state and the `demo` backend on `127.0.0.1:8080`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub mod limits;
mod redact;
pub use limits::LimitsConfig;
pub use redact::REDACTED;

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
    /// Upstream MCP servers served through this node (`[[upstreams]]`, and the repeatable
    /// `--upstream NAME=URL` flag, which adds to them). With none (the default), `backend`
    /// is served alone.
    pub upstreams: Vec<switchyard_upstream::UpstreamConfig>,
    /// How upstreams are served together (`[gateway]`).
    pub gateway: switchyard_upstream::GatewayConfig,
    /// Timeouts, sizes and counts that protect the node ([`LimitsConfig`]).
    pub limits: LimitsConfig,
    /// Who may use the node ([`crate::auth::AuthConfig`]).
    pub auth: crate::auth::AuthConfig,
    /// How a node stops on SIGTERM or SIGINT (the drain).
    pub shutdown: ShutdownConfig,
    /// The readiness check behind `GET /readyz`.
    pub health: HealthConfig,
    /// Prometheus metrics (`/metrics`).
    pub metrics: MetricsConfig,
    /// Log lines.
    pub log: LogConfig,
    /// OpenTelemetry traces.
    pub otel: OtelConfig,
}

/// How a node stops on SIGTERM or SIGINT: `/readyz` answers 503 at once; the node keeps
/// serving for [`ShutdownConfig::drain_delay_secs`] (so load balancers stop sending to it);
/// then every open SSE stream without a running request ends with `retry:` (its client
/// resumes on another node with `Last-Event-ID`), and no new connection is accepted; the
/// requests still running get up to [`ShutdownConfig::timeout_secs`], then their streams end
/// the same way; the process exits 0. A second signal stops the node at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShutdownConfig {
    /// Seconds a stopping node keeps serving after `/readyz` turned 503, before it ends its
    /// streams. Behind a balancer, longer than it takes the balancer to notice (Kubernetes:
    /// the readiness probe's period × failure threshold, plus endpoint propagation). Default
    /// 0: a lone node has no balancer to wait for (the Helm chart and the compose file set 5).
    pub drain_delay_secs: u64,
    /// Seconds the requests still running after the drain delay get to finish; then their
    /// streams end with `retry:` too (the request's output stays in the log, resumable on
    /// another node). Default 5.
    pub timeout_secs: u64,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self {
            drain_delay_secs: 0,
            timeout_secs: 5,
        }
    }
}

/// The background check that `/readyz` reports (probes never cost a Redis round trip).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthConfig {
    /// Milliseconds between two checks of the state backend (a Redis `PING` bounded by
    /// `redis.timeout_ms`). `/readyz` answers from the last check, and answers 503 when it
    /// failed or is older than three periods plus the timeout. Default 1000.
    pub check_interval_ms: u64,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            check_interval_ms: 1000,
        }
    }
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
    /// ACL user name (`SWITCHYARD__REDIS__USERNAME`); empty: the URL's, or Redis' `default`.
    pub username: String,
    /// Password (`SWITCHYARD__REDIS__PASSWORD`); empty: the URL's, or none. Prefer this, or
    /// [`RedisConfig::password_file`], to a password inside the URL: neither ever appears
    /// on a command line. `config check` prints it as `***`.
    #[serde(serialize_with = "redacted")]
    pub password: String,
    /// A file holding the password (e.g. a mounted Kubernetes Secret), read at start; a
    /// trailing newline is ignored. Wins over [`RedisConfig::password`].
    pub password_file: String,
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
    /// Replicas that must have every logged event, every push and every broadcast before
    /// it counts as done: Redis `WAIT n` after each such write, bounded by half of
    /// `timeout_ms`. Costs a replication round trip on every event (and blocks nothing
    /// else: other requests go on). Too few acknowledgements fail the write as if Redis
    /// were unavailable: a push gets 503 (the event is on the primary, so a retry may
    /// deliver it twice), an event of a stream is sent without an id. 0 (the default):
    /// writes are acknowledged by the primary alone, and a failover may lose the last
    /// ones.
    pub wait_replicas: usize,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            username: String::new(),
            password: String::new(),
            password_file: String::new(),
            timeout_ms: 2000,
            session_cache: 10_000,
            connections: 1,
            max_connections: 1024,
            wait_replicas: 0,
        }
    }
}

/// A secret as `config check` prints it: `***`, or empty when unset.
fn redacted<S: serde::Serializer>(value: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(if value.is_empty() { "" } else { "***" })
}

impl RedisConfig {
    /// The password to authenticate with: [`RedisConfig::password_file`]'s content when
    /// set, else [`RedisConfig::password`] (empty: none beyond the URL's).
    pub fn password(&self) -> Result<String, ConfigError> {
        if self.password_file.is_empty() {
            return Ok(self.password.clone());
        }
        let text = std::fs::read_to_string(&self.password_file).map_err(|e| {
            ConfigError::Invalid(format!("redis.password_file {}: {e}", self.password_file))
        })?;
        Ok(text.trim_end_matches(['\r', '\n']).to_owned())
    }

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
    /// An address of its own for the push API (`SWITCHYARD__ADMIN__BIND`, e.g.
    /// `10.0.0.5:9090` on an internal network): `/admin/…` is then served there only, and
    /// that listener serves nothing else (404). Empty (the default): the push API shares
    /// `bind`.
    pub bind: String,
}

/// Settings of the stateless (2026-07-28) revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatelessConfig {
    /// Secret that integrity-protects `requestState` (HMAC-SHA256). Every node behind one
    /// balancer needs the same value, or a retry landing on another node is refused. Empty
    /// (the default) means a random key per process — fine for a single node. A list
    /// (`["new", "old"]`, or `SWITCHYARD__STATELESS__STATE_KEY=new,old`) rotates it: states
    /// are sealed with the first and accepted under any, so roll out `[new, old]`
    /// everywhere, then drop `old` once `state_ttl_secs` has passed.
    pub state_key: StateKey,
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
            state_key: StateKey::One(String::new()),
            state_ttl_secs: 600,
            list_ttl_ms: 60_000,
            read_ttl_ms: 0,
        }
    }
}

/// `stateless.state_key`: one key, or a rotation (sign with the first, accept all).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StateKey {
    /// One key (`""`: none configured).
    One(String),
    /// Keys newest first.
    Rotation(Vec<String>),
}

impl StateKey {
    /// The configured keys, newest first, without empty entries.
    pub fn keys(&self) -> Vec<&str> {
        match self {
            StateKey::One(k) => vec![k.as_str()],
            StateKey::Rotation(ks) => ks.iter().map(String::as_str).collect(),
        }
        .into_iter()
        .filter(|k| !k.is_empty())
        .collect()
    }

    /// Whether no key is configured.
    pub fn is_empty(&self) -> bool {
        self.keys().is_empty()
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
            limits: LimitsConfig::default(),
            auth: crate::auth::AuthConfig::default(),
            shutdown: ShutdownConfig::default(),
            health: HealthConfig::default(),
            upstreams: Vec::new(),
            gateway: switchyard_upstream::GatewayConfig::default(),
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
    /// `--upstream NAME=URL`, repeatable: added to `[[upstreams]]`.
    pub upstreams: Vec<String>,
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
                .with_list_parse_key("http.allowed_origins")
                .with_list_parse_key("limits.trusted_proxies")
                .with_list_parse_key("stateless.state_key"),
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
        let mut cfg: Config = builder.build()?.try_deserialize()?;
        for flag in &overrides.upstreams {
            let u = switchyard_upstream::UpstreamConfig::from_flag(flag)
                .map_err(ConfigError::Invalid)?;
            cfg.upstreams.push(u);
        }
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
        let mut notes = vec![hosts, key.to_owned()];
        if let Some(warning) = self.open_to_everyone() {
            notes.push(warning);
        }
        if !self.upstreams.is_empty() {
            let names: Vec<String> = self
                .upstreams
                .iter()
                .map(|u| format!("{} ({})", u.name, u.kind.as_str()))
                .collect();
            let members = self.upstreams.len() + self.gateway.builtins.len();
            notes.push(if members == 1 {
                format!(
                    "upstream {} is served directly, its names unchanged (backend {:?} is not served)",
                    names.join(", "),
                    self.backend
                )
            } else {
                format!(
                    "upstreams {} and built-ins {:?} are federated as <prefix>{}<name> \
                     (backend {:?} is not served)",
                    names.join(", "),
                    self.gateway.builtins,
                    self.gateway.separator,
                    self.backend
                )
            });
        }
        notes
    }

    /// The warning for a node that asks nobody who they are (`auth.mode = "none"`) while
    /// bound to an address other than loopback; `None` otherwise.
    pub fn open_to_everyone(&self) -> Option<String> {
        let loopback = self
            .bind
            .parse::<std::net::SocketAddr>()
            .is_ok_and(|a| a.ip().is_loopback());
        (self.auth.mode == crate::auth::AuthMode::None && !loopback).then(|| {
            format!(
                "WARNING: auth.mode is \"none\" and bind {} is not a loopback address: anyone \
                 who reaches this node can open sessions and call every tool; set auth.mode \
                 (SWITCHYARD__AUTH__MODE) to \"api_key\" on a network",
                self.bind
            )
        })
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
        if self.health.check_interval_ms < 50 {
            return bad("health.check_interval_ms must be at least 50");
        }
        if self.bind.parse::<std::net::SocketAddr>().is_err() {
            return bad("bind must be an address such as 127.0.0.1:8080");
        }
        if !self.admin.bind.is_empty() && self.admin.bind.parse::<std::net::SocketAddr>().is_err() {
            return bad("admin.bind must be empty or an address such as 127.0.0.1:9090");
        }
        self.limits.validate().map_err(ConfigError::Invalid)?;
        self.auth.validate().map_err(ConfigError::Invalid)?;
        switchyard_upstream::config::validate(&self.upstreams, &self.gateway)
            .map_err(ConfigError::Invalid)?;
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
                upstreams: vec!["rails=http://127.0.0.1:3000/mcp".into()],
            },
        )
        .expect("load");
        assert_eq!(cfg.bind, "127.0.0.1:0");
        assert_eq!(cfg.backend, "everything");
        assert_eq!(cfg.http.max_body_bytes, 4 * 1024 * 1024);
        assert_eq!(cfg.redis.session_cache, 10_000);
        assert_eq!(cfg.upstreams.len(), 1);
        assert_eq!(cfg.upstreams[0].name, "rails");
        assert!(
            cfg.notes()
                .iter()
                .any(|n| n.contains("upstream rails (auto) is served directly")),
            "{:?}",
            cfg.notes()
        );
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
    fn auth_limits_and_a_key_rotation_load_from_the_environment_names() {
        let dir = tempfile_dir("auth");
        let path = dir.join("switchyard.toml");
        std::fs::write(
            &path,
            "[auth]\nmode = \"api_key\"\napi_keys_file = \"/k.json\"\n\
             [stateless]\nstate_key = [\"new\", \"old\"]\n[limits]\nmax_streams = 3\n\
             trusted_proxies = [\"10.0.0.0/8\"]\n",
        )
        .expect("write");
        let cfg = Config::load(Some(&path), &Overrides::default()).expect("load");
        assert_eq!(cfg.auth.mode, crate::auth::AuthMode::ApiKey);
        assert_eq!(cfg.stateless.state_key.keys(), ["new", "old"]);
        assert_eq!(cfg.limits.max_streams, 3);
        std::fs::write(&path, "[auth]\nmode = \"api_key\"\n").expect("write");
        assert!(
            Config::load(Some(&path), &Overrides::default()).is_err(),
            "needs a keys file"
        );
        std::fs::write(&path, "[auth]\nmode = \"oauth\"\n").expect("write");
        assert!(
            Config::load(Some(&path), &Overrides::default()).is_err(),
            "not built yet"
        );
        std::fs::write(&path, "[limits]\ntrusted_proxies = [\"nope\"]\n").expect("write");
        assert!(Config::load(Some(&path), &Overrides::default()).is_err());
        std::fs::remove_dir_all(&dir).ok();

        let mut open = Config::default();
        assert!(open.open_to_everyone().is_none(), "loopback");
        open.bind = "0.0.0.0:8080".into();
        assert!(
            open.open_to_everyone()
                .is_some_and(|w| w.contains("auth.mode"))
        );
        assert!(open.notes().iter().any(|n| n.starts_with("WARNING")));
    }

    fn tempfile_dir(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("sy-cfg-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        dir
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
