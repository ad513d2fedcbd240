//! `auth.mode = "api_key"`: keys kept as SHA-256 digests, each naming a principal.
//!
//! A presented key is hashed and looked up by its digest, so the lookup takes the same path
//! whatever the key, and the file holds nothing that would let its reader call the node.

use std::collections::{BTreeSet, HashMap};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{AuthError, Principal};

/// The file's shape.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysFile {
    keys: Vec<KeyEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    name: String,
    sha256: String,
    #[serde(default)]
    scopes: BTreeSet<String>,
}

/// The known keys, by digest.
#[derive(Debug)]
pub struct ApiKeys {
    by_digest: HashMap<[u8; 32], Principal>,
}

impl ApiKeys {
    /// Reads `path` (see [`super::AuthConfig::api_keys_file`]).
    pub fn load(path: &str) -> Result<Self, AuthError> {
        let fail = |reason: String| AuthError::Keys {
            path: path.to_owned(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        Self::parse(&text).map_err(fail)
    }

    /// Parses the file's text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: KeysFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut by_digest = HashMap::new();
        for k in file.keys {
            let digest = hex32(&k.sha256)
                .ok_or_else(|| format!("key {:?}: sha256 must be 64 hex digits", k.name))?;
            if k.name.is_empty() || k.name.chars().any(char::is_control) {
                return Err("a key's name must be non-empty text".into());
            }
            let principal = Principal {
                name: k.name,
                scopes: k.scopes,
            };
            if by_digest.insert(digest, principal).is_some() {
                return Err("two entries have the same sha256".into());
            }
        }
        Ok(Self { by_digest })
    }

    /// The principal of `key`, if it is one of the file's.
    pub fn find(&self, key: &[u8]) -> Option<Principal> {
        let digest: [u8; 32] = Sha256::digest(key).into();
        self.by_digest.get(&digest).cloned()
    }
}

fn hex32(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in s.as_bytes().chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_by_digest_only() {
        // sha256("alice-key")
        let digest: String = Sha256::digest(b"alice-key")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let text = format!(
            r#"{{"keys": [{{"name": "alice", "sha256": "{digest}", "scopes": ["mcp:tools"]}}]}}"#
        );
        let keys = ApiKeys::parse(&text).expect("parses");
        let alice = keys.find(b"alice-key").expect("found");
        assert_eq!(alice.name, "alice");
        assert!(alice.scopes.contains("mcp:tools"));
        assert!(keys.find(b"alice-kez").is_none());
        assert!(
            keys.find(digest.as_bytes()).is_none(),
            "the digest is not a key"
        );
        assert!(ApiKeys::parse(r#"{"keys": [{"name": "a", "sha256": "zz"}]}"#).is_err());
        assert!(ApiKeys::parse(r#"{"keys": [], "extra": 1}"#).is_err());
    }
}
