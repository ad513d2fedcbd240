//! The counts of the 10,000-push run, and what they must be.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use switchyard_protocol::event_id::EventId;

use crate::follower::Received;
use crate::push::MESSAGES;
use crate::pusher::Pushed;

fn seq(id: &str) -> u64 {
    id.parse::<EventId>()
        .unwrap_or_else(|_| panic!("not an event id: {id}"))
        .seq
}

/// What happened around the kill.
pub(crate) struct KillRun {
    /// The node that held the stream and was killed.
    pub(crate) killed: String,
    pub(crate) acked_at_kill: usize,
    /// The base URLs of the nodes left alive.
    pub(crate) survivors: Vec<String>,
    /// What each target base URL is (`node-1`, `nginx`), for the report.
    pub(crate) names: BTreeMap<String, String>,
    /// How long pushing took.
    pub(crate) took: Duration,
}

impl KillRun {
    /// The counts, printed, then the assertions.
    pub(crate) fn check(&self, pushed: &Pushed, got: &Received) {
        let (killed, acked_at_kill, took) = (&self.killed, self.acked_at_kill, self.took);
        let acks: BTreeMap<String, u64> = (0..MESSAGES)
            .map(|n| (pushed.acks[n as usize].clone().expect("acknowledged"), n))
            .collect();
        let events: Vec<(String, u64)> = got
            .events
            .iter()
            .filter(|(_, n)| *n < MESSAGES)
            .cloned()
            .collect();
        let mut seen = HashSet::new();
        let duplicated = events
            .iter()
            .filter(|(id, _)| !seen.insert(id.clone()))
            .count();
        let received = acks.keys().filter(|id| seen.contains(*id)).count();
        let lost = acks.len() - received;
        let orphans: Vec<&(String, u64)> = events
            .iter()
            .filter(|(id, _)| !acks.contains_key(id))
            .collect();
        println!(
            "cluster push: sent {} (acknowledged), received {received}, duplicated {duplicated}, \
         lost {lost}; {} HTTP attempts, {} numbers retried after a failed attempt (failures by \
         target: {:?}), {} extra events logged by unacknowledged attempts (their numbers also \
         arrived acknowledged); {killed} killed at {acked_at_kill} acks; {} pushes in \
         {took:?}; reconnects: {:?}",
            acks.len(),
            pushed.attempts,
            pushed.retried.len(),
            pushed
                .failed_at
                .iter()
                .map(|(url, n)| (self.names.get(url).unwrap_or(url), n))
                .collect::<BTreeMap<_, _>>(),
            orphans.len(),
            MESSAGES,
            got.reconnects,
        );
        assert_eq!(
            acks.len() as u64,
            MESSAGES,
            "every push has its own event id"
        );
        assert_eq!((duplicated, lost), (0, 0), "no event twice, none missing");
        // An event no push acknowledged can only come from an attempt that failed.
        for (id, n) in &orphans {
            assert!(
                pushed.retried.contains(n),
                "event {id} carries {n}, which no failed attempt sent: {:?}",
                pushed.failures
            );
        }
        // In log order, i.e. in the order of the acknowledged event ids.
        let positions: Vec<u64> = events.iter().map(|(id, _)| seq(id)).collect();
        assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "events arrived out of log order"
        );
        let mut by_position: Vec<(u64, u64)> = acks.iter().map(|(id, n)| (seq(id), *n)).collect();
        by_position.sort_unstable();
        let expected: Vec<u64> = by_position.iter().map(|(_, n)| *n).collect();
        let delivered: Vec<u64> = events
            .iter()
            .filter(|(id, _)| acks.contains_key(id))
            .map(|(_, n)| *n)
            .collect();
        assert!(
            delivered == expected,
            "the pushes arrived in another order than their ids"
        );
        assert!(
            !got.reconnects.is_empty() && &got.node != killed,
            "the stream should have moved off the killed {killed}: {:?}",
            got.reconnects
        );
        // Only the killed node made pushes fail: straight, or through nginx (502).
        for url in &self.survivors {
            assert!(
                !pushed.failed_at.contains_key(url),
                "pushes to the live node {url} failed: {:?}",
                pushed.failures
            );
        }
    }
}
