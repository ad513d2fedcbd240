//! The node's Prometheus metrics, encoded by `prometheus-client` (OpenMetrics text).
//!
//! One registry per process ([`install`] once, at start, when `metrics.enabled`); every
//! worker records into it. [`metrics`] is `None` until then, so a node with metrics off pays
//! one atomic load per call site and nothing else. Each label set is bounded: methods come
//! from [`Method`] (anything else is `_OTHER`), versions from [`Revision`], JSON-RPC codes
//! from the node's own list, Redis operations from `switchyard-redis`' fixed names; never a
//! session id, a tool name from the client, or a URI.
//!
//! The names follow the OpenTelemetry semantic conventions for MCP where they exist
//! (`mcp.server.operation.duration` → `mcp_server_operation_duration_seconds`, attribute
//! `mcp.method.name` → label `mcp_method_name`); the rest are `switchyard_*`.

use std::sync::OnceLock;
use std::sync::atomic::AtomicI64;
use std::time::{Duration, Instant};

use actix_web::HttpResponse;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};
use switchyard_protocol::jsonrpc::code;
use switchyard_protocol::method::Method;
use switchyard_protocol::revision::Revision;

/// The buckets of `mcp.server.operation.duration` and `mcp.server.session.duration` as the
/// semantic conventions advise them, with finer ones below 10 ms: most gateway operations
/// take well under a millisecond.
const DURATION_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0,
    120.0, 300.0,
];

/// Buckets of session lifetimes, in seconds: a second to a day.
const SESSION_BUCKETS: &[f64] = &[
    1.0, 5.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 21600.0, 86400.0,
];

/// Buckets of Redis operations and bus hops, in seconds: 100 µs to 2.5 s.
const FAST_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The `era` label of a Streamable HTTP session.
pub const STREAMABLE_HTTP: &str = "streamable_http";
/// The `era` label of an HTTP+SSE (2024-11-05) session.
pub const HTTP_SSE: &str = "http_sse";

/// Labels of `mcp_server_operation_duration_seconds`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    /// `mcp.method.name`: the JSON-RPC method, `_OTHER` for one MCP does not define.
    pub mcp_method_name: &'static str,
    /// `mcp.protocol.version`: the negotiated (or requested) revision.
    pub mcp_protocol_version: &'static str,
    /// `error.type`: empty when the operation succeeded, `tool_error` for a tool result with
    /// `isError`, else the JSON-RPC error code (`_OTHER` for a code the node does not know).
    pub error_type: &'static str,
}

/// Labels of `mcp_server_session_duration_seconds` and the session counts.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EraLabels {
    /// `streamable_http` or `http_sse`.
    pub era: &'static str,
}

/// Labels of `switchyard_streams_open`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// What the stream is (see [`StreamKind`]).
    pub kind: &'static str,
}

/// Labels of `switchyard_resumptions_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `ok` (replayed) or `gone` (answered 410).
    pub outcome: &'static str,
}

/// Labels of the Redis operation metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CommandLabels {
    /// The state operation, as `switchyard-redis` names it (`read a session`, `publish`…).
    pub command: &'static str,
}

/// Labels of `switchyard_redis_errors_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CommandErrorLabels {
    /// As in [`CommandLabels`].
    pub command: &'static str,
    /// `unavailable` (a retry may help) or `corrupt`/`conflict`.
    pub kind: &'static str,
}

/// Labels of `switchyard_rejections_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RejectionLabels {
    /// The HTTP status.
    pub status: u16,
    /// The JSON-RPC error code in the body.
    pub jsonrpc_code: i64,
}

/// Labels of `switchyard_build_info`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

/// The kinds of stream a node holds open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    /// A POST's SSE answer, while its writer produces it.
    Post,
    /// A session's standalone GET stream.
    Standalone,
    /// A GET resuming a POST's stream (`Last-Event-ID`).
    Resumed,
    /// A 2024-11-05 `/sse` stream.
    HttpSse,
    /// A 2026-07-28 `subscriptions/listen` stream.
    Listen,
}

impl StreamKind {
    const ALL: [StreamKind; 5] = [
        StreamKind::Post,
        StreamKind::Standalone,
        StreamKind::Resumed,
        StreamKind::HttpSse,
        StreamKind::Listen,
    ];

    fn as_str(self) -> &'static str {
        match self {
            StreamKind::Post => "post",
            StreamKind::Standalone => "standalone",
            StreamKind::Resumed => "resumed",
            StreamKind::HttpSse => "http_sse",
            StreamKind::Listen => "listen",
        }
    }
}

/// Every metric the node exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    operation: Family<OperationLabels, Histogram>,
    session_duration: Family<EraLabels, Histogram>,
    sessions_open: Family<EraLabels, Gauge>,
    sessions_opened: Family<EraLabels, Counter>,
    streams_open: Family<KindLabels, Gauge>,
    events_appended: Counter,
    events_replayed: Counter,
    resumptions: Family<OutcomeLabels, Counter>,
    bus_latency: Histogram,
    redis_duration: Family<CommandLabels, Histogram>,
    redis_errors: Family<CommandErrorLabels, Counter>,
    rejections: Family<RejectionLabels, Counter>,
    draining: Gauge<i64, AtomicI64>,
}

fn histogram(buckets: &'static [f64]) -> Histogram {
    Histogram::new(buckets.iter().copied())
}

impl Metrics {
    /// A fresh registry with every metric registered (and none recorded).
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let operation = Family::<OperationLabels, Histogram>::new_with_constructor(|| {
            histogram(DURATION_BUCKETS)
        });
        registry.register_with_unit(
            "mcp_server_operation_duration",
            "MCP request or notification duration as observed by the server (mcp.server.operation.duration)",
            Unit::Seconds,
            operation.clone(),
        );
        let session_duration =
            Family::<EraLabels, Histogram>::new_with_constructor(|| histogram(SESSION_BUCKETS));
        registry.register_with_unit(
            "mcp_server_session_duration",
            "MCP session duration, from initialize to its end on this node (DELETE, or the HTTP+SSE stream closing); sessions that expire idle are not seen (mcp.server.session.duration)",
            Unit::Seconds,
            session_duration.clone(),
        );
        let sessions_open = Family::<EraLabels, Gauge>::default();
        registry.register(
            "switchyard_sessions_open",
            "Sessions opened minus sessions ended on this node; summed over the fleet it counts the open sessions, except those that expired idle",
            sessions_open.clone(),
        );
        let sessions_opened = Family::<EraLabels, Counter>::default();
        registry.register(
            "switchyard_sessions_opened",
            "Sessions opened on this node",
            sessions_opened.clone(),
        );
        let streams_open = Family::<KindLabels, Gauge>::default();
        registry.register(
            "switchyard_streams_open",
            "SSE streams this node holds open, by kind",
            streams_open.clone(),
        );
        let events_appended = Counter::default();
        registry.register(
            "switchyard_events_appended",
            "Events this node appended to event logs",
            events_appended.clone(),
        );
        let events_replayed = Counter::default();
        registry.register(
            "switchyard_events_replayed",
            "Logged events this node replayed to a resuming client (Last-Event-ID)",
            events_replayed.clone(),
        );
        let resumptions = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "switchyard_resumptions",
            "GETs with Last-Event-ID, by outcome: ok, or gone (410)",
            resumptions.clone(),
        );
        let bus_latency = histogram(FAST_BUCKETS);
        registry.register_with_unit(
            "switchyard_bus_delivery_latency",
            "From a node publishing a logged event on the bus to the node holding its stream receiving it (wall clocks of both nodes)",
            Unit::Seconds,
            bus_latency.clone(),
        );
        let redis_duration =
            Family::<CommandLabels, Histogram>::new_with_constructor(|| histogram(FAST_BUCKETS));
        registry.register_with_unit(
            "switchyard_redis_command_duration",
            "Redis operations (one command, pipeline or script each), by operation",
            Unit::Seconds,
            redis_duration.clone(),
        );
        let redis_errors = Family::<CommandErrorLabels, Counter>::default();
        registry.register(
            "switchyard_redis_errors",
            "Redis operations that failed, by operation and kind",
            redis_errors.clone(),
        );
        let rejections = Family::<RejectionLabels, Counter>::default();
        registry.register(
            "switchyard_rejections",
            "Requests refused, by HTTP status and JSON-RPC error code",
            rejections.clone(),
        );
        let draining = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "switchyard_draining",
            "1 once the node is stopping (no new connections; running requests finish)",
            draining.clone(),
        );
        registry.register(
            "switchyard_build",
            "The running build",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );
        // The series whose label sets are known up front start at zero, so a dashboard shows
        // 0 rather than no data (the others appear with their first observation).
        for era in [STREAMABLE_HTTP, HTTP_SSE] {
            let labels = EraLabels { era };
            drop(sessions_open.get_or_create(&labels));
            drop(sessions_opened.get_or_create(&labels));
            drop(session_duration.get_or_create(&labels));
        }
        for kind in StreamKind::ALL {
            drop(streams_open.get_or_create(&KindLabels {
                kind: kind.as_str(),
            }));
        }
        for outcome in ["ok", "gone"] {
            drop(resumptions.get_or_create(&OutcomeLabels { outcome }));
        }
        Metrics {
            registry,
            operation,
            session_duration,
            sessions_open,
            sessions_opened,
            streams_open,
            events_appended,
            events_replayed,
            resumptions,
            bus_latency,
            redis_duration,
            redis_errors,
            rejections,
            draining,
        }
    }

    /// The OpenMetrics text of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// One MCP operation took `elapsed`.
    pub fn operation(&self, labels: &OperationLabels, elapsed: Duration) {
        self.operation
            .get_or_create(labels)
            .observe(elapsed.as_secs_f64());
    }

    /// A session of `era` was opened on this node.
    pub fn session_opened(&self, era: &'static str) {
        let labels = EraLabels { era };
        self.sessions_opened.get_or_create(&labels).inc();
        self.sessions_open.get_or_create(&labels).inc();
    }

    /// A session of `era`, `age` old, ended on this node.
    pub fn session_ended(&self, era: &'static str, age: Duration) {
        let labels = EraLabels { era };
        self.sessions_open.get_or_create(&labels).dec();
        self.session_duration
            .get_or_create(&labels)
            .observe(age.as_secs_f64());
    }

    /// `n` events were appended to a log.
    pub fn appended(&self, n: u64) {
        self.events_appended.inc_by(n);
    }

    /// A resumption: `replayed` events from the log, or `None` when answered 410.
    pub fn resumed(&self, replayed: Option<usize>) {
        let outcome = match replayed {
            Some(n) => {
                self.events_replayed.inc_by(n as u64);
                "ok"
            }
            None => "gone",
        };
        self.resumptions
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// A bus payload published at `sent_us` (µs since the Unix epoch) arrived now.
    pub fn delivered(&self, sent_us: u64) {
        let now = unix_micros();
        let hop = now.saturating_sub(sent_us) as f64 / 1e6;
        self.bus_latency.observe(hop);
    }

    /// A Redis operation took `elapsed`; `error` names the kind of failure, if any.
    pub fn redis(&self, command: &'static str, elapsed: Duration, error: Option<&'static str>) {
        let labels = CommandLabels { command };
        self.redis_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        if let Some(kind) = error {
            self.redis_errors
                .get_or_create(&CommandErrorLabels { command, kind })
                .inc();
        }
    }

    /// A request was refused with `status` and JSON-RPC `code`.
    pub fn rejected(&self, status: u16, jsonrpc_code: i64) {
        self.rejections
            .get_or_create(&RejectionLabels {
                status,
                jsonrpc_code,
            })
            .inc();
    }

    /// The node started stopping.
    pub fn set_draining(&self, draining: bool) {
        self.draining.set(i64::from(draining));
    }

    fn stream_opened(&self, kind: StreamKind) {
        self.streams_open
            .get_or_create(&KindLabels {
                kind: kind.as_str(),
            })
            .inc();
    }

    fn stream_closed(&self, kind: StreamKind) {
        self.streams_open
            .get_or_create(&KindLabels {
                kind: kind.as_str(),
            })
            .dec();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

static METRICS: OnceLock<Metrics> = OnceLock::new();

/// The process' metrics, once [`install`]ed.
#[inline]
pub fn metrics() -> Option<&'static Metrics> {
    METRICS.get()
}

/// Turns metrics on for this process (idempotent: a second call keeps the first registry).
pub fn install() -> &'static Metrics {
    METRICS.get_or_init(Metrics::new)
}

/// Microseconds since the Unix epoch, as the bus envelopes carry them.
pub fn unix_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// The hook `switchyard-redis` calls after every operation: its duration and errors (none
/// with metrics off).
pub fn redis_observer() -> switchyard_redis::Observer {
    if metrics().is_none() {
        return switchyard_redis::Observer::default();
    }
    switchyard_redis::Observer::new(|command, took, error| {
        if let Some(m) = metrics() {
            let kind = error.map(|e| {
                if e.is_retryable() {
                    "unavailable"
                } else {
                    "corrupt"
                }
            });
            m.redis(command, took, kind);
        }
    })
}

/// Counts a stream as open for as long as it lives.
#[derive(Debug)]
pub struct OpenStream(Option<StreamKind>);

impl OpenStream {
    /// A stream of `kind` opened (counted only with metrics on).
    pub fn new(kind: StreamKind) -> OpenStream {
        match metrics() {
            Some(m) => {
                m.stream_opened(kind);
                OpenStream(Some(kind))
            }
            None => OpenStream(None),
        }
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        if let (Some(kind), Some(m)) = (self.0, metrics()) {
            m.stream_closed(kind);
        }
    }
}

/// Times one MCP operation; [`Operation::finish`] records it.
#[derive(Debug)]
pub struct Operation {
    started: Instant,
    method: &'static str,
    version: &'static str,
}

impl Operation {
    /// Starts timing a request of `method` (its wire name) under `version`; `None` with
    /// metrics off.
    #[inline]
    pub fn start(method: &str, version: &str) -> Option<Operation> {
        metrics()?;
        Some(Operation {
            started: Instant::now(),
            method: method_label(method),
            version: version_label(version),
        })
    }

    /// Records the operation, with `error_type` (see [`error_type`]).
    pub fn finish(self, error_type: &'static str) {
        let version = self.version;
        self.finish_as(version, error_type);
    }

    /// Records the operation under `version` (an `initialize`: the negotiated one).
    pub fn finish_as(self, version: &'static str, error_type: &'static str) {
        if let Some(m) = metrics() {
            let labels = OperationLabels {
                mcp_method_name: self.method,
                mcp_protocol_version: version,
                error_type,
            };
            m.operation(&labels, self.started.elapsed());
        }
    }
}

/// `mcp.method.name` as a bounded label.
pub fn method_label(method: &str) -> &'static str {
    Method::parse(method).map_or("_OTHER", Method::as_str)
}

/// `mcp.protocol.version` as a bounded label.
pub fn version_label(version: &str) -> &'static str {
    version
        .parse::<Revision>()
        .map_or("_OTHER", Revision::as_str)
}

/// `error.type` of an answer: empty for a result, `tool_error` for a result with `isError`,
/// the JSON-RPC code for an error.
pub fn error_type(
    outcome: &Result<serde_json::Value, switchyard_protocol::jsonrpc::ErrorObject>,
) -> &'static str {
    match outcome {
        Ok(v) if v.get("isError").and_then(serde_json::Value::as_bool) == Some(true) => {
            "tool_error"
        }
        Ok(_) => "",
        Err(e) => code_label(e.code),
    }
}

/// A JSON-RPC error code as a bounded label.
pub fn code_label(c: i64) -> &'static str {
    match c {
        code::PARSE_ERROR => "-32700",
        code::INVALID_REQUEST => "-32600",
        code::METHOD_NOT_FOUND => "-32601",
        code::INVALID_PARAMS => "-32602",
        code::INTERNAL_ERROR => "-32603",
        code::SESSION_NOT_FOUND => "-32001",
        code::RESOURCE_NOT_FOUND => "-32002",
        code::HEADER_MISMATCH => "-32020",
        code::MISSING_CAPABILITY => "-32021",
        code::UNSUPPORTED_PROTOCOL_VERSION => "-32022",
        _ => "_OTHER",
    }
}

/// `GET /metrics`: the OpenMetrics text; 404 with metrics off, or when they are served on
/// their own listener (`metrics.bind`).
pub async fn endpoint(node: crate::http::NodeData) -> HttpResponse {
    let own_listener = !node.config.metrics.bind.is_empty();
    match metrics() {
        Some(m) if !own_listener => scrape(m),
        _ => HttpResponse::NotFound().finish(),
    }
}

/// The scrape answer.
pub fn scrape(m: &Metrics) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(m.encode())
}

/// Serves `GET /metrics` alone on `listener` (`metrics.bind`), on one worker, until the
/// process ends.
pub fn serve_own(listener: std::net::TcpListener) -> std::io::Result<actix_web::dev::Server> {
    let server = actix_web::HttpServer::new(|| {
        actix_web::App::new().route(
            "/metrics",
            actix_web::web::get().to(|| async {
                match metrics() {
                    Some(m) => scrape(m),
                    None => HttpResponse::NotFound().finish(),
                }
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(server)
}

#[cfg(test)]
mod tests;
