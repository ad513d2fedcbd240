//! Who is asking: the principal of every MCP request (`auth.mode`).
//!
//! The guard middleware ([`crate::http::guard`]) authenticates every request to the MCP
//! endpoints (`/mcp`, `/sse`, `/messages`) and puts its [`Principal`] in the request's
//! extensions; a missing or invalid credential is 401 with `WWW-Authenticate`. Sessions are
//! bound to the principal that created them ([`crate::http::session`]): another principal's
//! session id is answered exactly as an unknown one (404), on every node.
//!
//! # Layout
//!
//! - [`config`]: the `[auth]` section.
//! - [`scopes`]: the scopes a request needs, per method and per tool.
//! - [`api_key`]: keys kept as SHA-256 digests in a file, each naming a principal.

pub mod api_key;
pub mod config;
pub mod scopes;

use std::collections::BTreeSet;

pub use config::{AuthConfig, AuthMode};

use crate::http::{HttpError, Refusal};

/// Who a request comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The name sessions are bound to (and bus channels carry): `anonymous` in mode `none`,
    /// the key's name in `api_key`.
    pub name: String,
    /// What it may do.
    pub scopes: BTreeSet<String>,
}

/// The principal of every request in mode `none`.
pub const ANONYMOUS: &str = "anonymous";

impl Principal {
    /// The principal of mode `none`.
    pub fn anonymous() -> Self {
        Self {
            name: ANONYMOUS.to_owned(),
            scopes: BTreeSet::new(),
        }
    }
}

/// Why the authenticator could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// `auth.api_keys_file` could not be read or parsed.
    #[error("auth.api_keys_file {path}: {reason}")]
    Keys {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// The node's authenticator.
#[derive(Debug)]
pub enum Auth {
    /// Mode `none`.
    None,
    /// Mode `api_key`.
    ApiKey(api_key::ApiKeys),
}

impl Auth {
    /// The authenticator `config` describes.
    pub fn from_config(config: &AuthConfig) -> Result<Auth, AuthError> {
        Ok(match config.mode {
            AuthMode::None | AuthMode::Oauth => Auth::None,
            AuthMode::ApiKey => Auth::ApiKey(api_key::ApiKeys::load(&config.api_keys_file)?),
        })
    }

    /// The principal behind `authorization` (the `Authorization` header, if any): 401 when
    /// it is missing or not a known credential.
    pub fn authenticate(&self, authorization: Option<&[u8]>) -> Result<Principal, HttpError> {
        match self {
            Auth::None => Ok(Principal::anonymous()),
            Auth::ApiKey(keys) => {
                let challenge = |error: Option<&str>| {
                    let mut c = "Bearer realm=\"switchyard\"".to_owned();
                    if let Some(e) = error {
                        c.push_str(&format!(", error=\"{e}\""));
                    }
                    HttpError::from(Refusal::Unauthenticated { challenge: c })
                };
                let Some(token) =
                    authorization.and_then(switchyard_protocol::headers::bearer_token)
                else {
                    return Err(challenge(None));
                };
                keys.find(token)
                    .ok_or_else(|| challenge(Some("invalid_token")))
            }
        }
    }
}
