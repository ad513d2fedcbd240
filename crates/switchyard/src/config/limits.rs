//! `[limits]`: what protects a node from its clients — timeouts, sizes, counts.
//!
//! Two kinds of refusal follow from these (`crates/switchyard/src/http/error.rs`):
//! - a *quota* (streams per node, requests in flight per session, connections per IP,
//!   subscriptions per session) is 429 or 503 with `Retry-After`: waiting helps;
//! - a *shape* limit (header size, JSON depth, batch length, stored client data) is 4xx
//!   without `Retry-After`: the same request would be refused again.
//!
//! Every refusal's JSON-RPC error names the setting, so an operator knows what to raise.

use serde::{Deserialize, Serialize};

/// Limits that protect the node. Every field has a default fit for a node on the open
/// network; 0 turns a count limit off where the field says so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Milliseconds a client has to send a request's complete headers (from the connection's
    /// start, or from the previous response on a kept-alive connection); then the connection
    /// is closed (actix-web's `client_request_timeout`). Default 5000.
    pub header_timeout_ms: u64,
    /// Milliseconds a client has to send a request's whole body once its headers arrived; a
    /// body still incomplete then is answered 408 and the connection closed. Default 10000.
    pub body_timeout_ms: u64,
    /// Seconds an idle kept-alive connection (between requests) is kept open. Default 5.
    pub keep_alive_idle_secs: u64,
    /// Largest sum of header names and values in one request, in bytes; more gets 431.
    /// Default 16384. (actix-http itself closes a connection whose request head passes
    /// 128 KiB.)
    pub max_header_bytes: usize,
    /// Most header lines in one request; more gets 431. At most 96 (actix-http refuses more
    /// with 400 before the node sees the request). Default 64.
    pub max_headers: usize,
    /// Open connections one client IP may hold at once; a connection past it is answered 429
    /// and closed. Connections from `trusted_proxies` are not counted (a balancer carries
    /// many clients). 0 (the default): no limit — behind a balancer every connection comes
    /// from it; set this (e.g. 256) on a node clients reach directly.
    pub max_connections_per_ip: usize,
    /// Addresses (`10.0.0.5`) or networks (`10.0.0.0/8`) of proxies whose `X-Forwarded-For`
    /// is believed (`SWITCHYARD__LIMITS__TRUSTED_PROXIES`, comma-separated). The client's IP
    /// is then the right-most address of that header that is not itself a trusted proxy;
    /// from any other peer the header is ignored. Default: none.
    pub trusted_proxies: Vec<String>,
    /// Deepest nesting of arrays and objects accepted in a POST body; deeper gets 400.
    /// Default 64.
    pub max_json_depth: usize,
    /// Most messages in one JSON-RPC batch; more gets 413. Default 100.
    pub max_batch_len: usize,
    /// Largest `initialize` `clientInfo` plus `capabilities` (as JSON) a session may store;
    /// more gets 413. Default 16384.
    pub max_client_data_bytes: usize,
    /// Resource subscriptions one session may hold; a `resources/subscribe` past it is
    /// answered with a JSON-RPC error. Default 1000.
    pub max_subscriptions: usize,
    /// Long-lived streams (`GET /mcp`, `GET /sse`, `subscriptions/listen`) one node holds at
    /// once; past it 503 with `Retry-After`, so a balancer tries another node. 0: no limit.
    /// Default 15000.
    pub max_streams: usize,
    /// Requests of one session the backend runs at once on one node (what the node answers
    /// itself, like `ping`, is not counted); a POST that would pass it gets 429 with
    /// `Retry-After`. 0: no limit. Default 1024.
    pub max_inflight_per_session: usize,
    /// Requests per second one client IP (as [`LimitsConfig::trusted_proxies`] decides it)
    /// may send to the MCP endpoints, counted per node (GCRA); past it 429 with
    /// `Retry-After`. 0 (the default): no limit.
    pub rate_per_ip: u64,
    /// Requests per second one principal may send, counted per node; 0 (the default): no
    /// limit.
    pub rate_per_principal: u64,
    /// Requests a client may send at once above those rates. Default 50.
    pub rate_burst: u64,
    /// Bytes of decoded session records the node's session cache holds (Redis mode; each
    /// record weighs about its JSON size). Default 64 MiB.
    pub session_cache_bytes: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            header_timeout_ms: 5000,
            body_timeout_ms: 10_000,
            keep_alive_idle_secs: 5,
            max_header_bytes: 16 * 1024,
            max_headers: 64,
            max_connections_per_ip: 0,
            trusted_proxies: Vec::new(),
            max_json_depth: 64,
            max_batch_len: 100,
            max_client_data_bytes: 16 * 1024,
            max_subscriptions: 1000,
            max_streams: 15_000,
            max_inflight_per_session: 1024,
            rate_per_ip: 0,
            rate_per_principal: 0,
            rate_burst: 50,
            session_cache_bytes: 64 * 1024 * 1024,
        }
    }
}

/// actix-http's own ceiling on header lines.
pub const ACTIX_MAX_HEADERS: usize = 96;

impl LimitsConfig {
    /// Checks ranges; `Err` names the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.header_timeout_ms == 0 || self.body_timeout_ms == 0 {
            return Err(
                "limits.header_timeout_ms and limits.body_timeout_ms must be positive".into(),
            );
        }
        if !(1..=ACTIX_MAX_HEADERS).contains(&self.max_headers) {
            return Err(format!(
                "limits.max_headers must be between 1 and {ACTIX_MAX_HEADERS}"
            ));
        }
        if self.max_header_bytes < 1024 {
            return Err("limits.max_header_bytes must be at least 1024".into());
        }
        if self.max_json_depth < 4 || self.max_batch_len == 0 {
            return Err(
                "limits.max_json_depth must be at least 4 and limits.max_batch_len positive".into(),
            );
        }
        if self.max_client_data_bytes < 256 {
            return Err("limits.max_client_data_bytes must be at least 256".into());
        }
        for p in &self.trusted_proxies {
            crate::limits::parse_net(p).map_err(|e| format!("limits.trusted_proxies: {e}"))?;
        }
        Ok(())
    }
}
