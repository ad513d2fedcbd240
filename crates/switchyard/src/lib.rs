//! A Switchyard node: MCP's Streamable HTTP (the session revisions 2025-03-26, 2025-06-18,
//! 2025-11-25 and the stateless 2026-07-28) and HTTP+SSE (2024-11-05) transports on stateless
//! actix-web workers, with every piece of per-client
//! state behind the `switchyard-state` contracts.
//!
//! # Layout
//!
//! - [`config`]: layered configuration (defaults < `switchyard.toml` < `SWITCHYARD__*` < flags).
//! - [`node`]: the [`Node`] — backend, state, and the operations transports share.
//! - [`dispatch`]: what happens to each client message inside a session.
//! - [`exchange`]: one request's life: backend output, client answers, cancellation.
//! - [`mrtr`]: multi round-trip requests (2026-07-28): the stateless peer, `requestState`.
//! - [`http`]: routes, header rules, SSE bodies, the error → status mapping.
//! - [`telemetry`]: Prometheus metrics and the log format.

pub mod config;
pub mod dispatch;
pub mod exchange;
pub mod http;
pub mod mrtr;
pub mod node;
pub mod telemetry;

use std::future::Future;
use std::net::TcpListener;
use std::sync::Arc;

use actix_web::{App, HttpServer, web};

pub use config::Config;
pub use node::Node;

/// Serves `node` on `listener` until `shutdown` resolves, then stops gracefully: no new
/// connections, the node's running tasks (requests, stream writers, relays) get up to
/// five seconds to finish, then open connections as long again.
///
/// Tests and `main` share this entry: tests bind `127.0.0.1:0` themselves.
pub async fn serve(
    listener: TcpListener,
    node: Arc<Node>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let max_body = node.config.http.max_body_bytes;
    let node_id = node.id.clone();
    let workers = node.config.http.worker_count();
    let tasks = node.tasks.clone();
    // The factory runs once on each worker's thread (and again if actix-web restarts a
    // worker's service): each worker gets its own node handle, whose Redis connections are
    // made and driven by that worker's runtime.
    let server = HttpServer::new(move || {
        App::new()
            .wrap(
                actix_web::middleware::DefaultHeaders::new()
                    .add(("X-Switchyard-Node", node_id.clone())),
            )
            .app_data(web::Data::new(node.for_worker()))
            .app_data(web::PayloadConfig::new(max_body))
            .configure(http::routes)
    })
    .shutdown_timeout(SHUTDOWN_TIMEOUT.as_secs())
    // `shutdown` decides when to stop; actix-web's own signal handling would stop the
    // workers without waiting for the node's tasks.
    .disable_signals()
    // SSE events are small writes on otherwise idle connections: without this, each waits
    // for the peer's delayed ACK (~40 ms on Linux).
    .tcp_nodelay(true)
    // Always set, so that the count Redis' pool was sized for is the count that runs.
    .workers(workers);
    let server = server.listen(listener)?.run();
    let handle = server.handle();
    actix_web::rt::spawn(async move {
        shutdown.await;
        if let Some(m) = telemetry::metrics() {
            m.set_draining(true);
        }
        // No new connections; the requests still running finish (their tasks are on the
        // workers, which stop below) within the shutdown timeout.
        handle.pause().await;
        tasks.close();
        if tokio::time::timeout(SHUTDOWN_TIMEOUT, tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                running = tasks.len(),
                "stopping with tasks still running after {SHUTDOWN_TIMEOUT:?}"
            );
        }
        handle.stop(true).await;
    });
    server.await
}

/// How long a stopping node waits for its running tasks, then for its connections.
const SHUTDOWN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
