//! How upstreams are configured: `[[upstreams]]` tables and the `[gateway]` table of
//! `switchyard.toml`, and the `--upstream NAME=URL` flag.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How Switchyard talks to an upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Detected at start: `initialize` is tried; an answer with an `Mcp-Session-Id`, or an
    /// SSE answer, is `streamable-http`; a plain JSON answer without a session is `json-rpc`;
    /// an upstream that names only the 2026-07-28 revision is refused.
    #[default]
    Auto,
    /// Streamable HTTP of the session revisions (2025-03-26, 2025-06-18, 2025-11-25): one
    /// upstream session per client session, JSON or SSE answers.
    StreamableHttp,
    /// Plain JSON-RPC over POST, no sessions, no streams (e.g. a Rails controller answering
    /// JSON).
    JsonRpc,
    /// A command speaking MCP on stdin/stdout, one JSON-RPC message per line: spawned once
    /// per node, shared by all its client sessions, restarted with backoff when it exits.
    Stdio,
    /// The 2024-11-05 HTTP+SSE transport (not served yet: refused at start).
    HttpSse,
}

impl Kind {
    /// The name used in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Auto => "auto",
            Kind::StreamableHttp => "streamable-http",
            Kind::JsonRpc => "json-rpc",
            Kind::Stdio => "stdio",
            Kind::HttpSse => "http-sse",
        }
    }
}

/// One upstream MCP server (`[[upstreams]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpstreamConfig {
    /// The upstream's name: in logs, errors, the state it adds to sessions, and the default
    /// prefix of its tools and prompts. Letters, digits, `_` and `-`. Required.
    pub name: String,
    /// Its MCP endpoint, e.g. `http://127.0.0.1:3000/mcp` (plain `http://`).
    pub url: String,
    /// The command of a `stdio` upstream, program first, e.g.
    /// `["npx", "-y", "@modelcontextprotocol/server-everything"]`.
    pub command: Vec<String>,
    /// See [`Kind`]. Default `auto`.
    pub kind: Kind,
    /// The prefix of its tools' and prompts' names when several upstreams are federated;
    /// empty (the default): the name.
    pub prefix: String,
    /// Headers sent with every request to it, e.g. an API key. A client's `Authorization`
    /// is never passed through.
    pub headers: BTreeMap<String, String>,
    /// Headers whose values are read from environment variables at start (header name →
    /// variable name), so credentials stay out of the file. A variable that is not set
    /// stops the node at start.
    pub headers_env: BTreeMap<String, String>,
    /// Milliseconds a TCP connection to it may take. Default 2000.
    pub connect_timeout_ms: u64,
    /// Milliseconds the upstream may stay silent while answering (before its answer's
    /// headers, and between the events of an SSE answer): past that the request fails with
    /// a JSON-RPC error naming the upstream. Default 30000.
    pub request_timeout_ms: u64,
    /// Extra attempts for idempotent calls (`*/list`, `resources/read`, `prompts/get`,
    /// `completion/complete`, `ping`) that failed to reach it; never for `tools/call`.
    /// Default 2.
    pub retries: u32,
    /// Consecutive failures to reach it after which its circuit opens: its calls then fail
    /// at once with a JSON-RPC error naming it. Default 3.
    pub breaker_failures: u32,
    /// Milliseconds an open circuit stays open before one call is let through to try it
    /// again. Default 5000.
    pub breaker_open_ms: u64,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        Self {
            name: String::new(),
            url: String::new(),
            command: Vec::new(),
            kind: Kind::Auto,
            prefix: String::new(),
            headers: BTreeMap::new(),
            headers_env: BTreeMap::new(),
            connect_timeout_ms: 2000,
            request_timeout_ms: 30_000,
            retries: 2,
            breaker_failures: 3,
            breaker_open_ms: 5000,
        }
    }
}

impl UpstreamConfig {
    /// The prefix in force: [`UpstreamConfig::prefix`], or the name.
    pub fn prefix(&self) -> &str {
        if self.prefix.is_empty() {
            &self.name
        } else {
            &self.prefix
        }
    }

    /// An upstream from the `--upstream NAME=URL` flag (kind detected).
    pub fn from_flag(flag: &str) -> Result<Self, String> {
        let (name, url) = flag
            .split_once('=')
            .ok_or_else(|| format!("--upstream {flag:?}: expected NAME=URL"))?;
        Ok(Self {
            name: name.trim().to_owned(),
            url: url.trim().to_owned(),
            ..Self::default()
        })
    }
}

/// How names are exposed when several upstreams (or built-ins) sit behind one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NameMode {
    /// Every tool and prompt is `<prefix><separator><name>`.
    #[default]
    Prefixed,
    /// A name only one member has is exposed as it is; names several have are prefixed.
    UnprefixedWhenUnique,
}

/// The `[gateway]` table: how upstreams are served together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    /// Between a prefix and a name. Default `__`.
    pub separator: String,
    /// See [`NameMode`]. Default `prefixed`.
    pub names: NameMode,
    /// Built-in backends (`demo`, `everything`) served beside the upstreams, each named and
    /// prefixed by its own name. Default none. (With no upstream configured, `backend` is
    /// served alone, as always.)
    pub builtins: Vec<String>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            separator: "__".into(),
            names: NameMode::Prefixed,
            builtins: Vec::new(),
        }
    }
}

/// Whether `s` is a usable upstream name or prefix: letters, digits, `_`, `-`, 1–32 chars.
pub fn valid_name(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Checks a set of upstreams and the gateway table; the message says what to change.
pub fn validate(upstreams: &[UpstreamConfig], gateway: &GatewayConfig) -> Result<(), String> {
    let mut names = std::collections::BTreeSet::new();
    let mut prefixes = std::collections::BTreeSet::new();
    for u in upstreams {
        if !valid_name(&u.name) {
            return Err(format!(
                "upstreams: name {:?} must be 1-32 letters, digits, '_' or '-'",
                u.name
            ));
        }
        if !valid_name(u.prefix()) {
            return Err(format!(
                "upstreams.{}: prefix {:?} must be 1-32 letters, digits, '_' or '-'",
                u.name, u.prefix
            ));
        }
        if !names.insert(u.name.as_str()) {
            return Err(format!("upstreams: the name {:?} is used twice", u.name));
        }
        if !prefixes.insert(u.prefix().to_owned()) {
            return Err(format!(
                "upstreams.{}: the prefix {:?} is used twice",
                u.name,
                u.prefix()
            ));
        }
        match u.kind {
            Kind::Stdio if u.command.is_empty() => {
                return Err(format!("upstreams.{}: kind stdio needs a command", u.name));
            }
            Kind::Stdio => {}
            _ if u.url.is_empty() => {
                return Err(format!("upstreams.{}: url is required", u.name));
            }
            _ if !u.url.starts_with("http://") => {
                return Err(format!(
                    "upstreams.{}: url {:?} must be an http:// URL",
                    u.name, u.url
                ));
            }
            _ => {}
        }
        if u.request_timeout_ms == 0 || u.connect_timeout_ms == 0 {
            return Err(format!(
                "upstreams.{}: connect_timeout_ms and request_timeout_ms must be positive",
                u.name
            ));
        }
        if u.breaker_failures == 0 {
            return Err(format!(
                "upstreams.{}: breaker_failures must be at least 1",
                u.name
            ));
        }
    }
    for b in &gateway.builtins {
        if !matches!(b.as_str(), "demo" | "everything") {
            return Err(format!(
                "gateway.builtins: {b:?} is not a built-in (demo or everything)"
            ));
        }
        if !prefixes.insert(b.clone()) {
            return Err(format!(
                "gateway.builtins: {b:?} is also an upstream's prefix"
            ));
        }
    }
    if gateway.separator.is_empty() || gateway.separator.len() > 4 {
        return Err("gateway.separator must be 1-4 characters".into());
    }
    if !gateway
        .separator
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
    {
        return Err("gateway.separator may hold only letters, digits, '_', '-' and '.'".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_validation() {
        let u = UpstreamConfig::from_flag("rails=http://127.0.0.1:3000/mcp").expect("flag");
        assert_eq!(u.name, "rails");
        assert_eq!(u.url, "http://127.0.0.1:3000/mcp");
        assert_eq!(u.kind, Kind::Auto);
        assert!(UpstreamConfig::from_flag("no-equals").is_err());
        let g = GatewayConfig::default();
        validate(std::slice::from_ref(&u), &g).expect("valid");
        assert!(
            validate(&[u.clone(), u.clone()], &g).is_err(),
            "same name twice"
        );
        let mut bad = u.clone();
        bad.url = "ftp://x".into();
        assert!(validate(&[bad], &g).is_err());
        let mut bad = u.clone();
        bad.name = "has space".into();
        assert!(validate(&[bad], &g).is_err());
        let mut other = u.clone();
        other.name = "other".into();
        other.prefix = "rails".into();
        assert!(
            validate(&[u.clone(), other], &g).is_err(),
            "same prefix twice"
        );
        let g = GatewayConfig {
            builtins: vec!["nope".into()],
            ..GatewayConfig::default()
        };
        assert!(validate(&[u], &g).is_err());
    }
}
