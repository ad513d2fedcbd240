//! What the three Redis types share: the command connections, the epoch, the options.

use std::future::Future;

use redis::RedisError;
use switchyard_state::StateError;

use crate::conn::{Conn, Connections};
use crate::epoch::Epoch;
use crate::options::RedisOptions;

pub(crate) struct Core {
    pub(crate) conns: Connections,
    pub(crate) epoch: Epoch,
    pub(crate) options: RedisOptions,
    /// Whether Redis is a cluster (sharded pub/sub; no cross-slot script keys).
    pub(crate) clustered: bool,
}

impl Core {
    /// Runs one operation (see [`Connections::run`]); a Redis that could not be reached may
    /// come back empty, so its epoch is read again before it is used next.
    pub(crate) async fn run<T, F, Fut>(&self, what: &str, op: F) -> Result<T, StateError>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        let result = self.conns.run(what, op).await;
        if matches!(result, Err(StateError::Unavailable(_))) {
            self.epoch.invalidate();
        }
        result
    }

    /// The idle TTL in milliseconds, as `PEXPIRE` takes it (at least 1).
    pub(crate) fn ttl_ms(&self) -> u64 {
        (self.options.idle_ttl.as_millis() as u64).max(1)
    }
}
