//! Upstream MCP servers as Switchyard backends: a Rails controller answering plain JSON-RPC,
//! an SDK server speaking Streamable HTTP, several of them federated behind one endpoint.
//!
//! An upstream is a [`switchyard_backend::Backend`] like the built-ins; what it adds is state
//! that must outlive any node — the upstream session of each client session — which it keeps
//! in the client's session record through the state contracts
//! ([`switchyard_state::SessionStore::swap_upstream`]), never in a node and never by talking
//! to Redis itself.
//!
//! # Layout
//!
//! - [`config`]: `[[upstreams]]`, `[gateway]`, the `--upstream NAME=URL` flag.
//! - [`upstream`]: [`Upstream`], one server over HTTP (kinds `streamable-http`, `json-rpc`;
//!   detection; lazy upstream sessions; re-initialize on 404; relaying what it sends).
//! - [`http`]: the pooled HTTP client and the JSON/SSE answer reader.
//! - [`stdio`]: [`stdio::StdioUpstream`], a command spawned once per node, shared, restarted
//!   with backoff.
//! - [`breaker`]: the circuit breaker per upstream.
//! - [`federation`]: [`Federation`], several backends as one (names, routing, merging).
//! - [`names`]: the exposed names, ≤ 64 characters, deterministic.
//! - [`relay`]: an upstream's notifications — change notices to the node's fan-out, the rest
//!   to the request's stream.

pub mod breaker;
pub mod config;
pub mod federation;
pub mod http;
pub mod names;
pub mod relay;
pub mod stdio;
pub mod upstream;

use std::sync::Arc;

use switchyard_backend::Backend;
use switchyard_state::SessionStore;

pub use config::{GatewayConfig, Kind, NameMode, UpstreamConfig};
pub use federation::{Federation, Member};
pub use upstream::{StartError, Upstream};

/// The backend serving `upstreams` and the `builtins` (name, backend) beside them: the one
/// member itself when there is only one (names untouched: a transparent proxy), else a
/// [`Federation`] of all, upstreams first.
pub async fn gateway(
    upstreams: &[UpstreamConfig],
    gateway: &GatewayConfig,
    builtins: Vec<(String, Arc<dyn Backend>)>,
    sessions: Arc<dyn SessionStore>,
) -> Result<Arc<dyn Backend>, StartError> {
    let lists = Arc::new(relay::ListGeneration::default());
    let mut members = Vec::new();
    for cfg in upstreams {
        let prefix = cfg.prefix().to_owned();
        let backend: Arc<dyn Backend> = if cfg.kind == Kind::Stdio {
            stdio::StdioUpstream::start(cfg.clone(), lists.clone()).await?
        } else {
            Arc::new(Upstream::start(cfg.clone(), sessions.clone(), lists.clone()).await?)
        };
        members.push(Member {
            name: cfg.name.clone(),
            prefix,
            backend,
        });
    }
    for (name, backend) in builtins {
        members.push(Member {
            prefix: name.clone(),
            name,
            backend,
        });
    }
    if members.len() == 1
        && let Some(m) = members.pop()
    {
        return Ok(m.backend);
    }
    Ok(Arc::new(Federation::new(
        members,
        &gateway.separator,
        gateway.names,
        lists,
    )))
}
