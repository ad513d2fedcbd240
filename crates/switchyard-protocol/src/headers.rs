//! Header rules of the Streamable HTTP transport, as pure functions over header values.

/// What an `Accept` header admits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Accepts {
    /// `application/json` (or `application/*`, `*/*`).
    pub json: bool,
    /// `text/event-stream` (or `text/*`, `*/*`).
    pub event_stream: bool,
}

/// Parses an `Accept` header value. Media ranges with `q=0` are refused ranges.
pub fn parse_accept(value: &str) -> Accepts {
    let mut acc = Accepts::default();
    for range in value.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let refused = parts.any(|p| {
            let p = p.trim();
            p.strip_prefix("q=")
                .or_else(|| p.strip_prefix("Q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        if refused {
            continue;
        }
        match media.as_str() {
            "*/*" => {
                acc.json = true;
                acc.event_stream = true;
            }
            "application/*" | "application/json" => acc.json = true,
            "text/*" | "text/event-stream" => acc.event_stream = true,
            _ => {}
        }
    }
    acc
}

/// Whether a `Content-Type` value is `application/json` (parameters such as `charset` allowed).
pub fn is_json_content_type(value: &str) -> bool {
    value
        .split(';')
        .next()
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

/// Whether `id` is a well-formed session id: 1–256 visible ASCII characters (0x21–0x7E).
pub fn is_valid_session_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 256 && id.bytes().all(|b| (0x21..=0x7E).contains(&b))
}

/// The host part of a `Host` header or of an origin's authority, lower-cased, without port.
///
/// `[::1]:8080` gives `[::1]`; `Example.COM:80` gives `example.com`.
pub fn host_without_port(authority: &str) -> String {
    let a = authority.trim();
    let host = if a.starts_with('[') {
        match a.find(']') {
            Some(end) => &a[..=end],
            None => a,
        }
    } else {
        a.rsplit_once(':').map_or(a, |(h, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                a
            }
        })
    };
    host.to_ascii_lowercase()
}

/// The authority (`host[:port]`) of an `Origin` header value, or `None` for `null` and
/// values that are not `scheme://authority`.
pub fn origin_authority(origin: &str) -> Option<&str> {
    let (scheme, rest) = origin.trim().split_once("://")?;
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty()).then_some(authority)
}

/// An allow-list of hosts for `Host` and `Origin` validation (DNS-rebinding protection).
///
/// Entries are host names or IP literals (`localhost`, `127.0.0.1`, `[::1]`, `mcp.example.com`),
/// matched case-insensitively and regardless of port; `*` allows any host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAllowList {
    hosts: Vec<String>,
    any: bool,
}

impl HostAllowList {
    /// Builds a list from entries as described above.
    pub fn new<I, S>(entries: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut hosts = Vec::new();
        let mut any = false;
        for e in entries {
            let e = e.as_ref().trim();
            if e == "*" {
                any = true;
            } else if !e.is_empty() {
                hosts.push(host_without_port(e));
            }
        }
        Self { hosts, any }
    }

    /// The loopback names: `localhost`, `127.0.0.1`, `[::1]`.
    pub fn loopback() -> Self {
        Self::new(["localhost", "127.0.0.1", "[::1]"])
    }

    /// Whether a `Host` header value is allowed.
    pub fn allows_host(&self, host_header: &str) -> bool {
        self.any || self.hosts.contains(&host_without_port(host_header))
    }

    /// Whether an `Origin` header value is allowed (`null` and malformed origins are not).
    pub fn allows_origin(&self, origin: &str) -> bool {
        if self.any {
            return true;
        }
        origin_authority(origin).is_some_and(|a| self.hosts.contains(&host_without_port(a)))
    }
}

#[cfg(test)]
mod tests;
