//! What the three Redis types of one handle share: its command connections and the options.

use std::future::Future;

use redis::RedisError;
use switchyard_state::StateError;

use crate::conn::{Conn, Connections};
use crate::options::RedisOptions;

pub(crate) struct Core {
    pub(crate) conns: Connections,
    pub(crate) options: RedisOptions,
    /// Whether Redis is a cluster (sharded pub/sub; no cross-slot script keys).
    pub(crate) clustered: bool,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("clustered", &self.clustered)
            .finish_non_exhaustive()
    }
}

impl Core {
    /// The same options on another handle's connections (see [`Connections::sibling`]).
    pub(crate) fn sibling(&self) -> Core {
        Core {
            conns: self.conns.sibling(),
            options: self.options.clone(),
            clustered: self.clustered,
        }
    }

    /// Runs one operation (see [`Connections::run`]).
    pub(crate) async fn run<T, F, Fut>(&self, what: &'static str, op: F) -> Result<T, StateError>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        self.conns.run(what, op).await
    }

    /// `WAIT` for [`RedisOptions::wait_replicas`] replicas on `c`, after a write made on
    /// it (nothing when that is 0). Fewer acknowledgements within the timeout are an
    /// error: the write is on the primary only.
    pub(crate) async fn wait_replicas(&self, c: &mut Conn) -> Result<(), RedisError> {
        let want = self.options.wait_replicas;
        if want == 0 {
            return Ok(());
        }
        // Half the operation's bound, so that a shortfall is told as such, not as a
        // connection that did not answer (which would be replaced).
        let timeout = (self.options.timeout.as_millis() / 2).max(1) as u64;
        let got: i64 = redis::cmd("WAIT")
            .arg(want)
            .arg(timeout)
            .query_async(c)
            .await?;
        if (got as usize) < want {
            return Err(RedisError::from((
                redis::ErrorKind::Client,
                "too few replicas acknowledged the write",
                format!("{got} of the {want} required (redis.wait_replicas) within {timeout} ms"),
            )));
        }
        Ok(())
    }

    /// The idle TTL in milliseconds, as `PEXPIRE` takes it (at least 1).
    pub(crate) fn ttl_ms(&self) -> u64 {
        (self.options.idle_ttl.as_millis() as u64).max(1)
    }
}

impl Core {
    /// `CONFIG GET maxmemory-policy` (on a cluster, of the node that answers); `None` when
    /// the server refuses `CONFIG`. Also proves that Redis can be reached.
    pub(crate) async fn eviction_policy(&self) -> Result<Option<String>, StateError> {
        let reply: redis::Value = self
            .run("read maxmemory-policy", |mut c| async move {
                redis::cmd("CONFIG")
                    .arg("GET")
                    .arg("maxmemory-policy")
                    .query_async(&mut c)
                    .await
                    .or_else(|e| {
                        if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() {
                            Err(e)
                        } else {
                            // CONFIG is disabled or renamed: the policy is unknown.
                            Ok(redis::Value::Nil)
                        }
                    })
            })
            .await?;
        let text = |v: &redis::Value| match v {
            redis::Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
            redis::Value::SimpleString(s) => Some(s.clone()),
            _ => None,
        };
        Ok(match reply {
            redis::Value::Array(items) => items.get(1).and_then(text),
            redis::Value::Map(pairs) => pairs.first().and_then(|(_, v)| text(v)),
            _ => None,
        })
    }
}
