//! `[auth]`: who may use the node (`SWITCHYARD__AUTH__*`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How clients prove who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// Nobody is asked: every client is the principal `anonymous`. Fit for a node bound to
    /// loopback; a node bound elsewhere logs a loud warning at start.
    None,
    /// `Authorization: Bearer <key>`, the key one of `auth.api_keys_file`'s (kept there as
    /// SHA-256 digests, each naming a principal and its scopes).
    ApiKey,
    /// An OAuth 2.1 resource server: JWT access tokens from `auth.issuer`, checked against
    /// its JWKS (`auth.jwks_url`). Not built yet: a node configured with it refuses to start.
    Oauth,
}

/// Authentication settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// `none` (the default), `api_key` or `oauth` ([`AuthMode`]).
    pub mode: AuthMode,
    /// `oauth`: the authorization server's issuer URL, which tokens' `iss` must equal.
    pub issuer: String,
    /// `oauth`: the `aud` tokens must carry; empty: `auth.resource`.
    pub audience: String,
    /// `oauth`: this server's canonical resource URI (RFC 8707/9728), from configuration —
    /// never from the request, which a TLS-terminating balancer may have rewritten.
    pub resource: String,
    /// `oauth`: where the issuer's JSON Web Key Set is.
    pub jwks_url: String,
    /// `api_key`: a JSON file `{"keys": [{"name": "…", "sha256": "<hex>", "scopes":
    /// ["…"]}]}` — each key's SHA-256 digest (hex, e.g. `printf %s "$KEY" | sha256sum`),
    /// the principal it stands for, and its scopes. The keys themselves are never stored.
    pub api_keys_file: String,
    /// Scopes a principal needs to call a method (`{"tools/call" = ["mcp:tools"]}`), all of
    /// them; a method not listed needs none. A granted scope covers the scopes below it
    /// (`mcp` covers `mcp:tools` and `mcp:tools:write`). Checked for authenticated principals
    /// (not in mode `none`). Missing ones: 403 with `error="insufficient_scope"` naming every
    /// scope the request needs.
    pub method_scopes: BTreeMap<String, Vec<String>>,
    /// Scopes a principal needs to call a tool (`tools/call` with `params.name`), on top of
    /// the method's.
    pub tool_scopes: BTreeMap<String, Vec<String>>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            mode: AuthMode::None,
            issuer: String::new(),
            audience: String::new(),
            resource: String::new(),
            jwks_url: String::new(),
            api_keys_file: String::new(),
            method_scopes: BTreeMap::new(),
            tool_scopes: BTreeMap::new(),
        }
    }
}

impl AuthConfig {
    /// Checks that the mode has what it needs.
    pub fn validate(&self) -> Result<(), String> {
        match self.mode {
            AuthMode::None => Ok(()),
            AuthMode::ApiKey if self.api_keys_file.is_empty() => {
                Err("auth.mode = \"api_key\" needs auth.api_keys_file".into())
            }
            AuthMode::ApiKey => Ok(()),
            AuthMode::Oauth => Err(
                "auth.mode = \"oauth\" is not available in this build yet; use \"api_key\"".into(),
            ),
        }
    }
}
