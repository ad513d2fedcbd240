//! Test support for cross-process tests: real `switchyard` nodes on loopback ports, external
//! clients (the official SDKs, the conformance suite) run with deadlines, and a proxy that
//! drops a connection mid-stream on purpose.
//!
//! Everything a test starts is owned by a guard whose `Drop` kills it, so a failing assertion
//! never leaves a process behind.
//!
//! # Layout
//!
//! - `paths`: where the workspace, the `switchyard` binary, the tests' pinned Node 22 and the
//!   interop drivers live.
//! - `node`: [`Node`], a `switchyard serve` child bound to `127.0.0.1:0`.
//! - `command`: [`run`], an external program with a deadline and captured output.
//! - `proxy`: [`CutProxy`], a TCP proxy that cuts one connection after a marker goes by.
//! - `sse`: [`SseReader`], server-sent events from a `reqwest::Response`.
//! - `cluster`: [`Cluster`], nodes sharing one Redis behind an nginx balancer; built from
//!   `redis` ([`RedisServer`], with AOF, restartable; `resp` speaks to it) and `nginx`
//!   ([`Nginx`]).
//! - `markers`: [`marked`] notifications, to count which message arrived how often.
//! - `signal`: [`Signal`]s to child processes; free ports.
//! - `faults`: what a fault-injecting test does to a [`Cluster`]: a node stopped and started
//!   again on its own port, Redis pub/sub connections killed, keys deleted.
//! - `fixture`: [`Fixture`], upstream fixtures: the Rails-style plain JSON-RPC endpoint and
//!   a TypeScript SDK v1 server.
//! - `drivers`: the SDK interop drivers as commands, for any URL.
//! - `otlp`: [`OtlpReceiver`], an OTLP/HTTP trace receiver that decodes what nodes export.
//! - `prometheus`: [`Prometheus`], Debian's `prometheus` scraping nodes, queried with PromQL.
//! - `conformance`: the MCP conformance suite against any URL, and its strict-baseline
//!   judgement.

mod cluster;
mod command;
pub mod conformance;
pub mod drivers;
mod faults;
mod fixture;
mod markers;
mod nginx;
mod node;
mod otlp;
mod paths;
mod prometheus;
mod proxy;
mod redis;
mod resp;
mod signal;
mod sse;

pub use cluster::{ADMIN_TOKEN, Cluster, ClusterBuilder, STATE_KEY};
pub use command::{Finished, run};
pub use fixture::Fixture;
pub use markers::{marked, marker_of};
pub use nginx::Nginx;
pub use node::{Node, NodeBuilder};
pub use otlp::{OtlpReceiver, ReceivedSpan};
pub use paths::{
    conformance_dir, interop_dir, node_bin_dir, path_with_node, switchyard_bin, workspace_root,
};
pub use prometheus::Prometheus;
pub use proxy::CutProxy;
pub use redis::RedisServer;
pub use resp::Reply;
pub use signal::{Signal, free_port};
pub use sse::SseReader;
