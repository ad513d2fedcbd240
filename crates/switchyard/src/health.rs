//! What `/livez` and `/readyz` report, and the drain's signals to open streams.
//!
//! [`Health`] is shared by every worker of a node. Readiness comes from a background check
//! ([`Health::watch`]: a `PING` of the state backend every `health.check_interval_ms`), so a
//! probe never costs a Redis round trip. A stopping node ([`crate::serve`]) turns readiness
//! off at once, then tells its SSE streams to end in two steps: [`Health::end_streams`]
//! (every stream that no running request feeds) after `shutdown.drain_delay_secs`, and
//! [`Health::end_request_streams`] (the rest) once the running requests finished or
//! `shutdown.timeout_secs` passed.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Which drain step ends an SSE stream (see [`Health`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ends {
    /// A stream only following events (GET `/mcp`, `subscriptions/listen`): ended after the
    /// drain delay; its client resumes it on another node with `Last-Event-ID`.
    WithIdle,
    /// A stream fed by a request running here (a POST's SSE answer) or one that cannot be
    /// resumed (HTTP+SSE `/sse`): ended once the node's running requests are done, or at
    /// the shutdown timeout.
    WithRequests,
}

/// A node's liveness, readiness and drain state.
#[derive(Debug)]
pub struct Health {
    draining: AtomicBool,
    /// The last check of the state backend: when it finished, and what failed.
    last: Mutex<(Instant, Option<String>)>,
    /// How old the last check may be before readiness is off (a stuck check).
    stale_after: Duration,
    idle: CancellationToken,
    requests: CancellationToken,
}

/// What `/readyz` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// Serving, state reachable.
    Ready,
    /// Stopping: no new work should come here.
    Draining,
    /// The state backend did not answer the last check (or no check finished lately).
    Unavailable(String),
}

impl Health {
    /// A healthy, serving node whose checks run every `interval`, each bounded by `timeout`.
    pub fn new(interval: Duration, timeout: Duration) -> Self {
        Self {
            draining: AtomicBool::new(false),
            last: Mutex::new((Instant::now(), None)),
            stale_after: interval * 3 + timeout,
            idle: CancellationToken::new(),
            requests: CancellationToken::new(),
        }
    }

    /// What `/readyz` says now (no I/O).
    pub fn readiness(&self) -> Readiness {
        if self.is_draining() {
            return Readiness::Draining;
        }
        let last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &last.1 {
            Some(e) => Readiness::Unavailable(e.clone()),
            None if last.0.elapsed() > self.stale_after => Readiness::Unavailable(format!(
                "no check of the state backend finished in the last {:?}",
                self.stale_after
            )),
            None => Readiness::Ready,
        }
    }

    /// Whether the node is stopping.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Records the outcome of one check of the state backend.
    pub fn record(&self, outcome: Result<(), String>) {
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *last = (Instant::now(), outcome.err());
    }

    /// Runs `check` every `interval` and records it, until the drain ends request streams.
    pub async fn watch<F, Fut>(&self, interval: Duration, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<(), String>>,
    {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = self.requests.cancelled() => return,
            }
            let outcome = check().await;
            if let Err(e) = &outcome
                && self.readiness() == Readiness::Ready
            {
                tracing::warn!(error = %e, "the state backend failed its check: not ready");
            }
            self.record(outcome);
        }
    }

    /// Readiness off: `/readyz` answers 503 from now on.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// Ends every [`Ends::WithIdle`] stream (each gets `retry:` first), now and for
    /// streams opened later.
    pub fn end_streams(&self) {
        self.start_draining();
        self.idle.cancel();
    }

    /// Ends every stream, [`Ends::WithRequests`] ones included.
    pub fn end_request_streams(&self) {
        self.end_streams();
        self.requests.cancel();
    }

    /// Resolves when a stream of kind `ends` must end.
    pub async fn ended(&self, ends: Ends) {
        match ends {
            Ends::WithIdle => self.idle.cancelled().await,
            Ends::WithRequests => self.requests.cancelled().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn readiness_follows_checks_drain_and_staleness() {
        let h = Health::new(Duration::from_millis(20), Duration::from_millis(20));
        assert_eq!(h.readiness(), Readiness::Ready);
        h.record(Err("refused".into()));
        assert_eq!(h.readiness(), Readiness::Unavailable("refused".into()));
        h.record(Ok(()));
        assert_eq!(h.readiness(), Readiness::Ready);
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert!(matches!(h.readiness(), Readiness::Unavailable(_)));
        h.record(Ok(()));
        h.start_draining();
        assert_eq!(h.readiness(), Readiness::Draining);
    }

    #[tokio::test]
    async fn streams_end_in_two_steps() {
        let h = Health::new(Duration::from_secs(1), Duration::from_secs(1));
        let soon = Duration::from_millis(50);
        assert!(
            tokio::time::timeout(soon, h.ended(Ends::WithIdle))
                .await
                .is_err()
        );
        h.end_streams();
        tokio::time::timeout(soon, h.ended(Ends::WithIdle))
            .await
            .expect("idle streams end");
        assert!(
            tokio::time::timeout(soon, h.ended(Ends::WithRequests))
                .await
                .is_err(),
            "request streams wait"
        );
        h.end_request_streams();
        tokio::time::timeout(soon, h.ended(Ends::WithRequests))
            .await
            .expect("request streams end");
    }
}
