//! The epoch of the event log: a random string stored once in `sy:epoch` (`SET NX`), so a
//! flushed or replaced Redis gets a new one and ids from before answer `Gone`.
//!
//! Every node caches it and reads it again at most every `epoch_refresh`, and at once after
//! any failed operation (a Redis that went away may come back empty). On a single server the
//! append and replay scripts also check `sy:epoch` atomically, so no event is ever stored
//! under a stale epoch; a cluster cannot (the key lives in another slot than the session's
//! keys), and relies on the refresh.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rand::Rng;
use rand::distr::Alphanumeric;
use switchyard_protocol::event_id::is_valid_epoch;
use switchyard_state::StateError;
use tokio::time::Instant;

use crate::conn::Connections;
use crate::keys;

/// Length of a minted epoch: 12 alphanumerics, about 71 bits.
const EPOCH_LEN: usize = 12;

/// A fresh random epoch.
pub(crate) fn mint() -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(EPOCH_LEN)
        .map(char::from)
        .collect()
}

/// The cached epoch of one node.
pub(crate) struct Epoch {
    /// The epoch and when it was last confirmed by Redis; `None` once invalidated.
    cached: Mutex<Option<(Arc<str>, Instant)>>,
    refresh: Duration,
    /// Serializes reads from Redis, so a stale cache costs one round trip, not one per caller.
    reading: tokio::sync::Mutex<()>,
}

impl Epoch {
    pub(crate) fn new(refresh: Duration) -> Self {
        Self {
            cached: Mutex::new(None),
            refresh,
            reading: tokio::sync::Mutex::new(()),
        }
    }

    fn fresh(&self) -> Option<Arc<str>> {
        let cached = self.cached.lock().unwrap_or_else(PoisonError::into_inner);
        match &*cached {
            Some((e, at)) if at.elapsed() < self.refresh => Some(Arc::clone(e)),
            _ => None,
        }
    }

    /// The current epoch, from the cache if it is fresh, else from Redis (stored first if
    /// Redis has none).
    pub(crate) async fn get(&self, conns: &Connections) -> Result<Arc<str>, StateError> {
        if let Some(e) = self.fresh() {
            return Ok(e);
        }
        let _reading = self.reading.lock().await;
        if let Some(e) = self.fresh() {
            return Ok(e);
        }
        let candidate = mint();
        let arg = candidate.clone();
        // `SET … NX GET` stores the candidate if there is no epoch and returns the old value.
        let stored: Option<String> = conns
            .run("read the epoch", |mut c| async move {
                redis::cmd("SET")
                    .arg(keys::EPOCH)
                    .arg(arg)
                    .arg("NX")
                    .arg("GET")
                    .query_async(&mut c)
                    .await
            })
            .await?;
        let epoch = stored.unwrap_or(candidate);
        if !is_valid_epoch(&epoch) {
            return Err(StateError::Corrupt(format!(
                "{} holds {epoch:?}, not an epoch",
                keys::EPOCH
            )));
        }
        Ok(self.observe(&epoch))
    }

    /// Records the epoch Redis was seen to hold just now.
    pub(crate) fn observe(&self, epoch: &str) -> Arc<str> {
        let mut cached = self.cached.lock().unwrap_or_else(PoisonError::into_inner);
        let value = match &*cached {
            Some((e, _)) if &**e == epoch => Arc::clone(e),
            _ => Arc::from(epoch),
        };
        *cached = Some((Arc::clone(&value), Instant::now()));
        value
    }

    /// Forgets the cached epoch: the next use reads it from Redis.
    pub(crate) fn invalidate(&self) {
        *self.cached.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}
