//! Header rules of the Streamable HTTP transport, as pure functions over header values.

/// What an `Accept` header admits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Accepts {
    /// `application/json` (or `application/*`, `*/*`).
    pub json: bool,
    /// `text/event-stream` (or `text/*`, `*/*`).
    pub event_stream: bool,
}

/// Parses an `Accept` header value.
///
/// Each media type is judged by the most specific range that matches it (`text/event-stream`
/// over `text/*` over `*/*`, RFC 9110 §12.5.1), and is admitted when that range's quality is
/// above zero: `*/*, text/event-stream;q=0` admits JSON but not an event stream. Among equally
/// specific ranges the highest quality wins. Types, subtypes and parameter names are
/// case-insensitive; parameters other than `q` are ignored.
pub fn parse_accept(value: &str) -> Accepts {
    let mut json = Best::default();
    let mut event_stream = Best::default();
    for range in value.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim();
        let Some((kind, sub)) = media.split_once('/') else {
            continue;
        };
        let (kind, sub) = (kind.trim(), sub.trim());
        let q = parts.find_map(quality).unwrap_or(1.0);
        json.offer(specificity(kind, sub, "application", "json"), q);
        event_stream.offer(specificity(kind, sub, "text", "event-stream"), q);
    }
    Accepts {
        json: json.admits(),
        event_stream: event_stream.admits(),
    }
}

/// The best-matching range seen so far for one media type: (specificity, quality).
#[derive(Default)]
struct Best(Option<(u8, f32)>);

impl Best {
    fn offer(&mut self, specificity: Option<u8>, q: f32) {
        let Some(s) = specificity else { return };
        self.0 = match self.0 {
            Some((best, best_q)) if best > s || (best == s && best_q >= q) => self.0,
            _ => Some((s, q)),
        };
    }

    fn admits(&self) -> bool {
        self.0.is_some_and(|(_, q)| q > 0.0)
    }
}

/// How specifically the range `kind/sub` names `want_kind/want_sub`: 3 exactly, 2 as
/// `type/*`, 1 as `*/*`; `None` when it does not match. Media types are case-insensitive.
fn specificity(kind: &str, sub: &str, want_kind: &str, want_sub: &str) -> Option<u8> {
    match (kind, sub) {
        ("*", "*") => Some(1),
        (k, "*") if k.eq_ignore_ascii_case(want_kind) => Some(2),
        (k, s) if k.eq_ignore_ascii_case(want_kind) && s.eq_ignore_ascii_case(want_sub) => Some(3),
        _ => None,
    }
}

/// The quality of a `q=` parameter. An unreadable weight is ignored (the range keeps the
/// default quality 1), as most servers do, rather than turning a sloppy client away.
fn quality(param: &str) -> Option<f32> {
    let (name, value) = param.split_once('=')?;
    if !name.trim().eq_ignore_ascii_case("q") {
        return None;
    }
    value.trim().parse::<f32>().ok().filter(|q| !q.is_nan())
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
/// `[::1]:8080` gives `[::1]`; `Example.COM:80` gives `example.com`. A bare IPv6 literal
/// (`::1`, as one might write in an allow list) is bracketed: `[::1]`. Text after a bracketed
/// literal that is not `:port` makes the whole value the "host", which matches no entry.
pub fn host_without_port(authority: &str) -> String {
    let a = authority.trim();
    let host = if a.starts_with('[') {
        match a.split_once(']') {
            Some((inside, rest)) if rest.is_empty() || is_port(rest) => &a[..=inside.len()],
            _ => a,
        }
    } else if a.bytes().filter(|b| *b == b':').count() > 1 {
        return format!("[{}]", a.to_ascii_lowercase());
    } else {
        match a.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => a,
        }
    };
    // Whitespace before a `:port` is not part of the host either.
    host.trim().to_ascii_lowercase()
}

/// Whether `s` is `:` followed by a (possibly empty) run of digits.
fn is_port(s: &str) -> bool {
    s.strip_prefix(':')
        .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
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

/// The token of an `Authorization: Bearer <token>` value (RFC 6750: the scheme is
/// case-insensitive; the token is one or more `token68` characters, surrounding spaces
/// allowed); `None` for any other scheme, an empty token, or a token with other bytes.
pub fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    let space = value.iter().position(|&b| b == b' ')?;
    let (scheme, rest) = value.split_at(space);
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return None;
    }
    let token = rest.trim_ascii();
    let token68 = |b: &u8| b.is_ascii_alphanumeric() || b"-._~+/=".contains(b);
    (!token.is_empty() && token.iter().all(token68)).then_some(token)
}

#[cfg(test)]
mod host_tests;
#[cfg(test)]
mod tests;
