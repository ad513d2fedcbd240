//! Command connections: a deadpool pool shared by every handle on one node's state, and a
//! few of its connections kept checked out by each handle as multiplexed "lanes" that every
//! caller of that handle shares.
//!
//! Lanes belong to a handle, not to a thread. [`crate::RedisState::connect`] returns one
//! handle; [`crate::RedisState::worker`] makes another, with lanes of its own, on the same
//! pool. A node makes one per actix-web worker inside the server's per-worker factory, so
//! each worker's calls run on connections made, and driven, by that worker's runtime: a
//! multiplexed connection runs a driver task on the runtime that created it, and a caller on
//! another thread would pay two cross-thread wake-ups per command (measured on the 2-core
//! machine with one worker, a lane on the main thread cost about a fifth of the node's
//! throughput on the Redis hot path). A lane connects on its first use, so the connection is
//! made by whoever uses the handle first: the worker that owns it.
//!
//! The pool only counts: it holds at most [`RedisOptions::max_connections`], and lanes never
//! give a connection back to it for someone else (a lane that forgets a connection, or is
//! dropped, closes it and frees its slot), so no handle ever picks up a connection driven by
//! another handle's runtime, and deadpool's `PING` on checkout never runs. Each handle holds
//! at most [`RedisOptions::connections`]; a node sizes the pool for all of its handles, so
//! a handle never waits for a slot.
//!
//! Why not `pool.get()` per call: deadpool-redis checks a connection on every checkout
//! with a `PING`, one extra round trip on the hot path. A multiplexed connection serves any
//! number of concurrent callers anyway, so each lane holds one pooled connection for as long
//! as it works and hands out cheap clones of it. When a call on a lane fails in a way that
//! may have broken the connection (I/O error, timeout), every lane of every handle forgets
//! the connections made no later than that one (after a Redis restart they are all broken,
//! and each worker would otherwise pay a failed request to learn it): connections are
//! numbered in the order lanes take them, and the shared `stale_below` mark rises past the
//! failed one's number; a lane whose connection is below the mark closes it at its next call
//! and takes a fresh one. Every call, including the wait for a connection, is bounded by the
//! operation timeout.

use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
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

    /// Takes the connection out of the pool (freeing its slot) and drops it: it is never
    /// handed to another lane, whose runtime would not be the one driving it. The socket
    /// closes once the callers still holding a clone are done.
    fn close(self) {
        match self {
            Held::Single(c) => drop(deadpool_redis::Connection::take(c)),
            Held::Cluster(c) => drop(deadpool_redis::cluster::Connection::take(c)),
        }
    }
}

struct Lane {
    /// The handle callers clone, with the number of its connection.
    current: Mutex<Option<(u64, Conn)>>,
    /// The pooled connection behind `current`; locked only to replace it.
    held: tokio::sync::Mutex<Option<Held>>,
}

impl Drop for Lane {
    fn drop(&mut self) {
        if let Some(held) = self.held.get_mut().take() {
            held.close();
        }
    }
}

/// What every handle on one node's state shares.
struct Shared {
    pool: Pool,
    /// The number the next connection a lane takes gets.
    next_number: AtomicU64,
    /// Connections numbered below this are forgotten: each lane replaces its own at its next
    /// call.
    stale_below: AtomicU64,
    /// Lanes of all live handles (for the warning when they outnumber the pool's slots).
    lanes: AtomicUsize,
    max: usize,
    timeout: Duration,
    observer: crate::options::Observer,
    trace_spans: bool,
}

/// The command connections of one handle on a [`crate::RedisState`]: its own lanes, on the
/// pool every handle shares.
pub(crate) struct Connections {
    shared: Arc<Shared>,
    lanes: Box<[Lane]>,
    next: AtomicUsize,
}

impl Connections {
    /// Builds the pool and this first handle's lanes (no connection is made yet).
    pub(crate) fn new(target: &RedisTarget, options: &RedisOptions) -> Result<Self, ConnectError> {
        let max = options.max_connections.max(1);
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
                        .max_size(max)
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
                        .max_size(max)
                        .timeouts(timeouts)
                        .runtime(Runtime::Tokio1)
                        .build()
                        .map_err(|e| invalid(&e))?,
                )
            }
        };
        let shared = Arc::new(Shared {
            pool,
            next_number: AtomicU64::new(0),
            stale_below: AtomicU64::new(0),
            lanes: AtomicUsize::new(0),
            max,
            timeout: options.timeout,
            observer: options.observer.clone(),
            trace_spans: options.trace_spans,
        });
        Ok(Self::with_lanes(shared, options.connections.max(1)))
    }

    /// Another handle on the same pool, with as many lanes of its own (connected on their
    /// first use, by the runtime that uses them).
    pub(crate) fn sibling(&self) -> Self {
        Self::with_lanes(Arc::clone(&self.shared), self.lanes.len())
    }

    fn with_lanes(shared: Arc<Shared>, n: usize) -> Self {
        let total = shared.lanes.fetch_add(n, Ordering::Relaxed) + n;
        if total > shared.max {
            tracing::warn!(
                lanes = total,
                max_connections = shared.max,
                "more Redis lanes than connections in the pool: some calls will wait for one"
            );
        }
        let lanes = (0..n)
            .map(|_| Lane {
                current: Mutex::new(None),
                held: tokio::sync::Mutex::new(None),
            })
            .collect();
        Self {
            shared,
            lanes,
            next: AtomicUsize::new(0),
        }
    }

    /// Runs `op` on a lane's connection, bounded by the operation timeout. `what` names the
    /// operation in error messages.
    pub(crate) async fn run<T, F, Fut>(&self, what: &'static str, op: F) -> Result<T, StateError>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        if self.shared.trace_spans {
            use tracing::Instrument as _;
            let span = tracing::info_span!(
                "redis",
                otel.name = what,
                otel.kind = "client",
                db.system.name = "redis",
                db.operation.name = what,
            );
            return self.run_observed(what, op).instrument(span).await;
        }
        self.run_observed(what, op).await
    }

    async fn run_observed<T, F, Fut>(&self, what: &'static str, op: F) -> Result<T, StateError>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        if !self.shared.observer.is_set() {
            return self.run_unobserved(what, op).await;
        }
        let started = std::time::Instant::now();
        let result = self.run_unobserved(what, op).await;
        self.shared
            .observer
            .observe(what, started.elapsed(), result.as_ref().err());
        result
    }

    async fn run_unobserved<T, F, Fut>(&self, what: &'static str, op: F) -> Result<T, StateError>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        let lane = &self.lanes[self.next.fetch_add(1, Ordering::Relaxed) % self.lanes.len()];
        let timeout = self.shared.timeout;
        let used = Mutex::new(None);
        let attempt = async {
            let (number, conn) = self.checkout(lane).await?;
            *used.lock().unwrap_or_else(PoisonError::into_inner) = Some(number);
            match op(conn).await {
                Ok(v) => Ok(v),
                Err(e) => {
                    if breaks_connection(&e) {
                        self.drop_stale(number);
                    }
                    Err(unavailable_or_corrupt(what, &e))
                }
            }
        };
        match tokio::time::timeout(timeout, attempt).await {
            Ok(result) => result,
            Err(_) => {
                // A connection that did not answer in time may be wedged: replace it.
                if let Some(number) = *used.lock().unwrap_or_else(PoisonError::into_inner) {
                    self.drop_stale(number);
                }
                Err(StateError::unavailable(format!(
                    "{what}: no answer from Redis within {timeout:?}"
                )))
            }
        }
    }

    /// Forgets, in every handle, the connections made no later than the one numbered
    /// `number` that just failed: when one connection to Redis breaks (a restart, a
    /// failover), the others made before it almost surely have too. Connections made since
    /// are kept.
    fn drop_stale(&self, number: u64) {
        self.shared
            .stale_below
            .fetch_max(number + 1, Ordering::Relaxed);
    }

    /// The lane's connection unless it was forgotten.
    fn usable(&self, lane: &Lane) -> Option<(u64, Conn)> {
        let stale_below = self.shared.stale_below.load(Ordering::Relaxed);
        lane.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .filter(|(number, _)| *number >= stale_below)
    }

    /// The lane's connection, taking one from the pool if it has none or a forgotten one.
    async fn checkout(&self, lane: &Lane) -> Result<(u64, Conn), StateError> {
        if let Some(c) = self.usable(lane) {
            return Ok(c);
        }
        let mut held = lane.held.lock().await;
        if let Some(c) = self.usable(lane) {
            return Ok(c);
        }
        // Close the forgotten connection first: the pool holds only one per lane.
        *lane.current.lock().unwrap_or_else(PoisonError::into_inner) = None;
        if let Some(old) = held.take() {
            old.close();
        }
        let fresh = match &self.shared.pool {
            Pool::Single(p) => p.get().await.map(Held::Single).map_err(pool_error),
            Pool::Cluster(p) => p.get().await.map(Held::Cluster).map_err(pool_error),
        }?;
        let number = self.shared.next_number.fetch_add(1, Ordering::Relaxed);
        let conn = fresh.handle();
        *held = Some(fresh);
        *lane.current.lock().unwrap_or_else(PoisonError::into_inner) = Some((number, conn.clone()));
        Ok((number, conn))
    }
}

impl Drop for Connections {
    fn drop(&mut self) {
        self.shared
            .lanes
            .fetch_sub(self.lanes.len(), Ordering::Relaxed);
    }
}

fn pool_error(e: deadpool_redis::PoolError) -> StateError {
    StateError::unavailable_from(format!("no Redis connection: {e}"), e)
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
        StateError::corrupt_from(format!("{what}: {e}"), e.clone())
    } else {
        StateError::unavailable_from(format!("{what}: {e}"), e.clone())
    }
}
