//! Concurrent pushes through the admin API to random nodes (their own ports or the
//! balancer), retrying elsewhere whatever was not acknowledged.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::bail;
use reqwest::StatusCode;
use tokio::time::Instant;

use crate::admin::{Dice, acknowledged_id, numbered, push};
use crate::support::Session;

/// Attempts for one message before the test gives up on it.
const ATTEMPTS: usize = 200;

/// What the pushers did.
#[derive(Debug, Default)]
pub(crate) struct Pushed {
    /// The acknowledged event id of each number (index = number).
    pub(crate) acks: Vec<Option<String>>,
    /// Numbers at least one attempt of which failed (connection error or 502 from nginx)
    /// before one was acknowledged: the log may hold them twice.
    pub(crate) retried: BTreeSet<u64>,
    /// HTTP attempts in all.
    pub(crate) attempts: usize,
    /// Why attempts failed (first few).
    pub(crate) failures: Vec<String>,
    /// Failed attempts by target base URL.
    pub(crate) failed_at: BTreeMap<String, usize>,
}

/// Shared by the pushing tasks.
#[derive(Clone)]
pub(crate) struct Pushers {
    pub(crate) http: reqwest::Client,
    /// Base URLs: each node's own, and the balancer's.
    pub(crate) targets: Arc<Vec<String>>,
    pub(crate) session: Session,
    pub(crate) next: Arc<AtomicU64>,
    pub(crate) total: u64,
    pub(crate) acked: Arc<AtomicUsize>,
    pub(crate) log: Arc<Mutex<Pushed>>,
    pub(crate) deadline: Instant,
}

impl Pushers {
    /// One pushing task: takes the next number until all are taken.
    pub(crate) async fn run(self, seed: u64) -> anyhow::Result<()> {
        let mut dice = Dice::new(seed);
        loop {
            let n = self.next.fetch_add(1, Ordering::SeqCst);
            if n >= self.total {
                return Ok(());
            }
            let id = self.push_one(n, &mut dice).await?;
            self.log.lock().expect("lock").acks[n as usize] = Some(id);
            self.acked.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Pushes `n` until a node acknowledges it; its event id.
    pub(crate) async fn push_one(&self, n: u64, dice: &mut Dice) -> anyhow::Result<String> {
        let body = numbered(n);
        for _ in 0..ATTEMPTS {
            if Instant::now() >= self.deadline {
                break;
            }
            let target = &self.targets[dice.below(self.targets.len())];
            let outcome = push(&self.http, target, &self.session, &body).await;
            let failure = match outcome {
                Ok(r) if r.status() == StatusCode::ACCEPTED => {
                    self.log.lock().expect("lock").attempts += 1;
                    return Ok(acknowledged_id(r).await);
                }
                // nginx: the node died with the request in flight, or no node answered.
                Ok(r) if r.status() == StatusCode::BAD_GATEWAY => format!("{target}: 502"),
                Ok(r) => {
                    let status = r.status();
                    let text = r.text().await.unwrap_or_default();
                    bail!("push {n} to {target} answered {status}: {text}");
                }
                Err(e) => format!("{target}: {e:#}"),
            };
            let mut log = self.log.lock().expect("lock");
            log.attempts += 1;
            log.retried.insert(n);
            *log.failed_at.entry(target.clone()).or_default() += 1;
            if log.failures.len() < 20 {
                log.failures.push(format!("push {n}: {failure}"));
            }
        }
        bail!("push {n} was never acknowledged")
    }
}
