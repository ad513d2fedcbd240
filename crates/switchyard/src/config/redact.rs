//! What `switchyard config check` prints: the configuration with every secret replaced.

use serde_json::Value;

use super::Config;

/// What a secret is printed as.
pub const REDACTED: &str = "<redacted>";

impl Config {
    /// The configuration as JSON with its secrets replaced by [`REDACTED`]: `admin.token`,
    /// `stateless.state_key`, and the password (and user) inside `redis.url`. An empty
    /// secret stays empty, so the output still tells set from unset. (API keys are never
    /// in the configuration: `auth.api_keys_file` holds only their digests.)
    pub fn redacted(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        for (section, field) in [("admin", "token"), ("stateless", "state_key")] {
            if let Some(slot) = v.get_mut(section).and_then(|s| s.get_mut(field)) {
                redact(slot);
            }
        }
        if let Some(url) = v.get_mut("redis").and_then(|r| r.get_mut("url"))
            && let Some(text) = url.as_str()
        {
            *url = Value::String(redact_url(text));
        }
        v
    }
}

fn redact(slot: &mut Value) {
    match slot {
        Value::String(s) if !s.is_empty() => *s = REDACTED.to_owned(),
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// `scheme://user:password@host…` → `scheme://<redacted>@host…`; anything else unchanged.
pub(super) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://{REDACTED}@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_secret_is_replaced_and_unset_ones_stay_empty() {
        let mut cfg = Config::default();
        let printed = cfg.redacted();
        assert_eq!(printed["admin"]["token"], "");
        cfg.admin.token = "admin-secret".into();
        cfg.stateless.state_key =
            super::super::StateKey::Rotation(vec!["state-secret".into(), "old-secret".into()]);
        cfg.redis.url = "redis://user:redis-secret@db.example:6379/0".into();
        let printed = cfg.redacted().to_string();
        for secret in [
            "admin-secret",
            "state-secret",
            "old-secret",
            "redis-secret",
            "user:",
        ] {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
        assert!(
            printed.contains("redis://<redacted>@db.example:6379/0"),
            "{printed}"
        );
        assert_eq!(
            redact_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
        assert_eq!(
            redact_url("redis+cluster://:pw@h1:1,h2:2"),
            "redis+cluster://<redacted>@h1:1,h2:2"
        );
    }
}
