//! What an operator sees of a fleet, checked with the real tools.
//!
//! - `fleet`: three nodes on one Redis behind nginx, scraped by Debian's `prometheus`; a
//!   scripted workload runs and PromQL over the scraped series returns its counts.
//! - `endpoint`: `/metrics` on one node: the OpenMetrics text, `metrics.enabled = false`,
//!   and `metrics.bind` (its own listener; the main one answers 404).
//! - `logs`: `log.format = "json"` gives one JSON object per line; a refused request is one
//!   line with its status and reason, and no body.
//! - `deploy`: `promtool check rules` on `deploy/`'s alert rules; every metric they and the
//!   Grafana dashboard query is exported by a node.
//! - `traces`: OTLP/HTTP spans to a receiver fixture: names, attributes, parents (`_meta` over
//!   the header, linked), a malformed `traceparent` ignored, one trace over two nodes.
//! - `traces_bus`: one trace over two nodes on Redis: the node delivering an event from the bus
//!   records a span that is a child of, and linked to, the producing node's SERVER span.
//! - `support`: a raw Streamable HTTP client for these tests.

mod deploy;
mod endpoint;
mod fleet;
mod logs;
mod support;
mod traces;
mod traces_bus;
