//! A Switchyard node: MCP's Streamable HTTP (the session revisions 2025-03-26, 2025-06-18,
//! 2025-11-25 and the stateless 2026-07-28) and HTTP+SSE (2024-11-05) transports on stateless
//! actix-web workers, with every piece of per-client
//! state behind the `switchyard-state` contracts.
//!
//! # Layout
//!
//! - [`auth`]: who is asking (`auth.mode`): the principal sessions are bound to.
//! - [`config`]: layered configuration (defaults < `switchyard.toml` < `SWITCHYARD__*` < flags).
//! - [`node`]: the [`Node`] — backend, state, and the operations transports share.
//! - [`dispatch`]: what happens to each client message inside a session.
//! - [`exchange`]: one request's life: backend output, client answers, cancellation.
//! - [`limits`]: the counters behind `[limits]` (streams, requests in flight, connections).
//! - [`mrtr`]: multi round-trip requests (2026-07-28): the stateless peer, `requestState`.
//! - [`http`]: routes, header rules, SSE bodies, the error → status mapping.

pub mod auth;
pub mod config;
pub mod dispatch;
pub mod exchange;
pub mod http;
pub mod limits;
pub mod mrtr;
pub mod node;

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
    serve_with_admin(listener, None, node, shutdown).await
}

/// [`serve`], with the push API on a listener of its own (`admin.bind`) when `admin` is
/// given: `/admin/…` is answered there only, and that listener answers nothing else (404).
pub async fn serve_with_admin(
    listener: TcpListener,
    admin: Option<TcpListener>,
    node: Arc<Node>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let admin_addr = admin.as_ref().map(TcpListener::local_addr).transpose()?;
    let max_body = node.config.http.max_body_bytes;
    let node_id = node.id.clone();
    let workers = node.config.http.worker_count();
    let tasks = node.tasks.clone();
    let limits = node.config.limits.clone();
    let on_connect = http::guard::on_connect(&node.limits);
    // The factory runs once on each worker's thread (and again if actix-web restarts a
    // worker's service): each worker gets its own node handle, whose Redis connections are
    // made and driven by that worker's runtime.
    let server = HttpServer::new(move || {
        App::new()
            // Inner: its refusals get the node header below too.
            .wrap(actix_web::middleware::from_fn(http::guard::guard))
            .wrap(
                actix_web::middleware::DefaultHeaders::new()
                    .add(("X-Switchyard-Node", node_id.clone())),
            )
            .app_data(web::Data::new(node.for_worker()))
            .app_data(web::Data::new(http::guard::AdminListener(admin_addr)))
            .app_data(web::PayloadConfig::new(max_body))
            .configure(http::routes)
    })
    .shutdown_timeout(SHUTDOWN_TIMEOUT.as_secs())
    // A client has this long for a request's headers; its body has `limits.body_timeout_ms`
    // more (`http::read_message`); an idle kept-alive connection is closed after this.
    .client_request_timeout(std::time::Duration::from_millis(limits.header_timeout_ms))
    .keep_alive(std::time::Duration::from_secs(limits.keep_alive_idle_secs))
    .on_connect(on_connect)
    // `shutdown` decides when to stop; actix-web's own signal handling would stop the
    // workers without waiting for the node's tasks.
    .disable_signals()
    // SSE events are small writes on otherwise idle connections: without this, each waits
    // for the peer's delayed ACK (~40 ms on Linux).
    .tcp_nodelay(true)
    // Always set, so that the count Redis' pool was sized for is the count that runs.
    .workers(workers);
    let mut server = server.listen(listener)?;
    if let Some(admin) = admin {
        server = server.listen(admin)?;
    }
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(async move {
        shutdown.await;
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
