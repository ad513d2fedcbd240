//! What an operator sees of a node: Prometheus metrics on `/metrics` and the log format.
//!
//! # Layout
//!
//! - [`metrics`]: the node's metrics (one process-wide registry, off unless
//!   `metrics.enabled`), the helpers the request path calls, and the `/metrics` endpoint.
//! - [`logs`]: the `tracing` subscriber, plain text or JSON lines (`log.format`).

pub mod logs;
pub mod metrics;

pub use metrics::{Metrics, metrics};
