//! The counters behind `[limits]` (`config/limits.rs`): streams per node, requests in flight
//! per session, connections per client IP, and which peers' `X-Forwarded-For` is believed.
//!
//! Each count is held by a guard that gives its unit back when dropped, so a stream body, a
//! request's work or a connection that ends in any way (finished, cancelled, client gone,
//! panic) never leaks a slot. The counters are shared by all of a node's workers.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use ipnet::IpNet;

use crate::config::LimitsConfig;
use crate::http::{HttpError, Refusal};

pub mod rate;

/// Parses a `limits.trusted_proxies` entry: an address or a network in CIDR form.
pub fn parse_net(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    if let Ok(net) = s.parse::<IpNet>() {
        return Ok(net);
    }
    s.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("{s:?} is neither an IP address nor a network like 10.0.0.0/8"))
}

/// The node's limits and their counters (one per node, shared by its workers).
#[derive(Debug)]
pub struct Limits {
    /// The configured values.
    pub config: LimitsConfig,
    proxies: Vec<IpNet>,
    streams: Arc<AtomicUsize>,
    inflight: Arc<Mutex<HashMap<String, usize>>>,
    connections: Arc<Mutex<HashMap<IpAddr, usize>>>,
    /// Refusals logged at most once per [`LOG_INTERVAL_MS`].
    pub refusals: Throttled,
    per_ip: Option<rate::Rate<IpAddr>>,
    per_principal: Option<rate::Rate<String>>,
}

impl Limits {
    /// Counters for `config` (validated: every proxy entry parses).
    pub fn new(config: LimitsConfig) -> Self {
        let proxies = config
            .trusted_proxies
            .iter()
            .filter_map(|p| parse_net(p).ok())
            .collect();
        Self {
            proxies,
            streams: Arc::default(),
            inflight: Arc::default(),
            connections: Arc::default(),
            refusals: Throttled::default(),
            per_ip: rate::Rate::new(config.rate_per_ip, config.rate_burst),
            per_principal: rate::Rate::new(config.rate_per_principal, config.rate_burst),
            config,
        }
    }

    /// Counts one request of `ip` and `principal` against `limits.rate_per_ip` and
    /// `limits.rate_per_principal`; 429 past either.
    pub fn rate(&self, ip: Option<IpAddr>, principal: &str) -> Result<(), HttpError> {
        let over = |setting: &'static str, per_sec: u64, who: String| {
            self.refusals.warn(&format!(
                "request refused: {setting} = {per_sec}/s for {who}"
            ));
            HttpError::from(Refusal::TooMany {
                setting,
                message: format!("more than {per_sec} requests per second from {who}"),
            })
        };
        if let (Some(r), Some(ip)) = (&self.per_ip, ip)
            && !r.allow(&ip)
        {
            return Err(over(
                "limits.rate_per_ip",
                self.config.rate_per_ip,
                ip.to_string(),
            ));
        }
        if let Some(r) = &self.per_principal
            && !r.allow(&principal.to_owned())
        {
            let who = format!("principal {principal:?}");
            return Err(over(
                "limits.rate_per_principal",
                self.config.rate_per_principal,
                who,
            ));
        }
        Ok(())
    }

    /// Whether `peer` is one of `limits.trusted_proxies`.
    pub fn is_trusted_proxy(&self, peer: IpAddr) -> bool {
        self.proxies.iter().any(|n| n.contains(&peer))
    }

    /// The client's IP: `peer` itself, unless `peer` is a trusted proxy — then the right-most
    /// address of `forwarded_for` (the `X-Forwarded-For` values, in order) that is not a
    /// trusted proxy, or `peer` when there is none. A client can put anything at the left of
    /// that header; only what the trusted proxies appended is believed.
    pub fn client_ip<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl Iterator<Item = &'a str>,
    ) -> IpAddr {
        if !self.is_trusted_proxy(peer) {
            return peer;
        }
        let hops: Vec<&str> = forwarded_for.flat_map(|v| v.split(',')).collect();
        for hop in hops.iter().rev() {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) if self.is_trusted_proxy(ip) => continue,
                Ok(ip) => return ip,
                // Garbage where an address should be: nothing left of it can be believed.
                Err(_) => return peer,
            }
        }
        peer
    }

    /// Takes one of the node's `limits.max_streams` stream slots; 503 past it.
    pub fn stream(&self) -> Result<Slot, HttpError> {
        let max = self.config.max_streams;
        let held = self.streams.fetch_add(1, Ordering::AcqRel);
        let slot = Slot(Arc::clone(&self.streams));
        if max != 0 && held >= max {
            drop(slot);
            self.refusals.warn(&format!(
                "stream refused: limits.max_streams = {max} reached"
            ));
            return Err(Refusal::Busy {
                setting: "limits.max_streams",
                message: format!("this node holds its limit of {max} streams"),
            }
            .into());
        }
        Ok(slot)
    }

    /// The streams open now.
    pub fn streams_open(&self) -> usize {
        self.streams.load(Ordering::Acquire)
    }

    /// Takes `n` of `session`'s `limits.max_inflight_per_session` request slots on this
    /// node, all or none; 429 past it.
    pub fn inflight(&self, session: &str, n: usize) -> Result<Vec<SessionSlot>, HttpError> {
        let max = self.config.max_inflight_per_session;
        if n == 0 {
            return Ok(Vec::new());
        }
        {
            let mut map = self.inflight.lock().unwrap_or_else(PoisonError::into_inner);
            let held = map.entry(session.to_owned()).or_insert(0);
            if max != 0 && *held + n > max {
                let message = format!(
                    "the session has {held} requests running on this node; the limit is {max}"
                );
                if *held == 0 {
                    map.remove(session);
                }
                return Err(Refusal::TooMany {
                    setting: "limits.max_inflight_per_session",
                    message,
                }
                .into());
            }
            *held += n;
        }
        Ok((0..n)
            .map(|_| SessionSlot {
                map: Arc::clone(&self.inflight),
                session: session.to_owned(),
            })
            .collect())
    }

    /// Counts a new connection from `peer` (not counted when it is a trusted proxy or the
    /// limit is off). The guard says whether it is over `limits.max_connections_per_ip`.
    pub fn connection(&self, peer: IpAddr) -> Option<ConnSlot> {
        let max = self.config.max_connections_per_ip;
        if max == 0 || self.is_trusted_proxy(peer) {
            return None;
        }
        let mut map = self
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let held = map.entry(peer).or_insert(0);
        *held += 1;
        Some(ConnSlot {
            over: *held > max,
            max,
            ip: peer,
            map: Arc::clone(&self.connections),
        })
    }
}

/// One of the node's stream slots, given back on drop.
#[derive(Debug)]
pub struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One running request of a session, given back on drop.
#[derive(Debug)]
pub struct SessionSlot {
    map: Arc<Mutex<HashMap<String, usize>>>,
    session: String,
}

impl Drop for SessionSlot {
    fn drop(&mut self) {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = map.get_mut(&self.session) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.session);
            }
        }
    }
}

/// One open connection of a client IP (kept in the connection's data), given back when the
/// connection closes.
#[derive(Debug)]
pub struct ConnSlot {
    /// The connection is past `limits.max_connections_per_ip`: its requests are refused.
    pub over: bool,
    /// The limit.
    pub max: usize,
    /// The peer.
    pub ip: IpAddr,
    map: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// Keeps `slot` for as long as `body` lives.
pub fn hold<S: futures::Stream + Unpin>(
    body: S,
    slot: Slot,
) -> impl futures::Stream<Item = S::Item> + Unpin {
    use futures::StreamExt;
    body.map(move |item| {
        let _held = &slot;
        item
    })
}

/// How often a kind of refusal is logged at most.
pub const LOG_INTERVAL_MS: u64 = 10_000;

/// A warning logged at most once per [`LOG_INTERVAL_MS`], with the count of those it kept
/// quiet: an abusive client must not turn each refusal into a log line.
#[derive(Debug, Default)]
pub struct Throttled {
    last_ms: AtomicU64,
    quiet: AtomicU64,
}

impl Throttled {
    /// Logs `message` at `warn` unless one was logged within the interval.
    pub fn warn(&self, message: &str) {
        let now = switchyard_state::now_ms();
        let last = self.last_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) < LOG_INTERVAL_MS
            || self
                .last_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            self.quiet.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let quiet = self.quiet.swap(0, Ordering::Relaxed);
        tracing::warn!(
            suppressed = quiet,
            "{message} (refusals are logged at most once per 10 s)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(f: impl FnOnce(&mut LimitsConfig)) -> Limits {
        let mut c = LimitsConfig::default();
        f(&mut c);
        Limits::new(c)
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let l = limits(|c| c.trusted_proxies = vec!["10.0.0.0/8".into(), "192.0.2.1".into()]);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // An untrusted peer: the header is ignored, whatever it says.
        assert_eq!(
            l.client_ip(ip("203.0.113.9"), ["1.2.3.4"].into_iter()),
            ip("203.0.113.9")
        );
        // A trusted peer: the right-most untrusted hop; a forged left part is skipped.
        assert_eq!(
            l.client_ip(
                ip("10.1.2.3"),
                ["6.6.6.6, 198.51.100.7", "192.0.2.1"].into_iter()
            ),
            ip("198.51.100.7")
        );
        // Garbage stops the walk: the peer is all that is known.
        assert_eq!(
            l.client_ip(ip("10.1.2.3"), ["1.1.1.1, junk"].into_iter()),
            ip("10.1.2.3")
        );
        assert_eq!(
            l.client_ip(ip("10.1.2.3"), std::iter::empty()),
            ip("10.1.2.3")
        );
        assert!(parse_net("nope").is_err());
    }

    #[test]
    fn slots_are_given_back_on_drop() {
        let l = limits(|c| {
            c.max_streams = 2;
            c.max_inflight_per_session = 3;
            c.max_connections_per_ip = 1;
        });
        let a = l.stream().unwrap();
        let _b = l.stream().unwrap();
        assert!(matches!(
            l.stream().unwrap_err().refusal(),
            Refusal::Busy { .. }
        ));
        drop(a);
        assert_eq!(l.streams_open(), 1);
        let _c = l.stream().unwrap();

        let two = l.inflight("s", 2).unwrap();
        assert!(matches!(
            l.inflight("s", 2).unwrap_err().refusal(),
            Refusal::TooMany { .. }
        ));
        let _other = l.inflight("t", 3).unwrap();
        drop(two);
        assert_eq!(l.inflight("s", 3).unwrap().len(), 3);

        let ip: IpAddr = "203.0.113.1".parse().unwrap();
        let first = l.connection(ip).unwrap();
        assert!(!first.over);
        assert!(l.connection(ip).unwrap().over);
        drop(first);
        assert!(!l.connection(ip).unwrap().over, "both were given back");
    }
}
