//! Protocol revisions, the eras they belong to, and version negotiation.

use std::fmt;
use std::str::FromStr;

/// A protocol revision Switchyard serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Revision {
    /// 2024-11-05: the HTTP+SSE transport (`GET /sse` + `POST /messages`). A client that asks
    /// for it on `/mcp` (early Streamable HTTP clients did) is served under the 2025-03-26 rules.
    V2024_11_05,
    /// 2025-03-26: Streamable HTTP; JSON-RPC batches allowed.
    V2025_03_26,
    /// 2025-06-18: Streamable HTTP; no batches; `MCP-Protocol-Version` header.
    V2025_06_18,
    /// 2025-11-25: Streamable HTTP; SSE polling (priming event, `retry`).
    V2025_11_25,
    /// 2026-07-28: stateless; `_meta` on every request, no `initialize`, no session.
    V2026_07_28,
}

/// How a revision carries a client's conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Era {
    /// 2024-11-05's HTTP+SSE transport: a `GET /sse` stream and `POST /messages`.
    HttpSse,
    /// The session revisions of Streamable HTTP: `initialize` opens a session named by
    /// `Mcp-Session-Id`.
    Session,
    /// 2026-07-28: every request stands alone.
    Stateless,
}

/// Every revision served, oldest first.
pub const ALL: &[Revision] = &[
    Revision::V2024_11_05,
    Revision::V2025_03_26,
    Revision::V2025_06_18,
    Revision::V2025_11_25,
    Revision::V2026_07_28,
];

/// The revisions an `initialize` can negotiate (every one that has sessions), oldest first.
pub const SESSION: &[Revision] = &[
    Revision::V2024_11_05,
    Revision::V2025_03_26,
    Revision::V2025_06_18,
    Revision::V2025_11_25,
];

impl Revision {
    /// The newest revision an `initialize` negotiates.
    pub const LATEST_SESSION: Revision = Revision::V2025_11_25;

    /// The revision a Streamable HTTP request without `MCP-Protocol-Version` is assumed to
    /// speak.
    pub const ASSUMED_WITHOUT_HEADER: Revision = Revision::V2025_03_26;

    /// The wire string, e.g. `"2025-11-25"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Revision::V2024_11_05 => "2024-11-05",
            Revision::V2025_03_26 => "2025-03-26",
            Revision::V2025_06_18 => "2025-06-18",
            Revision::V2025_11_25 => "2025-11-25",
            Revision::V2026_07_28 => "2026-07-28",
        }
    }

    /// The era the revision belongs to (on its own transport: 2024-11-05 requested on `/mcp`
    /// is served as a session).
    pub fn era(self) -> Era {
        match self {
            Revision::V2024_11_05 => Era::HttpSse,
            Revision::V2026_07_28 => Era::Stateless,
            _ => Era::Session,
        }
    }

    /// Whether a JSON-RPC batch may be sent in this revision (2024-11-05 and 2025-03-26
    /// allowed them; later revisions removed them).
    pub fn allows_batches(self) -> bool {
        matches!(self, Revision::V2024_11_05 | Revision::V2025_03_26)
    }

    /// Whether the 2025-11-25 SSE polling behaviour applies: a priming event with an id and
    /// empty data first, and a `retry` field before the server closes a stream early.
    pub fn primes_streams(self) -> bool {
        self == Revision::V2025_11_25
    }

    /// The revision the server answers `initialize` with: the client's when it is a session
    /// revision (the lifecycle says a server supporting the requested version MUST answer
    /// with it), else the latest.
    pub fn negotiate(requested: &str) -> Revision {
        Revision::parse_session(requested).unwrap_or(Revision::LATEST_SESSION)
    }

    /// A session revision by its wire string (what `MCP-Protocol-Version` may name on a
    /// session's requests, and what an `initialize` may negotiate).
    pub fn parse_session(s: &str) -> Result<Revision, UnsupportedVersion> {
        SESSION
            .iter()
            .copied()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnsupportedVersion(s.to_owned()))
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A version string that names no revision Switchyard serves (in the context it was given).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported protocol version {0:?}")]
pub struct UnsupportedVersion(pub String);

impl FromStr for Revision {
    type Err = UnsupportedVersion;

    /// Any revision served, stateless included.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL.iter()
            .copied()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnsupportedVersion(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_revision() {
        for v in ALL {
            assert_eq!(v.as_str().parse::<Revision>(), Ok(*v));
        }
        assert!("2025-13-01".parse::<Revision>().is_err());
    }

    #[test]
    fn session_revisions_are_all_but_the_stateless_one() {
        for v in ALL {
            assert_eq!(
                Revision::parse_session(v.as_str()).is_ok(),
                v.era() != Era::Stateless,
                "{v}"
            );
        }
        assert_eq!(SESSION.last(), Some(&Revision::LATEST_SESSION));
    }

    #[test]
    fn negotiation_echoes_a_session_revision_and_falls_back_to_latest() {
        assert_eq!(Revision::negotiate("2025-06-18"), Revision::V2025_06_18);
        assert_eq!(Revision::negotiate("2024-11-05"), Revision::V2024_11_05);
        assert_eq!(Revision::negotiate("1999-01-01"), Revision::LATEST_SESSION);
        // initialize is not part of the stateless revision.
        assert_eq!(Revision::negotiate("2026-07-28"), Revision::LATEST_SESSION);
    }

    #[test]
    fn only_early_revisions_allow_batches() {
        assert!(Revision::V2024_11_05.allows_batches());
        assert!(Revision::V2025_03_26.allows_batches());
        assert!(!Revision::V2025_06_18.allows_batches());
        assert!(!Revision::V2025_11_25.allows_batches());
        assert!(!Revision::V2026_07_28.allows_batches());
    }

    #[test]
    fn only_2025_11_25_primes_streams() {
        let priming: Vec<_> = ALL.iter().filter(|v| v.primes_streams()).collect();
        assert_eq!(priming, [&Revision::V2025_11_25]);
    }
}
