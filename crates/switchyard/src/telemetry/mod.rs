//! What an operator sees of a node: Prometheus metrics on `/metrics`, logs, traces.
//!
//! # Layout
//!
//! - [`metrics`]: the node's metrics (one process-wide registry, off unless
//!   `metrics.enabled`), the helpers the request path calls, and the `/metrics` endpoint.
//! - [`logs`]: the `tracing` subscriber, plain text or JSON lines (`log.format`).
//! - [`traces`]: OpenTelemetry SERVER spans per MCP request, exported over OTLP/HTTP.

pub mod logs;
pub mod metrics;
pub mod traces;

pub use metrics::{Metrics, metrics};
