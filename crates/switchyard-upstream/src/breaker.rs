//! A circuit breaker per upstream, per node: after `failures` consecutive failures to reach
//! the upstream its calls fail at once for `open_for`; then one call is let through, and its
//! outcome closes the circuit or opens it again.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// The breaker's state.
#[derive(Debug)]
pub struct Breaker {
    failures: u32,
    open_for: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// One trial call is out.
    HalfOpen,
}

/// A refused call: the circuit is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Open {
    /// How long until a call is tried again.
    pub retry_in: Duration,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(failures: u32, open_for: Duration) -> Self {
        Self {
            failures: failures.max(1),
            open_for,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether a call may go out now.
    pub fn admit(&self) -> Result<(), Open> {
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => Ok(()),
            State::Open { until } => {
                let now = Instant::now();
                if now >= until {
                    *state = State::HalfOpen;
                    Ok(())
                } else {
                    Err(Open {
                        retry_in: until - now,
                    })
                }
            }
            State::HalfOpen => Err(Open {
                retry_in: Duration::ZERO,
            }),
        }
    }

    /// The upstream answered (even with a JSON-RPC error).
    pub fn success(&self) {
        *self.lock() = State::Closed { failures: 0 };
    }

    /// The upstream could not be reached, or did not answer in time.
    pub fn failure(&self) {
        let mut state = self.lock();
        let failures = match *state {
            State::Closed { failures } => failures + 1,
            State::Open { .. } | State::HalfOpen => self.failures,
        };
        *state = if failures >= self.failures {
            State::Open {
                until: Instant::now() + self.open_for,
            }
        } else {
            State::Closed { failures }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn opens_after_failures_and_tries_again_later() {
        let b = Breaker::new(2, Duration::from_secs(5));
        assert!(b.admit().is_ok());
        b.failure();
        assert!(b.admit().is_ok(), "one failure is not enough");
        b.failure();
        let open = b.admit().expect_err("two failures open it");
        assert!(open.retry_in <= Duration::from_secs(5));
        tokio::time::advance(Duration::from_secs(6)).await;
        assert!(b.admit().is_ok(), "a trial after open_for");
        assert!(b.admit().is_err(), "only one trial at a time");
        b.failure();
        assert!(b.admit().is_err(), "a failed trial opens it again");
        tokio::time::advance(Duration::from_secs(6)).await;
        assert!(b.admit().is_ok());
        b.success();
        assert!(b.admit().is_ok());
        b.failure();
        assert!(b.admit().is_ok(), "a success reset the count");
    }
}
