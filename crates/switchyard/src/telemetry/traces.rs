//! OpenTelemetry traces: one SERVER span per MCP request, exported over OTLP (HTTP/protobuf).
//!
//! Off unless an endpoint is given: `otel.endpoint` (the collector's base URL; `/v1/traces`
//! is appended), or the standard `OTEL_EXPORTER_OTLP_ENDPOINT` /
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`. `OTEL_SDK_DISABLED=true` or
//! `OTEL_TRACES_EXPORTER=none` keep it off. The exporter honours the other `OTEL_EXPORTER_OTLP_*`
//! variables (headers, timeout), the SDK `OTEL_TRACES_SAMPLER*` and `OTEL_BSP_*`, and the
//! resource `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES` (service name `switchyard` when
//! neither names one). Off, [`server_span`] returns [`tracing::Span::none`] after one atomic
//! load: no span is built, no header parsed.
//!
//! Spans follow the OpenTelemetry semantic conventions for MCP: name
//! `{mcp.method.name} {target}` (the tool or prompt name), attributes `mcp.method.name`,
//! `mcp.session.id`, `mcp.protocol.version`, `jsonrpc.request.id`, `gen_ai.tool.name`,
//! `gen_ai.prompt.name`, `mcp.resource.uri`, `network.transport`, `server.address`,
//! `server.port`, and on the answer `error.type` (`tool_error` when `isError`) and
//! `rpc.response.status_code` (the JSON-RPC error code). Arguments and results are never
//! recorded. The parent is the W3C trace context in `params._meta` (`traceparent`,
//! `tracestate`, `baggage`, as 2026-07-28 reserves them) if valid, else the one in the HTTP
//! `traceparent`/`tracestate` headers; when both are there, `_meta` wins and the HTTP context is
//! added as a link. A malformed `traceparent` is ignored (a new trace starts), never refused.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::HttpRequest;
use opentelemetry::propagation::{Extractor, TextMapCompositePropagator, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde_json::{Map, Value};
use switchyard_protocol::jsonrpc::Request;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::config::OtelConfig;

static ENABLED: AtomicBool = AtomicBool::new(false);
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Whether spans are exported.
#[inline]
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Why tracing could not start.
#[derive(Debug, thiserror::Error)]
#[error("OTLP exporter: {0}")]
pub struct TraceError(String);

/// The endpoint tracing exports to, if it is on.
fn endpoint(cfg: &OtelConfig) -> Option<Option<String>> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if env("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"))
        || env("OTEL_TRACES_EXPORTER").is_some_and(|v| v == "none")
    {
        return None;
    }
    if !cfg.endpoint.is_empty() {
        let base = cfg.endpoint.trim_end_matches('/');
        return Some(Some(format!("{base}/v1/traces")));
    }
    let from_env = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some()
        || env("OTEL_EXPORTER_OTLP_ENDPOINT").is_some();
    from_env.then_some(None)
}

/// The `tracing` layer that turns spans into OpenTelemetry spans, when tracing is on.
pub fn layer<S>(
    cfg: &OtelConfig,
) -> Result<
    Option<tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::Tracer>>,
    TraceError,
>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let Some(endpoint) = endpoint(cfg) else {
        return Ok(None);
    };
    if let Ok(p) = std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL")
        && p != "http/protobuf"
    {
        eprintln!("OTEL_EXPORTER_OTLP_PROTOCOL={p} is not supported; exporting http/protobuf");
    }
    let mut builder = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary);
    if let Some(url) = endpoint {
        builder = builder.with_endpoint(url);
    }
    let exporter = builder.build().map_err(|e| TraceError(e.to_string()))?;
    let mut resource = opentelemetry_sdk::Resource::builder();
    let named = std::env::var_os("OTEL_SERVICE_NAME").is_some()
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|a| a.contains("service.name="));
    if !named {
        resource = resource.with_service_name("switchyard");
    }
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build();
    let tracer = provider.tracer("switchyard");
    let _ = PROVIDER.set(provider);
    ENABLED.store(true, Ordering::Relaxed);
    Ok(Some(tracing_opentelemetry::layer().with_tracer(tracer)))
}

/// Exports what is buffered; call before the process exits.
pub fn shutdown() {
    if let Some(p) = PROVIDER.get()
        && let Err(e) = p.shutdown()
    {
        eprintln!("OTLP exporter shutdown: {e}");
    }
}

fn propagator() -> TextMapCompositePropagator {
    TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ])
}

struct Headers<'a>(&'a actix_web::http::header::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

struct Meta<'a>(&'a Map<String, Value>);

impl Extractor for Meta<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

/// The SERVER span of one MCP request (or notification) in `session`, under `version`;
/// [`tracing::Span::none`] with tracing off. Instrument the work that answers it with it.
pub fn server_span(
    req: &HttpRequest,
    r: &Request,
    session: Option<&str>,
    version: &str,
) -> tracing::Span {
    if !enabled() {
        return tracing::Span::none();
    }
    let method = r.method.as_str();
    let param = |k: &str| r.param_str(k);
    let (tool, prompt, uri) = match method {
        "tools/call" => (param("name"), None, None),
        "prompts/get" => (None, param("name"), None),
        m if m.starts_with("resources/") => (None, None, param("uri")),
        _ => (None, None, None),
    };
    let name = match tool.or(prompt) {
        Some(target) => format!("{method} {target}"),
        None => method.to_owned(),
    };
    let id = serde_json::to_string(&r.id).unwrap_or_default();
    let info = req.connection_info();
    let host = info.host().to_owned();
    let (address, port) = match host.rsplit_once(':') {
        Some((a, p)) if p.parse::<u16>().is_ok() => (a.to_owned(), p.parse::<u16>().ok()),
        _ => (host.clone(), None),
    };
    let span = tracing::info_span!(
        "mcp.server",
        otel.name = %name,
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        mcp.method.name = method,
        mcp.session.id = session,
        mcp.protocol.version = version,
        jsonrpc.request.id = %id,
        gen_ai.tool.name = tool,
        gen_ai.prompt.name = prompt,
        mcp.resource.uri = uri,
        network.transport = "tcp",
        server.address = %address,
        server.port = port,
        error.type = tracing::field::Empty,
        rpc.response.status_code = tracing::field::Empty,
        trace_id = tracing::field::Empty,
        span_id = tracing::field::Empty,
    );
    let propagator = propagator();
    let from_http = propagator.extract(&Headers(req.headers()));
    let from_meta = r.meta().map(|m| propagator.extract(&Meta(m)));
    let http_valid = from_http.span().span_context().is_valid();
    match from_meta {
        Some(meta) if meta.span().span_context().is_valid() => {
            let _ = span.set_parent(meta);
            if http_valid {
                span.add_link(from_http.span().span_context().clone());
            }
        }
        _ if http_valid => {
            let _ = span.set_parent(from_http);
        }
        _ => {}
    }
    let cx = span.context();
    let sc = cx.span().span_context().clone();
    if sc.is_valid() {
        span.record("trace_id", sc.trace_id().to_string());
        span.record("span_id", sc.span_id().to_string());
    }
    span
}

/// Records a request's answer on the current span (`error.type`, the JSON-RPC code).
pub fn record_outcome(outcome: &Result<Value, switchyard_protocol::jsonrpc::ErrorObject>) {
    if !enabled() {
        return;
    }
    let span = tracing::Span::current();
    match outcome {
        Ok(v) if v.get("isError").and_then(Value::as_bool) == Some(true) => {
            span.record("error.type", "tool_error");
            span.record("otel.status_code", "ERROR");
        }
        Ok(_) => {}
        Err(e) => {
            span.record("error.type", e.code.to_string());
            span.record("rpc.response.status_code", e.code.to_string());
            span.record("otel.status_code", "ERROR");
        }
    }
}

/// The W3C `traceparent` of the current span, to carry in a bus envelope; `None` with
/// tracing off or outside a span.
pub fn current_traceparent() -> Option<String> {
    if !enabled() {
        return None;
    }
    let cx = tracing::Span::current().context();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = std::collections::HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    carrier.remove("traceparent")
}

/// The span of a node writing an event that another node produced to the stream it holds:
/// a CONSUMER child of the producer's span (`traceparent` from the envelope), linked to it.
pub fn deliver_span(node: &str, session: &str, stream: &str, traceparent: &str) -> tracing::Span {
    if !enabled() {
        return tracing::Span::none();
    }
    let mut carrier = std::collections::HashMap::new();
    carrier.insert("traceparent".to_owned(), traceparent.to_owned());
    let producer = TraceContextPropagator::new().extract(&carrier);
    let span = tracing::info_span!(
        "mcp.deliver",
        otel.name = "deliver event",
        otel.kind = "consumer",
        mcp.session.id = session,
        switchyard.node = node,
        switchyard.stream = stream,
    );
    let sc = producer.span().span_context().clone();
    if sc.is_valid() {
        let _ = span.set_parent(producer);
        span.add_link(sc);
    }
    span
}
