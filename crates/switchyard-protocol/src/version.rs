//! Protocol revisions and version negotiation.

use std::fmt;
use std::str::FromStr;

/// A protocol revision Switchyard serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProtocolVersion {
    /// 2024-11-05: the HTTP+SSE transport (`GET /sse` + `POST /messages`).
    V2024_11_05,
    /// 2025-03-26: Streamable HTTP; JSON-RPC batches allowed.
    V2025_03_26,
    /// 2025-06-18: Streamable HTTP; no batches; `MCP-Protocol-Version` header.
    V2025_06_18,
    /// 2025-11-25: Streamable HTTP; SSE polling (priming event, `retry`).
    V2025_11_25,
}

/// Every revision served, oldest first.
pub const SUPPORTED: &[ProtocolVersion] = &[
    ProtocolVersion::V2024_11_05,
    ProtocolVersion::V2025_03_26,
    ProtocolVersion::V2025_06_18,
    ProtocolVersion::V2025_11_25,
];

impl ProtocolVersion {
    /// The newest revision served.
    pub const LATEST: ProtocolVersion = ProtocolVersion::V2025_11_25;

    /// The version a Streamable HTTP request without `MCP-Protocol-Version` is assumed to speak.
    pub const ASSUMED_WITHOUT_HEADER: ProtocolVersion = ProtocolVersion::V2025_03_26;

    /// The wire string, e.g. `"2025-11-25"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProtocolVersion::V2024_11_05 => "2024-11-05",
            ProtocolVersion::V2025_03_26 => "2025-03-26",
            ProtocolVersion::V2025_06_18 => "2025-06-18",
            ProtocolVersion::V2025_11_25 => "2025-11-25",
        }
    }

    /// Whether a JSON-RPC batch may be sent in this revision (only 2025-03-26 allowed them
    /// on Streamable HTTP; 2024-11-05 allowed them too).
    pub fn allows_batches(self) -> bool {
        matches!(
            self,
            ProtocolVersion::V2024_11_05 | ProtocolVersion::V2025_03_26
        )
    }

    /// Whether the 2025-11-25 SSE polling behaviour applies: a priming event with an id and
    /// empty data first, and a `retry` field before the server closes a stream early.
    pub fn primes_streams(self) -> bool {
        self >= ProtocolVersion::V2025_11_25
    }

    /// The version the server answers `initialize` with: the client's if served, else the latest.
    pub fn negotiate(requested: &str) -> ProtocolVersion {
        requested.parse().unwrap_or(ProtocolVersion::LATEST)
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A version string that names no revision Switchyard serves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported protocol version {0:?}")]
pub struct UnsupportedVersion(pub String);

impl FromStr for ProtocolVersion {
    type Err = UnsupportedVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SUPPORTED
            .iter()
            .copied()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnsupportedVersion(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_supported_version() {
        for v in SUPPORTED {
            assert_eq!(v.as_str().parse::<ProtocolVersion>(), Ok(*v));
        }
    }

    #[test]
    fn negotiation_falls_back_to_latest() {
        assert_eq!(
            ProtocolVersion::negotiate("2025-06-18"),
            ProtocolVersion::V2025_06_18
        );
        assert_eq!(
            ProtocolVersion::negotiate("1999-01-01"),
            ProtocolVersion::LATEST
        );
    }

    #[test]
    fn only_early_revisions_allow_batches() {
        assert!(ProtocolVersion::V2025_03_26.allows_batches());
        assert!(!ProtocolVersion::V2025_06_18.allows_batches());
        assert!(!ProtocolVersion::V2025_11_25.allows_batches());
    }
}
