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
//! - [`health`]: `/livez`, `/readyz` and the drain's signals to streams.
//! - [`http`]: routes, header rules, SSE bodies, the error → status mapping.
//! - [`telemetry`]: Prometheus metrics and the log format.

pub mod auth;
pub mod config;
pub mod dispatch;
pub mod exchange;
pub mod health;
pub mod http;
pub mod limits;
pub mod mrtr;
pub mod node;
pub mod telemetry;

use std::future::Future;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpServer, web};

pub use config::Config;
pub use node::Node;

/// Serves `node` on `listener` until `shutdown` resolves, then drains (the steps are in
/// [`config::ShutdownConfig`]): `/readyz` answers 503 at once and every answer carries
/// `Connection: close`; after `shutdown.drain_delay_secs` every SSE stream no running
/// request feeds ends with `retry:`; the node's running tasks (requests, stream writers,
/// relays) get up to `shutdown.timeout_secs`; then the remaining streams end the same way
/// and the server stops.
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
    let health = node.health.clone();
    let drain_delay = Duration::from_secs(node.config.shutdown.drain_delay_secs);
    let timeout = Duration::from_secs(node.config.shutdown.timeout_secs);
    let in_memory = node.in_memory();
    let lost = node.clone();
    let checked = node.clone();
    // The factory runs once on each worker's thread (and again if actix-web restarts a
    // worker's service): each worker gets its own node handle, whose Redis connections are
    // made and driven by that worker's runtime.
    let server = HttpServer::new(move || {
        let health = node.health.clone();
        App::new()
            // Inner: its refusals get the node header below too.
            .wrap(actix_web::middleware::from_fn(http::guard::guard))
            .wrap(
                actix_web::middleware::DefaultHeaders::new()
                    .add(("X-Switchyard-Node", node_id.clone())),
            )
            // A draining node asks every client (and the balancer's pooled connections) not
            // to come back on the same connection.
            .wrap_fn(move |req, srv| {
                let draining = health.is_draining();
                let fut = actix_web::dev::Service::call(srv, req);
                async move {
                    let mut res = fut.await?;
                    if draining {
                        res.response_mut()
                            .head_mut()
                            .set_connection_type(actix_web::http::ConnectionType::Close);
                    }
                    Ok(res)
                }
            })
            .app_data(web::Data::new(node.for_worker()))
            .app_data(web::Data::new(http::guard::AdminListener(admin_addr)))
            .app_data(web::PayloadConfig::new(max_body))
            .configure(http::routes)
    })
    // A client has this long for a request's headers; its body has `limits.body_timeout_ms`
    // more (`http::read_message`); an idle kept-alive connection is closed after this.
    .client_request_timeout(std::time::Duration::from_millis(limits.header_timeout_ms))
    .keep_alive(std::time::Duration::from_secs(limits.keep_alive_idle_secs))
    .on_connect(on_connect)
    // By the time the server stops, the drain has ended every stream and waited for the
    // node's tasks: what is left are idle keep-alive connections.
    .shutdown_timeout(1)
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
    // The readiness check: on the main thread's state handle, never on a probe's path.
    let interval = Duration::from_millis(checked.config.health.check_interval_ms);
    actix_web::rt::spawn(async move {
        let node = checked.clone();
        checked
            .health
            .watch(interval, move || {
                let node = node.clone();
                async move { node.check_state().await }
            })
            .await;
    });
    actix_web::rt::spawn(async move {
        shutdown.await;
        health.start_draining();
        if let Some(m) = telemetry::metrics() {
            m.set_draining(true);
        }
        tracing::info!(
            delay = ?drain_delay,
            "draining: /readyz answers 503; streams end after the drain delay"
        );
        if in_memory {
            tracing::warn!(
                sessions = lost.memory_sessions().unwrap_or(0),
                running = tasks.len(),
                "state is in memory: every session, stream and event log of this node ends \
                 with it; their clients must start new sessions (keep state in Redis to \
                 drain without losing them)"
            );
        }
        tokio::time::sleep(drain_delay).await;
        health.end_streams();
        tasks.close();
        if tokio::time::timeout(timeout, tasks.wait()).await.is_err() {
            tracing::warn!(
                running = tasks.len(),
                "stopping with tasks still running after {timeout:?}: their streams end \
                 now; a client resuming one elsewhere gets what they logged, then a \
                 JSON-RPC error once their producer lease lapses"
            );
        }
        health.end_request_streams();
        // Let the streams just ended write their last bytes.
        tokio::task::yield_now().await;
        handle.stop(true).await;
        tracing::info!("stopped");
    });
    server.await
}
