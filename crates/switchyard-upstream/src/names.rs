//! Exposed names of federated tools and prompts: pure functions of (prefix, name), so every
//! node and every restart agrees without coordination.

use sha2::{Digest, Sha256};

/// The longest name exposed to clients (many clients refuse longer tool names).
pub const MAX_NAME: usize = 64;

/// Hex digits of the hash suffix a shortened name ends with.
const HASH_HEX: usize = 8;

/// `name` kept within [`MAX_NAME`] characters: itself when short enough, otherwise its first
/// characters, `_` and eight hex digits of the SHA-256 of the whole name — deterministic, and
/// distinct for distinct long names (but for a 32-bit hash collision).
pub fn shorten(name: &str) -> String {
    if name.chars().count() <= MAX_NAME {
        return name.to_owned();
    }
    let digest = Sha256::digest(name.as_bytes());
    let hex: String = digest
        .iter()
        .take(HASH_HEX / 2)
        .map(|b| format!("{b:02x}"))
        .collect();
    let keep: String = name.chars().take(MAX_NAME - HASH_HEX - 1).collect();
    format!("{keep}_{hex}")
}

/// `<prefix><sep><name>`, shortened to [`MAX_NAME`].
pub fn prefixed(prefix: &str, sep: &str, name: &str) -> String {
    shorten(&format!("{prefix}{sep}{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_kept_and_long_ones_shortened_deterministically() {
        assert_eq!(prefixed("rails", "__", "get_client"), "rails__get_client");
        let long = "a".repeat(70);
        let a = prefixed("up", "__", &long);
        assert_eq!(a.len(), MAX_NAME);
        assert_eq!(a, prefixed("up", "__", &long), "deterministic");
        assert!(a.starts_with("up__aaaa"), "{a}");
        let other = prefixed("up", "__", &format!("{}b", "a".repeat(69)));
        assert_ne!(a, other, "distinct long names stay distinct");
        assert_eq!(other.len(), MAX_NAME);
        let exactly = "x".repeat(MAX_NAME);
        assert_eq!(shorten(&exactly), exactly);
        // A fixed value: changing the scheme changes names clients have stored.
        assert_eq!(
            shorten(&"t".repeat(70)),
            format!("{}_{}", "t".repeat(55), {
                let d = Sha256::digest("t".repeat(70).as_bytes());
                format!("{:02x}{:02x}{:02x}{:02x}", d[0], d[1], d[2], d[3])
            })
        );
    }
}
