//! Requests per second per key (a client IP, a principal): GCRA, one `u64` per key.
//!
//! Each key keeps its *theoretical arrival time*: a request at `now` is allowed when that
//! time is less than `burst` intervals ahead of `now`, and moves it one interval on. Counted
//! per node: behind a round-robin balancer over `n` nodes a client gets about `n` times the
//! rate.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Keys kept before the idle ones (whose time has passed) are dropped.
const PRUNE_AT: usize = 10_000;

/// A rate limit over keys `K`.
#[derive(Debug)]
pub struct Rate<K> {
    interval_ns: u64,
    tolerance_ns: u64,
    start: Instant,
    tat: Mutex<HashMap<K, u64>>,
}

impl<K: Hash + Eq + Clone> Rate<K> {
    /// `per_sec` requests a second with bursts of `burst`; `None` when `per_sec` is 0 (off).
    pub fn new(per_sec: u64, burst: u64) -> Option<Self> {
        (per_sec > 0).then(|| {
            let interval_ns = 1_000_000_000 / per_sec;
            Self {
                interval_ns,
                tolerance_ns: interval_ns.saturating_mul(burst.max(1)),
                start: Instant::now(),
                tat: Mutex::default(),
            }
        })
    }

    /// Whether a request of `key` at `now` is within the rate (and counts it if so).
    pub fn allow_at(&self, key: &K, now: Instant) -> bool {
        let now =
            u64::try_from(now.saturating_duration_since(self.start).as_nanos()).unwrap_or(u64::MAX);
        let mut map = self.tat.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= PRUNE_AT {
            map.retain(|_, tat| *tat > now);
        }
        let tat = map.get(key).copied().unwrap_or(now).max(now);
        if tat - now >= self.tolerance_ns {
            return false;
        }
        map.insert(key.clone(), tat + self.interval_ns);
        true
    }

    /// [`Rate::allow_at`] now.
    pub fn allow(&self, key: &K) -> bool {
        self.allow_at(key, Instant::now())
    }

    /// The interval between two requests at the rate.
    pub fn interval(&self) -> Duration {
        Duration::from_nanos(self.interval_ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        assert!(Rate::<u8>::new(0, 5).is_none(), "0 is off");
        let rate = Rate::new(10, 5).expect("on");
        let t0 = rate.start;
        let allowed = (0..20).filter(|_| rate.allow_at(&1, t0)).count();
        assert_eq!(allowed, 5, "the burst at one instant");
        assert!(rate.allow_at(&2, t0), "another key has its own");
        // One interval later, one more.
        let later = t0 + rate.interval();
        assert!(rate.allow_at(&1, later));
        assert!(!rate.allow_at(&1, later));
        // Two seconds later the burst is back.
        let second = t0 + Duration::from_secs(2);
        assert_eq!((0..20).filter(|_| rate.allow_at(&1, second)).count(), 5);
    }
}
