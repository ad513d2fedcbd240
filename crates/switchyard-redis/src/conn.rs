//! Command connections: a deadpool pool, and a few of its connections kept checked out as
//! multiplexed "lanes" that every caller on one thread shares.
//!
//! Lanes are per thread: a multiplexed connection runs a driver task on the runtime that
//! created it, and a caller on another thread (actix-web runs one single-threaded runtime
//! per worker) would pay two cross-thread wake-ups per command. Measured on the 2-core
//! machine with one worker, a lane on the main thread cost about a fifth of the node's
//! throughput on the Redis hot path, so each thread gets lanes created on it.
//!
//! Why not `pool.get()` per call: deadpool-redis checks a connection on every checkout
//! with a `PING`, one extra round trip on the hot path. A multiplexed connection serves any
//! number of concurrent callers anyway, so each lane holds one pooled connection for as long
//! as it works and hands out cheap clones of it. When a call on a lane fails in a way that
//! may have broken the connection (I/O error, timeout), every lane on every thread forgets the
//! connections made no later than that one (after a Redis restart they are all broken, and
//! each thread would otherwise pay a failed request to learn it). A lane gives a forgotten
//! connection back to the pool, whose recycle check then discards it, and its next call takes
//! a fresh one. Every call, including the wait for a connection, is bounded by the operation
//! timeout.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::ThreadId;
use std::time::Duration;

use deadpool_redis::{Runtime, Timeouts};
use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster_async::ClusterConnection;
use redis::{AsyncConnectionConfig, Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, Value};
use switchyard_state::StateError;

use crate::options::{ConnectError, RedisOptions, RedisTarget};

/// A handle on one multiplexed command connection (cheap to clone).
#[derive(Clone)]
pub(crate) enum Conn {
    Single(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

enum Pool {
    Single(deadpool_redis::Pool),
    Cluster(deadpool_redis::cluster::Pool),
}

/// A pooled connection, checked out for as long as a lane uses it.
enum Held {
    Single(deadpool_redis::Connection),
    Cluster(deadpool_redis::cluster::Connection),
}

impl Held {
    fn handle(&self) -> Conn {
        match self {
            Held::Single(c) => Conn::Single(MultiplexedConnection::clone(c)),
            Held::Cluster(c) => Conn::Cluster(ClusterConnection::clone(c)),
        }
    }
}

struct Lane {
    /// The handle callers clone, with the generation it belongs to.
    current: Mutex<Option<(u64, Conn)>>,
    /// The pooled connection behind `current`; locked only to replace it.
    held: tokio::sync::Mutex<Option<Held>>,
}

/// The command connections of one [`crate::RedisState`].
pub(crate) struct Connections {
    pool: Pool,
    /// Lanes per thread.
    per_thread: usize,
    /// Each thread's lanes, created on first use from that thread.
    lanes: Mutex<HashMap<ThreadId, Arc<[Lane]>>>,
    next: AtomicUsize,
    generation: AtomicU64,
    timeout: Duration,
}

impl Connections {
    /// Builds the pool (no connection is made yet).
    pub(crate) fn new(target: &RedisTarget, options: &RedisOptions) -> Result<Self, ConnectError> {
        let per_thread = options.connections.max(1);
        // The pool only bounds how many connections exist at once; every thread that talks to
        // Redis keeps `per_thread` of them (actix-web's workers plus the main thread).
        let lanes = per_thread * MAX_THREADS;
        let timeouts = Timeouts {
            wait: Some(options.timeout),
            create: Some(options.timeout),
            recycle: Some(options.timeout),
        };
        let invalid = |e: &dyn std::fmt::Display| ConnectError::InvalidUrl(e.to_string());
        let pool = match target {
            RedisTarget::Single(url) => {
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(options.timeout))
                    .set_response_timeout(Some(options.timeout));
                let manager = deadpool_redis::Manager::new_with_config(url.as_str(), config)
                    .map_err(|e| invalid(&e))?;
                Pool::Single(
                    deadpool_redis::Pool::builder(manager)
                        .max_size(lanes)
                        .timeouts(timeouts)
                        .runtime(Runtime::Tokio1)
                        .build()
                        .map_err(|e| invalid(&e))?,
                )
            }
            RedisTarget::Cluster(nodes) => {
                let manager = deadpool_redis::cluster::Manager::new(
                    nodes.iter().map(String::as_str).collect(),
                    false,
                )
                .map_err(|e| invalid(&e))?;
                Pool::Cluster(
                    deadpool_redis::cluster::Pool::builder(manager)
                        .max_size(lanes)
                        .timeouts(timeouts)
                        .runtime(Runtime::Tokio1)
                        .build()
                        .map_err(|e| invalid(&e))?,
                )
            }
        };
        Ok(Self {
            pool,
            per_thread,
            lanes: Mutex::new(HashMap::new()),
            next: AtomicUsize::new(0),
            generation: AtomicU64::new(0),
            timeout: options.timeout,
        })
    }

    /// Runs `op` on a lane's connection, bounded by the operation timeout. `what` names the
    /// operation in error messages.
    pub(crate) async fn run<T, F, Fut>(&self, what: &str, op: F) -> Result<T, StateError>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        let lanes = self.thread_lanes();
        let lane = &lanes[self.next.fetch_add(1, Ordering::Relaxed) % lanes.len()];
        let used = Mutex::new(None);
        let attempt = async {
            let (generation, conn) = self.checkout(lane).await?;
            *used.lock().unwrap_or_else(PoisonError::into_inner) = Some(generation);
            match op(conn).await {
                Ok(v) => Ok(v),
                Err(e) => {
                    if breaks_connection(&e) {
                        self.drop_stale(generation);
                    }
                    Err(unavailable_or_corrupt(what, &e))
                }
            }
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(result) => result,
            Err(_) => {
                // A connection that did not answer in time may be wedged: replace it.
                if let Some(generation) = *used.lock().unwrap_or_else(PoisonError::into_inner) {
                    self.drop_stale(generation);
                }
                Err(StateError::Unavailable(format!(
                    "{what}: no answer from Redis within {:?}",
                    self.timeout
                )))
            }
        }
    }

    /// Forgets, on every thread, the connections made no later than the one of `generation`
    /// that just failed: when one connection to Redis breaks (a restart, a failover), the
    /// others made before it almost surely have too, and each thread would otherwise learn
    /// it with a failed request of its own. Connections made since are kept.
    fn drop_stale(&self, generation: u64) {
        let lanes: Vec<Arc<[Lane]>> = self
            .lanes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        for lane in lanes.iter().flat_map(|l| l.iter()) {
            lane.drop_if_older(generation);
        }
    }

    /// The calling thread's lanes.
    fn thread_lanes(&self) -> Arc<[Lane]> {
        let mut map = self.lanes.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(std::thread::current().id())
            .or_insert_with(|| {
                (0..self.per_thread)
                    .map(|_| Lane {
                        current: Mutex::new(None),
                        held: tokio::sync::Mutex::new(None),
                    })
                    .collect()
            })
            .clone()
    }

    /// The lane's connection, taking one from the pool if it has none.
    async fn checkout(&self, lane: &Lane) -> Result<(u64, Conn), StateError> {
        if let Some(c) = lane.current() {
            return Ok(c);
        }
        let mut held = lane.held.lock().await;
        if let Some(c) = lane.current() {
            return Ok(c);
        }
        // Give the failed connection back first: the pool holds only one per lane.
        drop(held.take());
        let fresh = match &self.pool {
            Pool::Single(p) => p.get().await.map(Held::Single).map_err(pool_error),
            Pool::Cluster(p) => p.get().await.map(Held::Cluster).map_err(pool_error),
        }?;
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        let conn = fresh.handle();
        *held = Some(fresh);
        *lane.current.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((generation, conn.clone()));
        Ok((generation, conn))
    }
}

impl Lane {
    fn current(&self) -> Option<(u64, Conn)> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Forgets the current connection if it was made no later than `generation`.
    fn drop_if_older(&self, generation: u64) {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if current.as_ref().is_some_and(|(g, _)| *g <= generation) {
            *current = None;
        }
    }
}

/// How many threads may hold lanes at once (the pool's size is this times the lanes per
/// thread); a node has one per actix-web worker plus the main thread.
const MAX_THREADS: usize = 64;

fn pool_error(e: deadpool_redis::PoolError) -> StateError {
    StateError::Unavailable(format!("no Redis connection: {e}"))
}

/// Whether an error may have left the connection unusable.
fn breaks_connection(e: &RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_unrecoverable_error() || e.is_timeout()
}

/// Maps a Redis error: undecodable or wrongly typed data is `Corrupt`, everything else (the
/// server unreachable, loading, out of memory, a cluster failing over) is `Unavailable`.
pub(crate) fn unavailable_or_corrupt(what: &str, e: &RedisError) -> StateError {
    let corrupt = matches!(e.kind(), ErrorKind::Parse | ErrorKind::UnexpectedReturnType)
        || e.code() == Some("WRONGTYPE");
    if corrupt {
        StateError::Corrupt(format!("{what}: {e}"))
    } else {
        StateError::Unavailable(format!("{what}: {e}"))
    }
}
